package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
)

// Config holds the settings of a Server. Zero fields take the default in
// their comment.
type Config struct {
	// Listener holds the addresses and the certificate to serve, the
	// listeners.sip configuration. An empty address turns its transport
	// off; at least one must be set. Enabled is not read: the caller
	// decides whether to build a Server.
	Listener config.SIPListener
	// Accounts are the validated configuration accounts: their SIP
	// trunks, toll-free numbers and delivery targets.
	Accounts []config.Account
	// ExternalHost is the host written in Via, Contact and SDP when the
	// listen address is not the one peers reach, as behind NAT.
	// Default: the host of the first listen address.
	ExternalHost string
	// MaskNumbers masks subscriber numbers in logs. Default false; the
	// daemon passes logging.mask_numbers.
	MaskNumbers bool
	// DefaultRegion reads national numbers in URIs. Default "US".
	DefaultRegion string
	// RequestTimeout bounds the handling of one MESSAGE or INFO. It stays
	// below 32 s, Timer F of RFC 3261 section 17.1.2.2, after which the
	// peer gives up on the transaction. Default 25s.
	RequestTimeout time.Duration
	// MaxRequests is how many MESSAGE and INFO requests are handled at
	// once; more get 503 with Retry-After. Default 512.
	MaxRequests int
	// MaxCalls is how many calls are answered at once; more get 486 Busy
	// Here. Default 32.
	MaxCalls int
	// SilenceTimeout ends a voicemail after this much silence or of no
	// audio at all. Default 5s.
	SilenceTimeout time.Duration
	// NonceLifetime is how long a digest nonce stays valid. Default 5m.
	NonceLifetime time.Duration
	// DigestFailuresAllowed is how many failed digest authentications a
	// source address may make before each further one locks it out.
	// Default 5; a negative value allows none.
	DigestFailuresAllowed int
	// DigestLockout is the first lockout, doubled for each further
	// failure up to MaxDigestLockout. Defaults 1s and 5m.
	DigestLockout, MaxDigestLockout time.Duration
	// TempDir holds voicemails while they are recorded. Default: the
	// system temporary directory.
	TempDir string
	// GreetingDir is the directory of the greetings uploaded over the HTTP
	// API (see GreetingStore). Default: empty, which turns uploads off.
	GreetingDir string
}

// MTService sends business texts and opt-in requests.
// *gateway.MTService implements it. The daemon replaces its services on
// reload, so it passes an adapter that calls the current one.
type MTService interface {
	Submit(ctx context.Context, mt gateway.MT) (gateway.Result, error)
	RequestOptIn(ctx context.Context, req gateway.OptInRequest) (gateway.OptInResult, error)
}

