package consent

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Options configures an Engine. The zero value uses the defaults.
type Options struct {
	// Keywords configures how MO texts are classified. Default nil:
	// DefaultKeywords().
	Keywords *KeywordConfig
	// Now returns the current time, so tests can set the clock. Default
	// time.Now.
	Now func() time.Time
	// DefaultRegion is the ISO 3166-1 region used to read numbers written
	// in national format. Default "US".
	DefaultRegion string
	// Shadow puts every account in shadow mode (see Account.Shadow).
	// Default false.
	Shadow bool
	// Logger receives per-message debug logs, shadow-mode decisions and
	// the store failures behind blocked MTs, at most one a second. Default
	// zap.NewNop().
	Logger *zap.Logger
}

// Engine applies the consent rules to MT texts, MO replies and opt-in
// requests. It is safe for concurrent use.
type Engine struct {
	store      Store
	accounts   Accounts
	classifier *Classifier
	now        func() time.Time
	region     string
	shadow     bool
	log        *zap.Logger
	// watchReads makes CheckMT and CheckMTBatch stop waiting for a store
	// read when the context is done; see awaitRead.
	watchReads bool
	stats      engineStats
	// lastStoreWarn rate-limits store failure logs (Unix nanoseconds).
	lastStoreWarn atomic.Int64
}

// NewEngine returns an engine over the store and the accounts. It fails
// when the keyword configuration is invalid.
func NewEngine(store Store, accounts Accounts, opts Options) (*Engine, error) {
	if store == nil || accounts == nil {
		return nil, errors.New("consent engine: missing store or accounts")
	}
	kw := DefaultKeywords()
	if opts.Keywords != nil {
		kw = *opts.Keywords
	}
	classifier, err := NewClassifier(kw)
	if err != nil {
		return nil, fmt.Errorf("consent engine: keywords: %w", err)
	}
	e := &Engine{
		store:      store,
		accounts:   accounts,
		classifier: classifier,
		now:        opts.Now,
		region:     opts.DefaultRegion,
		shadow:     opts.Shadow,
		log:        opts.Logger,
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.region == "" {
		e.region = "US"
	}
	if e.log == nil {
		e.log = zap.NewNop()
	}
	_, inMemory := store.(memoryReader)
	e.watchReads = !inMemory
	return e, nil
}

// Errors returned by the engine. Callers branch on them with errors.Is.
var (
	ErrUnknownAccount    = errors.New("consent: unknown account")
	ErrUnknownTollFree   = errors.New("consent: toll-free number belongs to no account")
	ErrInvalidNumber     = errors.New("consent: invalid number")
	ErrSenderNotTollFree = errors.New("consent: sender is not a US/CA toll-free number")
	ErrSenderNotOwned    = errors.New("consent: sender does not belong to the account")
	ErrSenderNotReady    = errors.New("consent: sender has no custom greeting or no voicemail")
	ErrRequestLimit      = errors.New("consent: opt-in request limit reached")
	ErrOptedOut          = errors.New("consent: number opted out")
	ErrAlreadyOptedIn    = errors.New("consent: number already opted in")
	ErrQuietHours        = errors.New("consent: quiet hours at the recipient")
	ErrStoreUnavailable  = errors.New("consent: store unavailable")
)

// normalizeNumber returns raw in E.164 form, reading national formats in
// the engine's default region.
func (e *Engine) normalizeNumber(raw string) (string, error) {
	n, err := NormalizeNumber(raw, 0, 0, e.region)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidNumber, err)
	}
	return n, nil
}

// checkSender returns the reason an account may not send from number, or
// ReasonNone.
func checkSender(acct *Account, number string) Reason {
	if !IsTollFree(number) {
		return ReasonSenderNotTollFree
	}
	tf, ok := acct.Sender(number)
	if !ok {
		return ReasonSenderNotOwned
	}
	if !tf.Ready() {
		return ReasonSenderNotReady
	}
	return ReasonNone
}

// storeFailed counts a store failure and logs it at most once a second.
func (e *Engine) storeFailed(op string, err error) {
	e.stats.storeErrors.Add(1)
	now := time.Now().UnixNano()
	last := e.lastStoreWarn.Load()
	if now-last < int64(time.Second) || !e.lastStoreWarn.CompareAndSwap(last, now) {
		return
	}
	e.log.Warn("consent store failed, blocking texts until it recovers",
		zap.String("op", op),
		zap.Error(err))
}

// maskNumber hides the last four digits of a subscriber number, so logs
// identify the area but not the person.
// NOTE: the gateway masks numbers in its own style (+1******0101) with
// gateway.MaskNumber. Store errors are built here, below the gateway, and
// consent cannot import gateway without a cycle, so they use this style.
func maskNumber(n string) string {
	if len(n) <= 4 {
		return "****"
	}
	return n[:len(n)-4] + "****"
}
