package smpp

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Client defaults, used where ClientConfig leaves a field zero.
const (
	DefaultWindowSize          = 10
	DefaultInboundWindow       = 10
	DefaultResponseTimeout     = 10 * time.Second
	DefaultEnquireLinkInterval = 30 * time.Second
	DefaultWriteTimeout        = 10 * time.Second
	DefaultDialTimeout         = 10 * time.Second
	DefaultReconnectDelay      = time.Second
	DefaultMaxReconnectDelay   = time.Minute
	DefaultThrottlePause       = time.Second
	DefaultMaxThrottlePause    = 30 * time.Second
)

// ClientHandler handles a deliver_sm, data_sm or alert_notification from
// the SMSC and returns the command_status to answer with. It runs on its
// own goroutine, at most ClientConfig.InboundWindow at a time, so it may
// answer only after it has stored the message durably. ctx ends when the
// session closes. The status of an alert_notification is ignored, because
// it has no response.
type ClientHandler func(ctx context.Context, req PDU) CommandStatus

// ClientConfig configures a Client, which is one ESME bind. Zero fields
// take the default given in their comment.
type ClientConfig struct {
	// Addr is the SMSC's host:port. Required.
	Addr string
	// TLS, when set, makes the client speak TLS with this configuration.
	TLS *tls.Config
	// BindType is the bind to request. Default: BindTypeTransceiver.
	BindType BindType

	// SystemID, Password and SystemType are sent in the bind (SMPP 3.4
	// section 4.1.1). SystemID is required and holds at most 15
	// characters, Password at most 8 and SystemType at most 12.
	SystemID   string
	Password   string
	SystemType string
	// AddrTON, AddrNPI and AddressRange describe the addresses this ESME
	// serves, at most 40 characters. Default: empty, which SMSCs read as
	// "any".
	AddrTON      TON
	AddrNPI      NPI
	AddressRange string

	// WindowSize is the number of requests that may wait for a response at
	// once. A request waits for a free slot. Default: 10.
	WindowSize int
	// InboundWindow is the number of incoming requests Handler runs at
	// once. The SMSC gets ESME_RTHROTTLED for requests beyond it.
	// Default: 10.
	InboundWindow int
	// ResponseTimeout is how long a request, the bind included, waits for
	// its response. Default: 10s.
	ResponseTimeout time.Duration
	// EnquireLinkInterval is the time between enquire_link requests. A
	// negative value disables them. Default: 30s.
	EnquireLinkInterval time.Duration
	// EnquireLinkTimeout is how long an enquire_link waits for its
	// response before the link is declared dead and closed. Default:
	// ResponseTimeout.
	EnquireLinkTimeout time.Duration
	// WriteTimeout bounds each write to the connection. Default: 10s.
	WriteTimeout time.Duration
	// DialTimeout bounds the TCP connect and the TLS handshake. Default:
	// 10s.
	DialTimeout time.Duration
	// MaxCommandLength is the largest PDU accepted from the SMSC, in
	// octets. Default: DefaultMaxCommandLength (64 KiB).
	MaxCommandLength int

	// Rate is the most requests a second this bind sends, enforced with a
	// token bucket of RateBurst tokens. Default: 0, no limit.
	Rate      float64
	RateBurst int
	// ThrottlePause is the first pause after the SMSC answers
	// ESME_RTHROTTLED or ESME_RMSGQFUL. Each such answer in a row doubles
	// the pause up to MaxThrottlePause, and a successful response resets
	// it. Throttling responses that arrive during a pause belong to
	// requests sent before it and do not double it. Defaults: 1s and 30s.
	ThrottlePause    time.Duration
	MaxThrottlePause time.Duration
	// ReconnectDelay is the first delay before a reconnect after a failed
	// dial or bind. Each failure in a row doubles it up to
	// MaxReconnectDelay, and the actual delay is drawn at random between
	// half the value and the value. Defaults: 1s and 1 minute.
	ReconnectDelay    time.Duration
	MaxReconnectDelay time.Duration

	// Handler receives deliver_sm, data_sm and alert_notification. When
	// nil, they are answered with ESME_RX_T_APPN, a temporary error that
	// makes the SMSC retry later, so no message is acknowledged unseen.
	Handler ClientHandler
	// Logger receives the client's logs. Per-PDU logs are at Debug level.
	// Default: zap.NewNop().
	Logger *zap.Logger
	// Hooks are callbacks for metrics.
	Hooks Hooks
}