// Deps are the services a Server uses.
type Deps struct {
	// MT sends texts and opt-in requests. Required.
	MT MTService
	// Voicemails stores recorded voicemails. Default: none; calls are
	// still answered with the greeting, and recordings are dropped with a
	// warning.
	Voicemails VoicemailStore
	// Logger is the parent logger; the server logs under "sip". Default
	// zap.NewNop().
	Logger *zap.Logger
	// Registerer gets the server's collectors. Default: none.
	Registerer prometheus.Registerer
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// ErrServerClosed is returned by Start after Stop.
var ErrServerClosed = errors.New("sip: server closed")

// Server is optgate's SIP front end: it takes MESSAGE requests from PBX
// trunks into the MT service, answers calls to toll-free numbers with the
// greeting and voicemail, sends opt-in requests asked for during calls,
// and delivers MO texts and receipts to PBXs as MESSAGE requests.
type Server struct {
	cfg       Config
	deps      Deps
	log       *zap.Logger
	mask      func(string) string
	metrics   *metrics
	digest    *digestVerifier
	dir       atomic.Pointer[directory]
	calls     *callTable
	greetings *GreetingStore
	failures  *authFailures
	slots     chan struct{} // bounds MESSAGE and INFO handled at once
	rejected  logLimiter
	// invites holds the identity of each INVITE being served, from the
	// authentication middleware to the call handler.
	invites sync.Map // inviteKey → identity
	// failed receives the error of a listener that stopped by itself.
	failed chan error

	mu        sync.Mutex
	started   bool
	closing   bool
	runCtx    context.Context
	runCancel context.CancelFunc
	ua        *sipgo.UserAgent
	udpClient *sipgo.Client // sends from the UDP listener's port
	tcpClient *sipgo.Client // opens its own connections
	closers   []io.Closer
	addrs     map[string]net.Addr
	// hostname is the host in the From and Via of requests optgate sends.
	hostname string
	serveWG  sync.WaitGroup
	work     sync.WaitGroup // request handlers and calls
}

// NewServer checks cfg and builds the server without I/O.
func NewServer(cfg Config, deps Deps) (*Server, error) {
	if deps.MT == nil {
		return nil, errors.New("sip: the MT service is required")
	}
	l := cfg.Listener
	if l.UDPAddr == "" && l.TCPAddr == "" && (l.TLSAddr == "" || !l.TLS.Enabled()) {
		return nil, errors.New("sip: no listen address: set udp_addr, tcp_addr, or tls_addr with tls")
	}
	applyDefaults(&cfg, &deps)
	s := &Server{
		cfg:    cfg,
		deps:   deps,
		log:    deps.Logger.Named("sip"),
		mask:   func(n string) string { return n },
		calls:  newCallTable(cfg.MaxCalls),
		slots:  make(chan struct{}, cfg.MaxRequests),
		failed: make(chan error, 3),
	}
	if cfg.MaskNumbers {
		s.mask = gateway.MaskNumber
	}
	var err error
	if s.metrics, err = newMetrics(deps.Registerer); err != nil {
		return nil, fmt.Errorf("sip: metrics: %w", err)
	}
	if s.digest, err = newDigestVerifier(cfg.NonceLifetime, deps.Now); err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	if s.greetings, err = NewGreetingStore(cfg.GreetingDir); err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	s.failures = newAuthFailures(deps.Now)
	s.failures.free = max(0, cfg.DigestFailuresAllowed)
	s.failures.lockoutMin, s.failures.lockoutMax = cfg.DigestLockout, cfg.MaxDigestLockout
	if err := s.UpdateAccounts(cfg.Accounts); err != nil {
		return nil, err
	}
	return s, nil
}

func applyDefaults(cfg *Config, deps *Deps) {
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "US"
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 25 * time.Second
	}
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = 512
	}
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = 32
	}
	if cfg.SilenceTimeout <= 0 {
		cfg.SilenceTimeout = 5 * time.Second
	}
	if cfg.NonceLifetime <= 0 {
		cfg.NonceLifetime = 5 * time.Minute
	}
	if cfg.DigestFailuresAllowed == 0 {
		cfg.DigestFailuresAllowed = authFailuresFree
	}
	if cfg.DigestLockout <= 0 {
		cfg.DigestLockout = authLockoutMin
	}
	if cfg.MaxDigestLockout <= 0 {
		cfg.MaxDigestLockout = authLockoutMax
	}
	cfg.MaxDigestLockout = max(cfg.MaxDigestLockout, cfg.DigestLockout)
	if deps.Logger == nil {
		deps.Logger = zap.NewNop()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
}

// UpdateAccounts replaces the trunks, toll-free numbers and delivery
// targets, as a configuration reload does. Calls in progress keep the
// settings they started with.
func (s *Server) UpdateAccounts(accounts []config.Account) error {
	dir, err := newDirectory(accounts, s.cfg.DefaultRegion)
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	s.dir.Store(dir)
	return nil
}

// Start listens on the configured addresses and serves until Stop. It
// returns once every listener is open. ctx bounds the start only.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return ErrServerClosed
	case s.started:
		return errors.New("sip: server already started")
	}
	s.started = true
	s.runCtx, s.runCancel = context.WithCancel(context.WithoutCancel(ctx))
	if err := s.start(); err != nil {
		s.closeLocked()
		return err
	}
	s.log.Info("listening", s.addrFields()...)
	return nil
}

// listener is one open SIP listener.
type listener struct {
	network string // udp, tcp or tls
	addr    net.Addr
	serve   func(srv *sipgo.Server) error
}

