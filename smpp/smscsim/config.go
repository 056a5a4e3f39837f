package smscsim

import (
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// Defaults used where Config leaves a field zero.
const (
	// DefaultAddr is the SMPP address of the simulator, next to the SMPP
	// port 2775 that optgate itself listens on.
	DefaultAddr = "127.0.0.1:2776"
	// DefaultControlAddr is the control endpoint address that the
	// smsc-sim command uses. The library starts no control listener unless
	// Config.ControlAddr is set.
	DefaultControlAddr = "127.0.0.1:2777"
	// DefaultServerSystemID is the system_id in bind responses.
	DefaultServerSystemID = "smscsim"
	// DefaultMaxRecords is the number of messages and of PDUs kept.
	DefaultMaxRecords = 10000
	// DefaultInboundWindow is the number of requests per session handled
	// at once. It is the largest window optgate's carrier settings allow.
	DefaultInboundWindow = 1000
	// DefaultFirstMessageID is the first message id: 12107289, which is
	// B8BE19 in hex and 00B8BE19 padded, so every format looks different.
	DefaultFirstMessageID = 0xB8BE19
)

// Config configures a Simulator. Zero fields take the default given in
// their comment.
type Config struct {
	// Addr is the TCP address Start listens on for SMPP. Default:
	// 127.0.0.1:2776.
	Addr string
	// ControlAddr, when set, is the TCP address Start listens on for the
	// HTTP control endpoint. Default: empty, no control endpoint.
	ControlAddr string

	// SystemID is the system_id a bind must carry, at most 15 characters.
	// Default: empty, any system_id. A bind with another one is rejected
	// with ESME_RINVSYSID.
	SystemID string
	// Password is the password a bind must carry, at most 8 characters.
	// Default: empty, any password. A bind with another one is rejected
	// with ESME_RINVPASWD.
	Password string
	// ServerSystemID is the simulator's own system_id in bind responses.
	// Default: smscsim.
	ServerSystemID string

	// Behaviour is the starting behaviour; see Simulator.SetBehaviour.
	Behaviour Behaviour
	// Rules are the starting rules; see Simulator.AddRule.
	Rules []Rule
	// FirstMessageID is the number of the first message accepted; later
	// ones count up from it. Default: DefaultFirstMessageID.
	FirstMessageID uint64

	// Text holds the meaning of data_coding 0x00 for reading and writing
	// text. Default: the GSM 03.38 alphabet, one septet per octet.
	Text smpp.TextOptions
	// InboundWindow is the number of requests per session the simulator
	// handles at once; more get ESME_RTHROTTLED. Default: 1000.
	InboundWindow int
	// ResponseTimeout is how long a deliver_sm waits for the ESME's
	// response. Default: 10s.
	ResponseTimeout time.Duration
	// ReceiptRetries is the number of further attempts for a receipt that
	// found no bound receiver or got an error status. Default: 0.
	ReceiptRetries int
	// ReceiptRetryDelay is the time between receipt attempts. Default: 1s.
	ReceiptRetryDelay time.Duration
	// MaxRecords is the number of messages, and separately of received
	// PDUs, kept for Messages and Received; older ones are dropped.
	// Default: 10000.
	MaxRecords int

	// Logger receives the simulator's logs, with phone numbers unmasked.
	// Each message, receipt and injected MO is logged at Info level,
	// because showing the traffic is the simulator's purpose. Per-PDU
	// logs are at Debug level. Default: zap.NewNop().
	Logger *zap.Logger
	// OnMessage, when set, is called with each message recorded, on the
	// goroutine that handles the submit. It must return quickly.
	OnMessage func(Message)
}

// Validate checks c as Start does, so that a command can tell a
// configuration error from a failure to listen.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults checks c and returns it with defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.ServerSystemID == "" {
		c.ServerSystemID = DefaultServerSystemID
	}

	// Bind credentials must fit their PDU fields.
	if len(c.SystemID) > 15 {
		return c, fmt.Errorf("system_id %q is longer than 15 characters (SMPP 3.4 section 4.1.1)", c.SystemID)
	}
	if len(c.Password) > 8 {
		return c, fmt.Errorf("password is longer than 8 characters (SMPP 3.4 section 4.1.1)")
	}
	if len(c.ServerSystemID) > 15 {
		return c, fmt.Errorf("server system_id %q is longer than 15 characters", c.ServerSystemID)
	}

	if c.InboundWindow <= 0 {
		c.InboundWindow = DefaultInboundWindow
	}
	if c.ResponseTimeout <= 0 {
		c.ResponseTimeout = smpp.DefaultResponseTimeout
	}
	if c.ReceiptRetries < 0 {
		return c, fmt.Errorf("receipt retries %d is negative", c.ReceiptRetries)
	}
	if c.ReceiptRetryDelay <= 0 {
		c.ReceiptRetryDelay = time.Second
	}
	if c.FirstMessageID == 0 {
		c.FirstMessageID = DefaultFirstMessageID
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}

	if err := c.Behaviour.validate(); err != nil {
		return c, fmt.Errorf("behaviour: %w", err)
	}
	for i := range c.Rules {
		if err := c.Rules[i].validate(); err != nil {
			return c, fmt.Errorf("rule %d: %w", i+1, err)
		}
	}
	return c, nil
}
