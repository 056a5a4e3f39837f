package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

// DeliverFunc takes a deliver_sm or data_sm from a carrier and returns the
// command_status of the response. MOService.HandleDeliver is one.
type DeliverFunc func(ctx context.Context, carrier string, pdu smpp.PDU) smpp.CommandStatus

// CarrierPoolConfig configures a CarrierPool. Zero fields take the default
// in their comment.
type CarrierPoolConfig struct {
	// Carrier is the validated configuration of the carrier. Required.
	Carrier config.Carrier
	// Deliver handles the carrier's deliver_sm and data_sm. The pool
	// responds to each one only after Deliver returns, so the carrier
	// redelivers what optgate did not store. Default: respond with
	// ESME_RX_T_APPN, which makes the carrier retry later.
	Deliver DeliverFunc
	// Metrics receives the bind states and window use. Default: none.
	Metrics *CarrierMetrics
	// Logger is the parent logger; the pool logs under "carrier". Default
	// zap.NewNop().
	Logger *zap.Logger
	// ThrottleRetries is how many times a segment the carrier refused with
	// ESME_RTHROTTLED or ESME_RMSGQFUL is submitted again. Each refusal
	// also pauses the bind that got it (see smpp.ClientConfig). A negative
	// value turns retries off. Default 3.
	ThrottleRetries int
	// RetryBackoff is the wait before the first throttled retry, doubled
	// for each further one up to MaxRetryBackoff. Defaults 500ms and 5s.
	RetryBackoff, MaxRetryBackoff time.Duration
	// ThrottlePause and MaxThrottlePause bound the pause of a bind after a
	// throttling response, as smpp.ClientConfig describes. Defaults: those
	// of smpp.ClientConfig.
	ThrottlePause, MaxThrottlePause time.Duration
	// BindWait is how long Submit waits for a bound session when none is
	// bound, for example while a dropped bind reconnects. Default 2s.
	BindWait time.Duration
	// ResponseTimeout is how long a submit_sm waits for submit_sm_resp.
	// Default: Carrier.ResponseTimeout, or smpp.DefaultResponseTimeout
	// when that is zero too.
	ResponseTimeout time.Duration
	// ReconnectDelay and MaxReconnectDelay bound the back-off between
	// reconnects. Defaults: those of smpp.ClientConfig.
	ReconnectDelay, MaxReconnectDelay time.Duration
	// OnBindChange, when set, is called after any bind of the pool changes
	// state. It must return quickly.
	OnBindChange func()
}

// ErrSubmitUnconfirmed marks a submit_sm that was written to the carrier
// but got no submit_sm_resp, because the connection dropped or the
// response timed out. The carrier may have accepted the message, so it is
// not submitted again.
var ErrSubmitUnconfirmed = errors.New("gateway: submit_sm written but no response received")

// CarrierPool is the CarrierLink of one carrier: Binds smpp client
// sessions, each reconnecting by itself with back-off, with submits spread
// round robin over the bound ones and paced to the carrier's rate. It is
// safe for concurrent use.
type CarrierPool struct {
	cfg     CarrierPoolConfig
	name    string
	log     *zap.Logger
	window  windowGauges
	traffic trafficCounters
	limiter *rate.Limiter // nil when the carrier has no rate
	// pacing lets one submit at a time wait on limiter. Each waiter holds
	// a reservation, so after a stall many reservations would fall due at
	// once and leave together above the rate.
	pacing sync.Mutex
	next   atomic.Uint32

	mu      sync.Mutex
	addr    string
	binds   []*carrierBind
	states  []smpp.SessionState
	inUse   []int
	changed chan struct{} // closed and replaced when a bind changes state
	started bool
	closing bool
}

// carrierBind is one client session of the pool.
type carrierBind struct {
	index  int
	client *smpp.Client
	// written holds the sequence numbers of the submit_sm written on this
	// bind whose Submit call has not returned yet.
	written seqSet
}

var _ CarrierLink = (*CarrierPool)(nil)

