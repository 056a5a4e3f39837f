package smscsim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optgate/optgate/smpp"
)

// ErrClosed is returned by Start, Serve and ServeControl after Close or
// Shutdown.
var ErrClosed = errors.New("smscsim: simulator closed")

// Simulator is an SMSC simulator. Create it with New, then call Start, or
// Serve and ServeControl with listeners of your own. Its methods are safe
// for concurrent use.
type Simulator struct {
	cfg    Config
	cfgErr error // a Config error, returned by Start and Serve
	log    *zap.Logger
	srv    *smpp.Server
	refs   smpp.RefCounter // concatenation references of injected MO
	rec    *recorder
	// reassembler joins accepted segments for Message.FullText.
	reassembler *smpp.Reassembler

	// ctx ends at Close or Shutdown. Pending receipts and injections
	// watch it.
	ctx    context.Context
	cancel context.CancelFunc

	// updateMu serialises read-modify-write changes of the behaviour.
	updateMu sync.Mutex

	mu        sync.Mutex
	behaviour Behaviour
	limiter   *rate.Limiter // nil when Behaviour.Throttle is 0
	rules     rules
	lastID    uint64
	turn      uint64 // picks the next receiver among several
	accepted  *acceptedLog
	conns     map[string]*tapConn // by remote address
	addr      net.Addr            // SMPP listener of Start
	ctlAddr   net.Addr            // control listener of Start
	control   *http.Server
	closed    bool
	wg        sync.WaitGroup // goroutines of Start, receipts and callbacks
}

// New returns a Simulator for cfg. It does no I/O. A Config error, such as
// an unknown id format, is returned by Start or Serve.
func New(cfg Config) *Simulator {
	cfg, err := cfg.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	sim := &Simulator{
		cfg:      cfg,
		cfgErr:   err,
		log:      cfg.Logger,
		rec:      newRecorder(cfg.MaxRecords, cfg.OnMessage),
		accepted: newAcceptedLog(cfg.MaxRecords),
		conns:    make(map[string]*tapConn),

		reassembler: smpp.NewReassembler(smpp.ReassemblyConfig{}),
	}
	sim.ctx, sim.cancel = context.WithCancel(context.Background())
	sim.behaviour = cfg.Behaviour
	sim.lastID = cfg.FirstMessageID - 1
	sim.limiter = newLimiter(cfg.Behaviour.Throttle)
	for _, r := range cfg.Rules {
		sim.rules.list = append(sim.rules.list, &RuleState{Rule: r})
	}
	sim.srv = &smpp.Server{
		SystemID:        cfg.ServerSystemID,
		Authenticator:   smpp.AuthenticatorFunc(sim.authenticate),
		Handler:         smpp.HandlerFunc(sim.serveSMPP),
		InboundWindow:   cfg.InboundWindow,
		ResponseTimeout: cfg.ResponseTimeout,
		Logger:          cfg.Logger,
	}
	return sim
}

// Start listens on Config.Addr for SMPP and, when Config.ControlAddr is
// set, on it for the HTTP control endpoint, and serves both on their own
// goroutines until Close or Shutdown. ctx bounds only the start.
func (sim *Simulator) Start(ctx context.Context) error {
	if sim.cfgErr != nil {
		return fmt.Errorf("smscsim: %w", sim.cfgErr)
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", sim.cfg.Addr)
	if err != nil {
		return fmt.Errorf("smscsim: listen on %s: %w", sim.cfg.Addr, err)
	}
	var cl net.Listener
	if sim.cfg.ControlAddr != "" {
		cl, err = lc.Listen(ctx, "tcp", sim.cfg.ControlAddr)
		if err != nil {
			l.Close()
			return fmt.Errorf("smscsim: listen on %s for the control endpoint: %w",
				sim.cfg.ControlAddr, err)
		}
	}

	sim.mu.Lock()
	defer sim.mu.Unlock()
	if sim.closed {
		l.Close()
		if cl != nil {
			cl.Close()
		}
		return ErrClosed
	}
	sim.addr = l.Addr()
	sim.goLocked(func() { sim.logServeError("smpp", sim.Serve(l)) })
	controlAddr := "off"
	if cl != nil {
		sim.ctlAddr = cl.Addr()
		controlAddr = cl.Addr().String()
		sim.goLocked(func() { sim.logServeError("control", sim.ServeControl(cl)) })
	}
	sim.log.Info("smsc simulator started, logging phone numbers unmasked because it is a test tool",
		zap.Stringer("addr", l.Addr()), zap.String("control_addr", controlAddr))
	return nil
}

func (sim *Simulator) logServeError(what string, err error) {
	if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, smpp.ErrServerClosed) {
		sim.log.Error("serving stopped", zap.String("listener", what), zap.Error(err))
	}
}