// validate checks the fields that the bind PDU limits, so that an
// over-long value is reported at start-up instead of being sent.
func (c *ClientConfig) validate() error {
	if c.Addr == "" {
		return fmt.Errorf("%w: addr is empty, set it to the SMSC's host:port", ErrInvalidConfig)
	}
	if c.SystemID == "" {
		return fmt.Errorf("%w: system_id is empty", ErrInvalidConfig)
	}
	if c.BindType > BindTypeReceiver {
		return fmt.Errorf("%w: bind type %v is not transceiver, transmitter or receiver",
			ErrInvalidConfig, c.BindType)
	}
	fields := []struct {
		name, value string
		max         int
	}{
		{"system_id", c.SystemID, maxSystemID - 1},
		{"password", c.Password, maxPassword - 1},
		{"system_type", c.SystemType, maxSystemType - 1},
		{"address_range", c.AddressRange, maxAddressRange - 1},
	}
	for _, f := range fields {
		if len(f.value) > f.max {
			return fmt.Errorf("%w: %s is %d characters, the maximum is %d (SMPP 3.4 section 4.1.1)",
				ErrInvalidConfig, f.name, len(f.value), f.max)
		}
		if strings.IndexByte(f.value, 0) >= 0 {
			return fmt.Errorf("%w: %s contains a NUL character", ErrInvalidConfig, f.name)
		}
	}
	if c.WindowSize < 0 || c.InboundWindow < 0 || c.RateBurst < 0 || c.Rate < 0 {
		return fmt.Errorf("%w: window_size, inbound_window, rate and rate_burst must not be negative",
			ErrInvalidConfig)
	}
	return c.validateDurations()
}

// validateDurations rejects negative durations, which would make every
// request time out at once or every reconnect start without delay.
// EnquireLinkInterval is not checked, because a negative value disables
// enquire_link.
func (c *ClientConfig) validateDurations() error {
	durations := []struct {
		name  string
		value time.Duration
	}{
		{"response_timeout", c.ResponseTimeout},
		{"enquire_link_timeout", c.EnquireLinkTimeout},
		{"write_timeout", c.WriteTimeout},
		{"dial_timeout", c.DialTimeout},
		{"throttle_pause", c.ThrottlePause},
		{"max_throttle_pause", c.MaxThrottlePause},
		{"reconnect_delay", c.ReconnectDelay},
		{"max_reconnect_delay", c.MaxReconnectDelay},
	}
	for _, d := range durations {
		if d.value < 0 {
			return fmt.Errorf("%w: %s is %v, want 0 for the default or a positive duration",
				ErrInvalidConfig, d.name, d.value)
		}
	}
	return nil
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c ClientConfig) withDefaults() ClientConfig {
	setDefault(&c.WindowSize, DefaultWindowSize)
	setDefault(&c.InboundWindow, DefaultInboundWindow)
	setDefault(&c.ResponseTimeout, DefaultResponseTimeout)
	setDefault(&c.EnquireLinkInterval, DefaultEnquireLinkInterval)
	setDefault(&c.EnquireLinkTimeout, c.ResponseTimeout)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.DialTimeout, DefaultDialTimeout)
	setDefault(&c.ThrottlePause, DefaultThrottlePause)
	setDefault(&c.MaxThrottlePause, DefaultMaxThrottlePause)
	setDefault(&c.ReconnectDelay, DefaultReconnectDelay)
	setDefault(&c.MaxReconnectDelay, DefaultMaxReconnectDelay)
	c.MaxThrottlePause = max(c.MaxThrottlePause, c.ThrottlePause)
	c.MaxReconnectDelay = max(c.MaxReconnectDelay, c.ReconnectDelay)
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	return c
}

func (c *ClientConfig) sessionConfig() sessionConfig {
	interval := c.EnquireLinkInterval
	if interval < 0 {
		interval = 0
	}
	return sessionConfig{
		window:           c.WindowSize,
		inboundWindow:    c.InboundWindow,
		responseTimeout:  c.ResponseTimeout,
		enquireInterval:  interval,
		enquireTimeout:   c.EnquireLinkTimeout,
		writeTimeout:     c.WriteTimeout,
		maxCommandLength: c.MaxCommandLength,
		hooks:            c.Hooks,
		probeOnTimeout:   true,
	}
}

// bindRequest builds the bind PDU for the configured bind type.
func (c *ClientConfig) bindRequest() PDU {
	b := BindTransmitter{
		SystemID:         c.SystemID,
		Password:         c.Password,
		SystemType:       c.SystemType,
		InterfaceVersion: InterfaceVersion34,
		AddrTON:          c.AddrTON,
		AddrNPI:          c.AddrNPI,
		AddressRange:     c.AddressRange,
	}
	switch c.BindType {
	case BindTypeTransmitter:
		return &b
	case BindTypeReceiver:
		r := BindReceiver(b)
		return &r
	}
	t := BindTransceiver(b)
	return &t
}

// setDefault sets *v to def when *v is zero.
func setDefault[T int | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