// NewCarrierPool checks the configuration and fills the defaults. It does
// no I/O; Start dials.
func NewCarrierPool(cfg CarrierPoolConfig) (*CarrierPool, error) {
	c := cfg.Carrier
	if c.Name == "" || c.Address == "" || c.SystemID == "" {
		return nil, errors.New("carrier pool: name, address and system_id are required")
	}
	if _, err := bindTypeOf(c.BindType); err != nil {
		return nil, fmt.Errorf("carrier %s: %w", c.Name, err)
	}
	if c.Binds <= 0 || c.Window <= 0 || c.Rate < 0 {
		return nil, fmt.Errorf("carrier %s: binds %d and window %d must be positive and rate %v not negative",
			c.Name, c.Binds, c.Window, c.Rate)
	}

	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.ThrottleRetries == 0 {
		cfg.ThrottleRetries = 3
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 500 * time.Millisecond
	}
	if cfg.MaxRetryBackoff < cfg.RetryBackoff {
		cfg.MaxRetryBackoff = max(5*time.Second, cfg.RetryBackoff)
	}
	if cfg.BindWait <= 0 {
		cfg.BindWait = 2 * time.Second
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = c.ResponseTimeout
	}
	if cfg.ResponseTimeout <= 0 {
		cfg.ResponseTimeout = smpp.DefaultResponseTimeout
	}

	p := &CarrierPool{
		cfg:     cfg,
		name:    c.Name,
		log:     cfg.Logger.Named("carrier").With(zap.String("carrier", c.Name)),
		window:  cfg.Metrics.window(c.Name),
		traffic: cfg.Metrics.traffic(c.Name),
		addr:    c.Address,
		changed: make(chan struct{}),
	}
	if c.Rate > 0 {
		// The rate is a ceiling over every one-second window, so the
		// burst is kept to 2 % of it: a burst of one second's worth
		// would let an idle carrier get twice its rate in one second.
		p.limiter = rate.NewLimiter(rate.Limit(c.Rate), max(int(c.Rate*maxBurstShare), 1))
	}
	return p, nil
}

// bindTypeOf maps the configuration's bind type to SMPP's.
func bindTypeOf(s string) (smpp.BindType, error) {
	switch s {
	case "", config.BindTransceiver:
		return smpp.BindTypeTransceiver, nil
	case config.BindTransmitter:
		return smpp.BindTypeTransmitter, nil
	case config.BindReceiver:
		return smpp.BindTypeReceiver, nil
	}
	return 0, fmt.Errorf("unknown bind type %q (want transceiver, transmitter or receiver)", s)
}

// Name returns the carrier's name.
func (p *CarrierPool) Name() string { return p.name }

// SetAddress replaces the SMSC address before Start, for a carrier bound
// to a simulator whose port is chosen when it starts.
func (p *CarrierPool) SetAddress(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.addr = addr
}

// Start creates the binds and starts connecting them in the background.
// It returns once they are started, without waiting for any bind: see
// BoundSessions. Reading the TLS CA file is its only blocking step.
func (p *CarrierPool) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return fmt.Errorf("carrier %s: already started", p.name)
	}
	tlsConfig, err := carrierTLS(p.cfg.Carrier, p.addr)
	if err != nil {
		return fmt.Errorf("carrier %s: %w", p.name, err)
	}
	n := p.cfg.Carrier.Binds
	p.binds = make([]*carrierBind, n)
	p.states = make([]smpp.SessionState, n)
	p.inUse = make([]int, n)
	for i := range n {
		p.states[i] = smpp.SessionClosed
		b := &carrierBind{index: i}
		b.client, err = smpp.NewClient(p.clientConfig(b, tlsConfig))
		if err != nil {
			return fmt.Errorf("carrier %s: %w", p.name, err)
		}
		p.binds[i] = b
	}
	p.started = true
	p.cfg.Metrics.setBound(p.name, 0)
	p.window.set(0, n*p.cfg.Carrier.Window)

	// Connect with a context that has already ended returns at once and
	// leaves the client's connection loop running on its own.
	done, cancel := context.WithCancel(context.WithoutCancel(ctx))
	cancel()
	for _, b := range p.binds {
		_ = b.client.Connect(done)
	}
	p.log.Info("connecting",
		zap.String("addr", p.addr),
		zap.Int("binds", n),
		zap.String("bind_type", p.cfg.Carrier.BindType),
		zap.Bool("tls", tlsConfig != nil))
	return nil
}