// Serve serves SMPP on l until Close or Shutdown, and closes l. It always
// returns an error: smpp.ErrServerClosed after Close or Shutdown.
func (sim *Simulator) Serve(l net.Listener) error {
	if sim.cfgErr != nil {
		l.Close()
		return fmt.Errorf("smscsim: %w", sim.cfgErr)
	}
	return sim.srv.Serve(&tapListener{Listener: l, sim: sim})
}

// ServeControl serves the HTTP control endpoint (see Handler) on l until
// Close or Shutdown, and closes l. It always returns an error: ErrClosed
// after Close or Shutdown.
func (sim *Simulator) ServeControl(l net.Listener) error {
	if sim.cfgErr != nil {
		l.Close()
		return fmt.Errorf("smscsim: %w", sim.cfgErr)
	}
	sim.mu.Lock()
	if sim.closed {
		sim.mu.Unlock()
		l.Close()
		return ErrClosed
	}
	if sim.control == nil {
		sim.control = &http.Server{
			Handler:           sim.Handler(),
			ReadHeaderTimeout: controlReadTimeout,
			ErrorLog:          zap.NewStdLog(sim.log.Named("control")),
		}
	}
	hs := sim.control
	sim.mu.Unlock()
	err := hs.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return ErrClosed
	}
	return fmt.Errorf("smscsim: control endpoint: %w", err)
}

// Addr returns the SMPP address Start listens on, or nil before Start.
func (sim *Simulator) Addr() net.Addr {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.addr
}

// ControlAddr returns the control endpoint address Start listens on, or
// nil when there is none.
func (sim *Simulator) ControlAddr() net.Addr {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.ctlAddr
}

// ControlURL returns the base URL of the control endpoint Start listens
// on, such as "http://127.0.0.1:2777", or "" when there is none.
func (sim *Simulator) ControlURL() string {
	if a := sim.ControlAddr(); a != nil {
		return "http://" + a.String()
	}
	return ""
}

// Close stops the simulator at once: it closes the listeners and every
// connection, drops pending receipts and waits for its goroutines.
func (sim *Simulator) Close() error {
	hs := sim.beginClose()
	var err error
	if hs != nil {
		err = hs.Close()
	}
	sim.srv.Close()
	sim.wg.Wait()
	return err
}

// Shutdown stops the simulator gracefully: it stops accepting, drops
// pending receipts, unbinds every session and waits for running handlers
// and its goroutines until ctx ends. Then it closes what is left and
// returns ctx's error.
func (sim *Simulator) Shutdown(ctx context.Context) error {
	hs := sim.beginClose()
	var errs []error
	if hs != nil {
		errs = append(errs, hs.Shutdown(ctx))
	}
	errs = append(errs, sim.srv.Shutdown(ctx))

	done := make(chan struct{})
	go func() {
		sim.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		sim.srv.Close()
		<-done
		errs = append(errs, fmt.Errorf("smscsim: shutdown: %w", ctx.Err()))
	}
	return errors.Join(errs...)
}

// beginClose marks the simulator closed, ends its context and returns the
// control server, if any.
func (sim *Simulator) beginClose() *http.Server {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if !sim.closed {
		sim.closed = true
		sim.log.Info("smsc simulator stopping")
	}
	sim.cancel()
	return sim.control
}

// goLocked runs f on a goroutine that Close waits for, unless the
// simulator is closed. The caller holds sim.mu.
func (sim *Simulator) goLocked(f func()) bool {
	if sim.closed {
		return false
	}
	sim.wg.Add(1)
	go func() {
		defer sim.wg.Done()
		f()
	}()
	return true
}

