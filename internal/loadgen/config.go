package loadgen

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/optgate/optgate/smpp"
)

// Defaults used where Config leaves a field zero.
const (
	DefaultBinds           = 1
	DefaultWindow          = 10
	DefaultDuration        = 10 * time.Second
	DefaultResponseTimeout = 10 * time.Second
	DefaultReceiptWait     = 5 * time.Second
	// DefaultSenders is the demo account's toll-free number.
	DefaultSenders = "+18005550100"
	// DefaultRecipients is 10,000 test numbers in area code 201.
	DefaultRecipients = "+12015550000-+12015559999"
)

// Limits on the load shape, which keep a typing error from opening
// thousands of connections.
const (
	MaxBinds  = 1000
	MaxWindow = 10000
)

// Config describes one load run. Set Addr for SMPP or HTTPURL for HTTP.
// Zero fields take the default in their comment.
type Config struct {
	// Addr is the SMSC or optgate SMPP address, host:port. The run binds
	// as transceiver with SystemID and Password.
	Addr     string
	SystemID string
	Password string

	// HTTPURL is the base URL of optgate's HTTP API, such as
	// http://127.0.0.1:8080. When set, the run posts to /v1/messages with
	// the bearer Token instead of speaking SMPP.
	HTTPURL string
	Token   string

	// Binds is the number of SMPP binds. Default: 1.
	Binds int
	// Window is the number of messages each bind has waiting for a
	// response at once. In HTTP mode Binds*Window requests are in flight
	// at once. Default: 10.
	Window int
	// Rate is the target in messages a second over all binds, paced with
	// a token bucket. Zero sends as fast as the window allows.
	Rate float64
	// Duration is how long new messages are started. Default: 10s, or no
	// limit when Messages is set.
	Duration time.Duration
	// Messages, when positive, stops the run after that many messages.
	// When Duration is set too, the first limit reached ends the run.
	Messages int64
	// Warmup, when positive, sends the same load for this long before the
	// measured run and leaves it out of the report, so that caches,
	// connections and the API's token check are warm. Default: 0.
	Warmup time.Duration

	// Mix is the share of each kind of message. Default: DefaultMix.
	Mix Mix
	// From are the senders, used in turn. Default: DefaultSenders.
	From NumberRange
	// To are the recipients, drawn at random. Default: DefaultRecipients.
	To NumberRange
	// OptedInPercent is the share of recipients that count as opted in
	// (see OptedIn). Recipients are drawn uniformly, so about this share
	// of the messages goes to opted-in recipients. Default: 100, unless
	// NoneOptedIn is set.
	OptedInPercent int
	// NoneOptedIn makes an OptedInPercent of 0 mean that no recipient is
	// opted in, rather than the default of 100.
	NoneOptedIn bool

	// Receipts requests a delivery receipt for every message
	// (registered_delivery 1, SMPP 3.4 section 5.2.17) and, over SMPP,
	// counts the receipts that arrive on the binds.
	Receipts bool
	// ReceiptWait is how long an SMPP run waits after the last response
	// for receipts still missing. Default: 5s.
	ReceiptWait time.Duration
	// ResponseTimeout bounds the wait for each response, and the wait for
	// the messages still in flight when the run ends. Default: 10s.
	ResponseTimeout time.Duration
	// Seed makes the choice of recipients and kinds repeatable.
	// Default: 1.
	Seed uint64
	// StatusName names a command_status in the report, such as a
	// vendor-specific one. Default: its SMPP 3.4 mnemonic.
	StatusName func(smpp.CommandStatus) string
	// ObservePID, when positive, is a process on this machine, such as
	// the optgate daemon, whose CPU time and RSS during the measured run
	// the report includes. It needs Linux's /proc. Default: 0, none.
	ObservePID int
	// AlsoObservePIDs are more processes the report includes in the same
	// way, such as the simulator and redis-server behind optgate, so that
	// the CPU time of every process a message passes through can be
	// added up. Default: none.
	AlsoObservePIDs []int
}

// httpMode reports whether the run uses the HTTP API.
func (c *Config) httpMode() bool { return c.HTTPURL != "" }

// withDefaults checks c and returns it with the defaults filled in.
func (c Config) withDefaults() (Config, error) {
	if c.Binds == 0 {
		c.Binds = DefaultBinds
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Duration == 0 && c.Messages <= 0 {
		c.Duration = DefaultDuration
	}
	if c.Mix == (Mix{}) {
		c.Mix = DefaultMix
	}
	if c.From.IsZero() {
		c.From = MustParseNumberRange(DefaultSenders)
	}
	if c.To.IsZero() {
		c.To = MustParseNumberRange(DefaultRecipients)
	}
	if c.OptedInPercent == 0 && !c.NoneOptedIn {
		c.OptedInPercent = 100
	}
	if c.ReceiptWait == 0 {
		c.ReceiptWait = DefaultReceiptWait
	}
	if c.ResponseTimeout == 0 {
		c.ResponseTimeout = DefaultResponseTimeout
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
	if c.StatusName == nil {
		c.StatusName = smpp.CommandStatus.String
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	var errs []error
	switch {
	case c.Addr == "" && c.HTTPURL == "":
		errs = append(errs, errors.New("no target: set the SMPP address or the HTTP API URL"))
	case c.Addr != "" && c.HTTPURL != "":
		errs = append(errs, errors.New("both an SMPP address and an HTTP API URL are set; pick one"))
	case c.httpMode():
		u, err := url.Parse(c.HTTPURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("HTTP API URL %q is not an http or https URL", c.HTTPURL))
		}
		if c.Token == "" {
			errs = append(errs, errors.New("HTTP mode needs an API token"))
		}
	default:
		if _, _, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("SMPP address %q is not host:port", c.Addr))
		}
		if c.SystemID == "" {
			errs = append(errs, errors.New("SMPP mode needs a system_id"))
		}
	}

	if c.Binds < 1 || c.Binds > MaxBinds {
		errs = append(errs, fmt.Errorf("binds %d is not between 1 and %d", c.Binds, MaxBinds))
	}
	if c.Window < 1 || c.Window > MaxWindow {
		errs = append(errs, fmt.Errorf("window %d is not between 1 and %d", c.Window, MaxWindow))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("rate %g is negative", c.Rate))
	}
	if c.Duration < 0 || c.Warmup < 0 {
		errs = append(errs, fmt.Errorf("duration %s and warm-up %s must not be negative", c.Duration, c.Warmup))
	}

	if err := c.Mix.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("mix: %w", err))
	}
	if c.OptedInPercent < 0 || c.OptedInPercent > 100 {
		errs = append(errs, fmt.Errorf("opted-in share %d%% is not between 0 and 100", c.OptedInPercent))
	}
	for _, pid := range append([]int{c.ObservePID}, c.AlsoObservePIDs...) {
		if pid < 0 {
			errs = append(errs, fmt.Errorf("process id %d is negative", pid))
		}
	}
	if c.ResponseTimeout < 0 || c.ReceiptWait < 0 {
		errs = append(errs, errors.New("response timeout and receipt wait must not be negative"))
	}
	return errors.Join(errs...)
}