// clientConfig returns the smpp client settings of bind b.
func (p *CarrierPool) clientConfig(b *carrierBind, tlsConfig *tls.Config) smpp.ClientConfig {
	c := p.cfg.Carrier
	bindType, _ := bindTypeOf(c.BindType)
	return smpp.ClientConfig{
		Addr:                p.addr,
		TLS:                 tlsConfig,
		BindType:            bindType,
		SystemID:            c.SystemID,
		Password:            c.Password,
		SystemType:          c.SystemType,
		WindowSize:          c.Window,
		ResponseTimeout:     p.cfg.ResponseTimeout,
		EnquireLinkInterval: c.EnquireLink,
		ThrottlePause:       p.cfg.ThrottlePause,
		MaxThrottlePause:    p.cfg.MaxThrottlePause,
		ReconnectDelay:      p.cfg.ReconnectDelay,
		MaxReconnectDelay:   p.cfg.MaxReconnectDelay,
		Handler:             p.handle,
		Logger:              p.log.With(zap.Int("bind", b.index)),
		Hooks:               p.hooks(b),
	}
}

// carrierTLS builds the TLS settings of a carrier, or nil without TLS.
func carrierTLS(c config.Carrier, addr string) (*tls.Config, error) {
	if !c.TLS.Enabled {
		return nil, nil
	}
	name := c.TLS.ServerName
	if name == "" {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("tls server name from address %q: %w", addr, err)
		}
		name = host
	}
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if c.TLS.CAFile != "" {
		pem, err := os.ReadFile(c.TLS.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls ca_file %s contains no PEM certificate", c.TLS.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// handle returns the status of the carrier's deliver_sm and data_sm from
// Deliver.
// alert_notification has no response and optgate has no use for it.
func (p *CarrierPool) handle(ctx context.Context, req smpp.PDU) smpp.CommandStatus {
	if req.CommandID() == smpp.AlertNotificationID {
		p.log.Debug("alert_notification ignored")
		return smpp.StatusOK
	}
	p.traffic.receive()
	if p.cfg.Deliver == nil {
		return smpp.StatusTempAppError
	}
	return p.cfg.Deliver(ctx, p.name, req)
}

// hooks returns the metrics hooks of bind b.
func (p *CarrierPool) hooks(b *carrierBind) smpp.Hooks {
	return smpp.Hooks{
		PDUSent: func(_ string, h smpp.Header) {
			if h.CommandID == smpp.SubmitSMID {
				b.written.add(h.SequenceNumber)
			}
		},
		WindowInUse: func(_ string, inUse, _ int) { p.windowChanged(b.index, inUse) },
		Throttled: func(_ string, status smpp.CommandStatus, _ time.Duration) {
			p.cfg.Metrics.throttle(p.name, status)
		},
		BindStateChanged: func(_ string, state smpp.SessionState, err error) {
			p.stateChanged(b.index, state, err)
		},
		ProtocolError: func(string, error) { p.cfg.Metrics.protocolError(p.name) },
	}
}

func (p *CarrierPool) stateChanged(i int, state smpp.SessionState, err error) {
	p.mu.Lock()
	prev := p.states[i]
	p.states[i] = state
	bound := 0
	for _, s := range p.states {
		if s.Bound() {
			bound++
		}
	}
	closing := p.closing
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()

	p.cfg.Metrics.setBound(p.name, bound)
	if state == smpp.SessionClosed {
		switch {
		case (prev.Bound() || prev == smpp.SessionUnbinding) && !closing:
			p.cfg.Metrics.sessionLost(p.name)
		case !prev.Bound() && err != nil && !errors.Is(err, smpp.ErrClosed):
			// NOTE: a failed attempt reports twice, as the session's close
			// (an smpp.ErrClosed) and as the client's dial or bind error;
			// only the second is counted, so a bind cut off by a dropped
			// connection, whose error is also ErrClosed, is not counted.
			p.cfg.Metrics.bindFailed(p.name)
		}
	}
	if p.cfg.OnBindChange != nil {
		p.cfg.OnBindChange()
	}
}

func (p *CarrierPool) windowChanged(i, inUse int) {
	p.mu.Lock()
	p.inUse[i] = inUse
	total := 0
	for _, n := range p.inUse {
		total += n
	}
	size := len(p.inUse) * p.cfg.Carrier.Window
	p.mu.Unlock()
	p.window.set(total, size)
}

// BoundSessions returns the number of sessions bound now.
func (p *CarrierPool) BoundSessions() int {
	p.mu.Lock()
	binds := p.binds
	p.mu.Unlock()
	n := 0
	for _, b := range binds {
		if b.client.Bound() {
			n++
		}
	}
	return n
}

// maxBurstShare is the share of a carrier's rate that may leave at once
// after the carrier was idle.
const maxBurstShare = 0.02

// Submit sends one submit_sm on a bound session, taken round robin, and
// returns the message_id of the carrier's submit_sm_resp.
//
// A rejection with ESME_RTHROTTLED or ESME_RMSGQFUL pauses the bind that
// got it, and the PDU is sent again after a back-off, at most
// ThrottleRetries times. The last rejection is returned as the
// *smpp.StatusError. Any other rejection is returned at once.
//
// When a session fails before the PDU is written, the next bound session
// gets it. When no session could take it, the error wraps
// ErrLinkUnavailable: nothing was sent. When the PDU was written but no
// response came, the error wraps ErrSubmitUnconfirmed and the PDU is not
// sent again, because the carrier may have it.
func (p *CarrierPool) Submit(ctx context.Context, pdu *smpp.SubmitSM) (string, error) {
	for attempt := 0; ; attempt++ {
		if p.limiter != nil {
			p.pacing.Lock()
			err := p.limiter.Wait(ctx)
			p.pacing.Unlock()
			if err != nil {
				return "", fmt.Errorf("carrier %s: waiting for the rate limit: %w: %w", p.name, ErrLinkUnavailable, err)
			}
		}
		id, err := p.submitOnce(ctx, pdu)
		if err == nil {
			p.traffic.submit()
			return id, nil
		}
		if !smpp.Throttled(err) || attempt >= p.cfg.ThrottleRetries {
			return id, err
		}

		wait := min(p.cfg.RetryBackoff<<attempt, p.cfg.MaxRetryBackoff)
		p.cfg.Metrics.retry(p.name, retryThrottled)
		if ce := p.log.Check(zap.DebugLevel, "submit_sm throttled, retrying"); ce != nil {
			ce.Write(zap.Int("attempt", attempt+1), zap.Duration("wait", wait), zap.Error(err))
		}
		if !sleepContext(ctx, wait) {
			return "", err
		}
	}
}

// submitOnce sends the PDU on a bound session. When a session fails
// before the PDU is written, the next bound one gets it, with at most
// Binds+1 tries in all.
func (p *CarrierPool) submitOnce(ctx context.Context, pdu *smpp.SubmitSM) (string, error) {
	var lastErr error
	for try := 0; try <= p.cfg.Carrier.Binds; try++ {
		b, err := p.pickBind(ctx)
		if err != nil {
			return "", errors.Join(err, lastErr)
		}
		if try > 0 {
			p.cfg.Metrics.retry(p.name, retryNotSent)
		}
		id, written, err := p.submitOn(ctx, b, pdu)
		var status *smpp.StatusError
		switch {
		case err == nil:
			return id, nil
		case errors.As(err, &status):
			return "", err
		case written:
			p.cfg.Metrics.submitUnconfirmed(p.name)
			p.log.Warn("submit_sm got no response; not resubmitting, the carrier may have it",
				zap.Int("bind", b.index),
				zap.Error(err))
			return "", fmt.Errorf("carrier %s: %w: %w", p.name, ErrSubmitUnconfirmed, err)
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return "", fmt.Errorf("carrier %s: %w: %w", p.name, ErrLinkUnavailable, lastErr)
}

// submitOn sends pdu on bind b and reports whether it was written. The
// smpp client assigns the sequence number when it registers the request,
// so a zero one means the PDU never got that far.
func (p *CarrierPool) submitOn(ctx context.Context, b *carrierBind, pdu *smpp.SubmitSM) (string, bool, error) {
	// The client bounds the response wait by itself; this bounds the waits
	// before the write, for a session that drops while it is picked.
	ctx, cancel := context.WithTimeout(ctx, 2*p.cfg.ResponseTimeout+p.cfg.BindWait)
	defer cancel()
	pdu.SequenceNumber = 0
	resp, err := b.client.Submit(ctx, pdu)
	written := pdu.SequenceNumber != 0 && b.written.take(pdu.SequenceNumber)
	if err != nil {
		return "", written, err
	}
	return resp.MessageID, true, nil
}

// pickBind returns the next bound bind in round-robin order. With none
// bound, it waits up to BindWait for one to bind.
func (p *CarrierPool) pickBind(ctx context.Context) (*carrierBind, error) {
	if p.cfg.Carrier.BindType == config.BindReceiver {
		return nil, fmt.Errorf("carrier %s: %w: bound as receiver only", p.name, ErrLinkUnavailable)
	}
	wait := time.NewTimer(p.cfg.BindWait)
	defer wait.Stop()
	for {
		p.mu.Lock()
		binds, changed, closing := p.binds, p.changed, p.closing
		p.mu.Unlock()
		if closing {
			return nil, fmt.Errorf("carrier %s: %w: stopping", p.name, ErrLinkUnavailable)
		}
		start := int(p.next.Add(1))
		for i := range binds {
			if b := binds[(start+i)%len(binds)]; b.client.Bound() {
				return b, nil
			}
		}
		select {
		case <-changed:
		case <-wait.C:
			return nil, fmt.Errorf("carrier %s: %w: no session bound", p.name, ErrLinkUnavailable)
		case <-ctx.Done():
			return nil, fmt.Errorf("carrier %s: %w: %w", p.name, ErrLinkUnavailable, ctx.Err())
		}
	}
}

// Stop stops reconnecting, lets the submits in flight get their
// responses until ctx ends, unbinds every session and waits for the
// handlers of the carrier's deliver_sm.
func (p *CarrierPool) Stop(ctx context.Context) error {
	p.mu.Lock()
	p.closing = true
	binds := p.binds
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()

	errs := make([]error, len(binds))
	var wg sync.WaitGroup
	for i, b := range binds {
		wg.Go(func() { errs[i] = b.client.Close(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("carrier %s: stop: %w", p.name, err)
	}
	return nil
}

// seqSet is a set of sequence numbers, safe for concurrent use.
type seqSet struct {
	mu   sync.Mutex
	seqs map[uint32]struct{}
}

func (s *seqSet) add(seq uint32) {
	s.mu.Lock()
	if s.seqs == nil {
		s.seqs = map[uint32]struct{}{}
	}
	s.seqs[seq] = struct{}{}
	s.mu.Unlock()
}

// take removes seq and reports whether it was there.
func (s *seqSet) take(seq uint32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.seqs[seq]
	delete(s.seqs, seq)
	return ok
}

// sleepContext waits for d and reports false when ctx ends first.
func sleepContext(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// CarrierSet holds the pools of every configured carrier. It implements
// CarrierLinks.
type CarrierSet struct {
	pools []*CarrierPool
	by    map[string]*CarrierPool
}

// NewCarrierSet builds a pool per carrier; base is copied into each pool's
// configuration with the carrier filled in.
func NewCarrierSet(carriers []config.Carrier, base CarrierPoolConfig) (*CarrierSet, error) {
	s := &CarrierSet{by: map[string]*CarrierPool{}}
	for _, c := range carriers {
		cfg := base
		cfg.Carrier = c
		p, err := NewCarrierPool(cfg)
		if err != nil {
			return nil, err
		}
		if _, dup := s.by[c.Name]; dup {
			return nil, fmt.Errorf("carrier %s is defined twice", c.Name)
		}
		s.pools = append(s.pools, p)
		s.by[c.Name] = p
	}
	return s, nil
}

// Link implements CarrierLinks.
func (s *CarrierSet) Link(carrier string) (CarrierLink, bool) {
	p, ok := s.by[carrier]
	if !ok {
		return nil, false
	}
	return p, true
}

// Pool returns the pool of a carrier.
func (s *CarrierSet) Pool(carrier string) (*CarrierPool, bool) {
	p, ok := s.by[carrier]
	return p, ok
}

// Pools returns the pools in configuration order.
func (s *CarrierSet) Pools() []*CarrierPool { return append([]*CarrierPool(nil), s.pools...) }

// Start starts every pool.
func (s *CarrierSet) Start(ctx context.Context) error {
	for _, p := range s.pools {
		if err := p.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every pool at once and waits for them.
func (s *CarrierSet) Stop(ctx context.Context) error {
	errs := make([]error, len(s.pools))
	var wg sync.WaitGroup
	for i, p := range s.pools {
		wg.Go(func() { errs[i] = p.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