// goTracked runs f as goLocked does, taking the lock itself.
func (sim *Simulator) goTracked(f func()) bool {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.goLocked(f)
}

// authenticate accepts a bind whose system_id and password match the
// configured ones; an empty configured value accepts any.
func (sim *Simulator) authenticate(_ context.Context, req smpp.BindRequest) smpp.CommandStatus {
	log := sim.log.With(zap.String("system_id", req.SystemID), zap.Stringer("bind_type", req.BindType),
		zap.Stringer("remote_addr", req.RemoteAddr))
	if sim.cfg.SystemID != "" && req.SystemID != sim.cfg.SystemID {
		log.Info("bind rejected: unknown system_id")
		return smpp.StatusInvalidSystemID
	}
	if sim.cfg.Password != "" &&
		subtle.ConstantTimeCompare([]byte(req.Password), []byte(sim.cfg.Password)) != 1 {
		log.Info("bind rejected: wrong password")
		return smpp.StatusInvalidPassword
	}
	log.Info("bind accepted")
	return smpp.StatusOK
}

// Sessions returns the ESME sessions bound now.
func (sim *Simulator) Sessions() []*smpp.ServerSession { return sim.srv.Sessions() }

// Behaviour returns the current behaviour, with defaults filled in.
func (sim *Simulator) Behaviour() Behaviour {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.behaviour
}

// SetBehaviour replaces the behaviour. It returns an error, and changes
// nothing, when b is invalid.
func (sim *Simulator) SetBehaviour(b Behaviour) error {
	sim.updateMu.Lock()
	defer sim.updateMu.Unlock()
	return sim.setBehaviour(b)
}

// UpdateBehaviour changes the behaviour with f, which gets a copy of the
// current one. No other change can come between the read and the write.
func (sim *Simulator) UpdateBehaviour(f func(*Behaviour)) error {
	sim.updateMu.Lock()
	defer sim.updateMu.Unlock()
	b := sim.Behaviour()
	f(&b)
	return sim.setBehaviour(b)
}

// setBehaviour replaces the behaviour. The caller holds sim.updateMu.
func (sim *Simulator) setBehaviour(b Behaviour) error {
	if err := b.validate(); err != nil {
		return fmt.Errorf("smscsim: set behaviour: %w", err)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	if b.Throttle != sim.behaviour.Throttle {
		sim.limiter = newLimiter(b.Throttle)
	}
	sim.behaviour = b
	sim.log.Info("behaviour changed", zap.Any("behaviour", behaviourToJSON(b)))
	return nil
}

// SetThrottle sets Behaviour.Throttle: the most submits a second, 0 for no
// limit.
func (sim *Simulator) SetThrottle(perSecond float64) error {
	return sim.UpdateBehaviour(func(b *Behaviour) { b.Throttle = perSecond })
}

// newLimiter returns a token bucket for perSecond submits a second with a
// burst of one second's worth, or nil for no limit.
func newLimiter(perSecond float64) *rate.Limiter {
	if perSecond <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(perSecond), max(int(perSecond), 1))
}

// AddRule appends a rule after the existing ones.
func (sim *Simulator) AddRule(r Rule) error {
	if err := r.validate(); err != nil {
		return fmt.Errorf("smscsim: add rule: %w", err)
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	sim.rules.list = append(sim.rules.list, &RuleState{Rule: r})
	sim.log.Info("rule added", zap.Any("rule", ruleToJSON(RuleState{Rule: r})))
	return nil
}

// SetRules replaces every rule. It changes nothing when one is invalid.
func (sim *Simulator) SetRules(rs []Rule) error {
	list := make([]*RuleState, len(rs))
	for i := range rs {
		if err := rs[i].validate(); err != nil {
			return fmt.Errorf("smscsim: rule %d: %w", i+1, err)
		}
		list[i] = &RuleState{Rule: rs[i]}
	}
	sim.mu.Lock()
	defer sim.mu.Unlock()
	sim.rules.list = list
	sim.log.Info("rules replaced", zap.Int("rules", len(list)))
	return nil
}

// ClearRules removes every rule.
func (sim *Simulator) ClearRules() { _ = sim.SetRules(nil) }

// Rules returns the rules in force with their progress.
func (sim *Simulator) Rules() []RuleState {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.rules.snapshot()
}