func (s *Server) start() error {
	listeners, err := s.listen()
	if err != nil {
		return err
	}
	libLog := newSlogLogger(s.log.Named("lib"), zapcore.DebugLevel)
	s.hostname = s.host(listeners[0].addr)
	s.ua, err = sipgo.NewUA(
		sipgo.WithUserAgent("optgate"),
		sipgo.WithUserAgentHostname(s.hostname),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(libLog)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(libLog)),
	)
	if err != nil {
		return fmt.Errorf("sip: user agent: %w", err)
	}
	srv, err := sipgo.NewServer(s.ua, sipgo.WithServerLogger(libLog))
	if err != nil {
		return fmt.Errorf("sip: server: %w", err)
	}

	opts := []diago.DiagoOption{
		diago.WithServer(srv),
		diago.WithLogger(libLog),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: callCodecs}),
		diago.WithServerRequestMiddleware(s.diagoMiddleware),
	}
	for _, l := range listeners {
		opts = append(opts, diago.WithTransport(s.diagoTransport(l)))
	}
	dg := diago.NewDiago(s.ua, opts...)
	dg.HandleFunc(s.serveCall)
	// Registered after diago, so these replace its INFO handler.
	srv.OnMessage(s.observe(s.handleMessage))
	srv.OnInfo(s.observe(s.handleInfo))
	srv.OnNoRoute(s.observe(s.handleUnsupported))

	if err := s.newClients(libLog); err != nil {
		return err
	}
	if p, ok := s.deps.Voicemails.(pruner); ok {
		s.serveWG.Go(func() { s.pruneVoicemails(s.runCtx, p) })
	}
	for _, l := range listeners {
		s.serveWG.Add(1)
		go func() {
			defer s.serveWG.Done()
			err := l.serve(srv)
			if s.isClosing() {
				return
			}
			if err == nil || errors.Is(err, net.ErrClosed) {
				err = errors.New("stopped")
			}
			err = fmt.Errorf("sip %s listener: %w", l.network, err)
			s.log.Error("sip listener failed", zap.Error(err))
			select {
			case s.failed <- err:
			default:
			}
		}()
	}
	return waitUDPListening(srv, listeners)
}

// waitUDPListening waits until sipgo has registered each UDP listener in
// its connection pool. sipgo does that inside ServeUDP, which runs in its
// own goroutine; a request sent before it happens makes sipgo open a new
// socket on the listener's own port, which fails with "address already in
// use".
func waitUDPListening(srv *sipgo.Server, listeners []listener) error {
	deadline := time.Now().Add(5 * time.Second)
	for _, l := range listeners {
		if l.network != "udp" {
			continue
		}
		for {
			if c, err := srv.TransportLayer().GetConnection("udp", l.addr.String()); err == nil && c != nil {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sip: udp listener %s did not start within 5s", l.addr)
			}
			time.Sleep(time.Millisecond)
		}
	}
	return nil
}

// listen opens the configured listeners.
func (s *Server) listen() ([]listener, error) {
	l := s.cfg.Listener
	var out []listener
	if l.UDPAddr != "" {
		pc, err := net.ListenPacket("udp", l.UDPAddr)
		if err != nil {
			return nil, fmt.Errorf("sip: udp listener: %w", err)
		}
		s.closers = append(s.closers, pc)
		conn := &lengthCheckConn{PacketConn: pc, s: s}
		out = append(out, listener{network: "udp", addr: pc.LocalAddr(),
			serve: func(srv *sipgo.Server) error { return srv.ServeUDP(conn) }})
	}
	if l.TCPAddr != "" {
		ln, err := net.Listen("tcp", l.TCPAddr)
		if err != nil {
			return nil, fmt.Errorf("sip: tcp listener: %w", err)
		}
		s.closers = append(s.closers, ln)
		limited := &limitListener{Listener: ln, s: s}
		out = append(out, listener{network: "tcp", addr: ln.Addr(),
			serve: func(srv *sipgo.Server) error { return srv.ServeTCP(limited) }})
	}
	if l.TLSAddr != "" && l.TLS.Enabled() {
		cert, err := tls.LoadX509KeyPair(l.TLS.CertFile, l.TLS.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sip: listeners.sip.tls: %w", err)
		}
		ln, err := tls.Listen("tcp", l.TLSAddr, &tls.Config{Certificates: []tls.Certificate{cert},
			MinVersion: tls.VersionTLS12})
		if err != nil {
			return nil, fmt.Errorf("sip: tls listener: %w", err)
		}
		s.closers = append(s.closers, ln)
		limited := &limitListener{Listener: ln, s: s}
		out = append(out, listener{network: "tls", addr: ln.Addr(),
			serve: func(srv *sipgo.Server) error { return srv.ServeTLS(limited) }})
	}
	s.addrs = map[string]net.Addr{}
	for _, l := range out {
		s.addrs[l.network] = l.addr
	}
	return out, nil
}

// host returns the host written in headers optgate generates.
func (s *Server) host(addr net.Addr) string {
	if s.cfg.ExternalHost != "" {
		return s.cfg.ExternalHost
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

func (s *Server) diagoTransport(l listener) diago.Transport {
	host, portText, _ := net.SplitHostPort(l.addr.String())
	port, _ := strconv.Atoi(portText)
	t := diago.Transport{ID: l.network, Transport: l.network, BindHost: host, BindPort: port,
		ExternalHost: s.cfg.ExternalHost}
	if l.network == "tls" {
		// diago reads the TLS setting only to write sips: in Contact; the
		// listener itself is already open.
		t.TLSConf = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return t
}

// newClients builds the clients that send MESSAGE requests to PBXs: one
// that sends UDP from the listener's port, so that responses and the
// peer's view of optgate match, and one for TCP and TLS.
func (s *Server) newClients(libLog *slog.Logger) error {
	var err error
	opts := []sipgo.ClientOption{
		sipgo.WithClientHostname(s.hostname),
		sipgo.WithClientLogger(libLog),
	}
	if s.tcpClient, err = sipgo.NewClient(s.ua, opts...); err != nil {
		return fmt.Errorf("sip: client: %w", err)
	}
	if a, ok := s.addrs["udp"]; ok {
		udpOpts := append(opts, sipgo.WithClientConnectionAddr(a.String()))
		if s.udpClient, err = sipgo.NewClient(s.ua, udpOpts...); err != nil {
			return fmt.Errorf("sip: client: %w", err)
		}
	}
	return nil
}

// Failed returns a channel that receives the error of a listener that
// stopped serving before Stop. The caller should then stop the server.
func (s *Server) Failed() <-chan error { return s.failed }

// Addr returns the address of the listener of network "udp", "tcp" or
// "tls", or nil when it does not listen.
func (s *Server) Addr(network string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[network]
}

func (s *Server) addrFields() []zap.Field {
	var fields []zap.Field
	for _, n := range []string{"udp", "tcp", "tls"} {
		if a, ok := s.addrs[n]; ok {
			fields = append(fields, zap.Stringer(n+"_addr", a))
		}
	}
	return fields
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// begin registers a request handler or call with Stop. It reports false
// once Stop has begun.
func (s *Server) begin() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || !s.started {
		return false
	}
	s.work.Add(1)
	return true
}

// Stop stops the server in phases: new requests and calls get 503, calls
// in progress end (a voicemail being recorded is kept) and requests in
// progress finish, then the listeners close. It returns when everything
// stopped or ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}

	begin := time.Now()
	s.calls.endAll()
	drained := waitGroup(ctx, &s.work)
	// Requests still running see the canceled context and return.
	s.runCancel()
	s.mu.Lock()
	err := s.closeLocked()
	s.mu.Unlock()
	if !drained || !waitGroup(ctx, &s.serveWG) {
		return errors.Join(err, fmt.Errorf("sip: stop: %w", ctx.Err()))
	}
	s.log.Info("sip server stopped", zap.Duration("took", time.Since(begin)))
	return err
}

// closeLocked closes the listeners and the user agent.
func (s *Server) closeLocked() error {
	var errs []error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.closers = nil
	if s.ua != nil {
		if err := s.ua.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.runCancel != nil {
		s.runCancel()
	}
	return errors.Join(errs...)
}

// waitGroup waits for wg or the end of ctx, and reports whether wg
// finished.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}
