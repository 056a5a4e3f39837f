package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Server defaults, used where Server leaves a field zero.
const (
	DefaultInactivityTimeout = 2 * time.Minute
	// DefaultAddr is the SMPP port that IANA registers (2775/tcp).
	DefaultAddr = ":2775"
)

// BindRequest contains the fields of a bind request that an
// Authenticator checks, and the ESME's network address.
type BindRequest struct {
	SystemID         string
	Password         string
	SystemType       string
	BindType         BindType
	InterfaceVersion uint8
	AddrTON          TON
	AddrNPI          NPI
	AddressRange     string
	RemoteAddr       net.Addr
}

// Authenticator decides whether to accept a bind. It returns StatusOK to
// accept, or the command_status to reject with, such as
// StatusInvalidPassword or StatusInvalidSystemID. It runs before any other
// PDU of the connection is read. A panic in it rejects the bind with
// ESME_RSYSERR and closes the connection.
type Authenticator interface {
	Authenticate(ctx context.Context, req BindRequest) CommandStatus
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(ctx context.Context, req BindRequest) CommandStatus

// Authenticate calls f.
func (f AuthenticatorFunc) Authenticate(ctx context.Context, req BindRequest) CommandStatus {
	return f(ctx, req)
}

// Handler handles submit_sm, data_sm, submit_multi, query_sm, cancel_sm and
// replace_sm from a bound ESME and returns the response, such as a
// *SubmitSMResp with a message id, or NewResponse(req, status) to reject
// it. The server sets the response's sequence number. Requests run on
// handler goroutines of their own, at most Server.InboundWindow at a time
// per session, so the handler may answer only after, for example, a
// carrier accepted the message. A session keeps its handler goroutines
// until it closes and reuses them for later requests. ctx ends when the session closes. When the handler returns
// nil or a response of the wrong type, or panics, the server responds with
// ESME_RSYSERR.
type Handler interface {
	ServeSMPP(ctx context.Context, sess *ServerSession, req PDU) PDU
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, sess *ServerSession, req PDU) PDU

// ServeSMPP calls f.
func (f HandlerFunc) ServeSMPP(ctx context.Context, sess *ServerSession, req PDU) PDU {
	return f(ctx, sess, req)
}

// Server is an SMSC-side SMPP 3.4 server. Set its fields, then call
// ListenAndServe or Serve. Fields must not change after serving starts.
// Zero fields take the default given in their comment.
type Server struct {
	// Addr is the TCP address to listen on. Default: ":2775".
	Addr string
	// TLSConfig, when set, makes Serve and ListenAndServe speak TLS.
	TLSConfig *tls.Config
	// SystemID is the server's system_id in bind responses, at most 15
	// characters. Default: empty.
	SystemID string
	// Authenticator accepts or rejects binds. When nil, every bind is
	// rejected with ESME_RBINDFAIL.
	Authenticator Authenticator
	// Handler handles requests from bound ESMEs. When nil, the server
	// responds to every request with ESME_RSYSERR.
	Handler Handler

	// MaxBindsPerSystemID limits the sessions bound at once with one
	// system_id. A bind beyond it gets ESME_RBINDFAIL. Default: 0, no limit.
	MaxBindsPerSystemID int
	// WindowSize is the number of deliver_sm and other server requests
	// that may wait for the ESME's response at once, per session. Default:
	// 10.
	WindowSize int
	// InboundWindow is the number of requests per session the Handler runs
	// at once. Requests beyond it get ESME_RTHROTTLED. Default: 10.
	InboundWindow int
	// ResponseTimeout is how long a server request waits for the ESME's
	// response. Default: 10s.
	ResponseTimeout time.Duration
	// InactivityTimeout closes a bound connection that sends no PDU for
	// this long, and a connection that has not bound this long after it
	// was accepted, whatever it sent. A negative value disables it.
	// Default: 2 minutes.
	InactivityTimeout time.Duration
	// EnquireLinkInterval is the time between the server's enquire_link
	// requests to a bound ESME; one unanswered within EnquireLinkTimeout
	// closes the session. Default: 0, none, because ESMEs send their own.
	EnquireLinkInterval time.Duration
	// EnquireLinkTimeout defaults to ResponseTimeout.
	EnquireLinkTimeout time.Duration
	// WriteTimeout bounds each write to a connection: a write that cannot
	// finish within WriteTimeout, or at most a quarter longer, fails and
	// closes the session. Default: 10s.
	WriteTimeout time.Duration
	// MaxCommandLength is the largest PDU accepted, in octets. Default:
	// DefaultMaxCommandLength (64 KiB).
	MaxCommandLength int
	// MaxConnections limits the connections open at once, bound or not.
	// A connection beyond it is closed as soon as it is accepted, before
	// anything is read from it. Default: 0, no limit.
	MaxConnections int
	// MaxUnbound limits the connections open at once that have not bound
	// yet, so that peers which connect and never bind cannot take every
	// connection until InactivityTimeout closes them. A connection beyond
	// it is closed as soon as it is accepted. Default: 0, no limit.
	MaxUnbound int
	// MaxUnboundPerSource limits the connections not bound yet from one
	// IP address, so that one peer cannot take the whole MaxUnbound
	// budget and lock every other peer out. A connection beyond it is
	// closed as soon as it is accepted. Default: 0, no limit.
	MaxUnboundPerSource int
	// BindTimeout closes a connection that has not bound this long after
	// it was accepted. SMPP 3.4 section 7.2 leaves this session_init_timer
	// to the implementation. Default: 0, only InactivityTimeout applies.
	BindTimeout time.Duration

	// Logger receives the server's logs. Per-PDU logs are at Debug level.
	// Default: zap.NewNop().
	Logger *zap.Logger
	// Hooks are callbacks for metrics.
	Hooks Hooks

	mu         sync.Mutex
	listeners  map[*net.Listener]struct{}
	sessions   map[*ServerSession]struct{}
	binds      map[string]int // bound sessions per system_id
	unbound    int            // sessions accepted and not yet bound
	perSource  map[string]int // unbound sessions per source IP address
	limitLog   time.Time      // when a connection limit was last logged
	inShutdown bool
	ctx        context.Context // parent of the sessions' contexts
	cancel     context.CancelFunc
	conns      sync.WaitGroup // one per connection goroutine
	serving    sync.WaitGroup // one per Serve call
}

// ServerSession is one ESME connection to a Server.
type ServerSession struct {
	srv  *Server
	s    *session
	bind BindRequest // set once bound, guarded by s.mu
	// counted is set when the bind counts against MaxBindsPerSystemID.
	// Guarded by srv.mu.
	counted bool
	// unbound is set while the session counts against MaxUnbound.
	// Guarded by srv.mu.
	unbound bool
	// source is the peer's IP address, the key of srv.perSource.
	source string
	// bindTimer closes the session when it has not bound within
	// Server.BindTimeout; nil without one.
	bindTimer *time.Timer
}

// SystemID returns the system_id the ESME bound with, or "" before the bind.
func (ss *ServerSession) SystemID() string { return ss.s.getSystemID() }

// BindType returns the type of the ESME's bind. It is meaningful only once
// the session is bound.
func (ss *ServerSession) BindType() BindType {
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	return ss.bind.BindType
}

// RemoteAddr returns the ESME's network address.
func (ss *ServerSession) RemoteAddr() net.Addr { return ss.s.conn.RemoteAddr() }

// State returns the session state.
func (ss *ServerSession) State() SessionState { return ss.s.State() }

// InFlight returns the number of slots of the session's window in use: the
// deliver_sm and data_sm sent to the ESME, or about to be sent, whose
// response the sender has not collected yet. It is at most
// Server.WindowSize. A request waiting for a free slot is not counted.
func (ss *ServerSession) InFlight() int { return ss.s.out.inUse() }

// WindowSize returns the number of deliver_sm and data_sm the session
// keeps in flight at once: Server.WindowSize, or its default.
func (ss *ServerSession) WindowSize() int { return ss.s.out.size() }

// Deliver sends a deliver_sm to the ESME and returns its response. It
// sets d's sequence number. It waits for a slot in the session's window
// until ctx ends, and for the response up to Server.ResponseTimeout. A
// response with an error status is returned with a *StatusError holding
// the ESME's status. An ESME bound as transmitter cannot receive: the
// error then wraps ErrNotBound and nothing is sent.
func (ss *ServerSession) Deliver(ctx context.Context, d *DeliverSM) (*DeliverSMResp, error) {
	return typedResponse[*DeliverSMResp](ss.Request(ctx, d))
}

// DataSM sends a data_sm to the ESME and returns its response, as Deliver
// does.
func (ss *ServerSession) DataSM(ctx context.Context, d *DataSM) (*DataSMResp, error) {
	return typedResponse[*DataSMResp](ss.Request(ctx, d))
}

// Request sends deliver_sm, data_sm or alert_notification to the ESME.
// alert_notification has no response, so Request returns nil, nil once
// it is written. An ESME_RINVBNDSTS response that arrives once an unbind
// has started comes with an error that matches ErrNotBound and the
// *StatusError, as in Client.Request. See Deliver.
func (ss *ServerSession) Request(ctx context.Context, req PDU) (PDU, error) {
	p, err := ss.Send(ctx, req)
	if err != nil || p == nil {
		return nil, err
	}
	return p.Wait(ctx)
}

// Send writes deliver_sm, data_sm or alert_notification to the ESME and
// returns without waiting for the response, which the returned
// PendingResponse collects. Like Request it first waits for a slot in the
// session's window until ctx ends, and the slot stays taken until Wait
// returns, so the caller must call Wait once for every PendingResponse.
// Requests sent one after another from one goroutine go out in that
// order. For alert_notification, which has no response, Send returns a
// nil PendingResponse once it is written.
func (ss *ServerSession) Send(ctx context.Context, req PDU) (*PendingResponse, error) {
	id := req.CommandID()
	switch id {
	case DeliverSMID, DataSMID, AlertNotificationID:
	default:
		return nil, fmt.Errorf("smpp: %v cannot be sent by a server", id)
	}
	if state := ss.State(); !state.canReceive() {
		if state == SessionClosed {
			return nil, fmt.Errorf("smpp: %v not sent: %w", id, ss.s.err())
		}
		return nil, fmt.Errorf("%w: %v not sent to an ESME in state %v", ErrNotBound, id, state)
	}
	if id == AlertNotificationID {
		if _, _, err := ss.s.register(req, true); err != nil {
			return nil, err
		}
		ss.s.unregister(req.PDUHeader().SequenceNumber)
		return nil, ss.s.write(req)
	}
	p, err := ss.s.send(ctx, req, true, nil)
	if err != nil {
		return nil, err
	}
	return &PendingResponse{p: p}, nil
}

// PendingResponse is the response to a request that ServerSession.Send
// wrote.
type PendingResponse struct {
	p *sentRequest
}

// Wait waits for the response up to Server.ResponseTimeout, or until ctx
// ends or the session closes, and frees the request's window slot. Its
// results are those of Request.
func (r *PendingResponse) Wait(ctx context.Context) (PDU, error) {
	s := r.p.s
	resp, err := r.p.wait(ctx, s.cfg.responseTimeout)
	return resp, s.crossedUnbind(r.p.req, resp, err)
}

// Unbind sends unbind to the ESME, waits for unbind_resp and for running
// handlers until ctx ends, and closes the session.
func (ss *ServerSession) Unbind(ctx context.Context) error { return ss.s.unbind(ctx) }

// Close closes the connection at once. Requests in flight fail with
// ErrClosed.
func (ss *ServerSession) Close() error {
	ss.s.close(errors.New("closed by the server"))
	return nil
}

// Connections returns the number of connections open now and how many of
// them have not bound yet.
func (srv *Server) Connections() (open, unbound int) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return len(srv.sessions), srv.unbound
}

// Sessions returns the sessions that are bound now.
func (srv *Server) Sessions() []*ServerSession {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	out := make([]*ServerSession, 0, len(srv.sessions))
	for ss := range srv.sessions {
		if ss.State().Bound() {
			out = append(out, ss)
		}
	}
	return out
}

// ListenAndServe listens on srv.Addr and calls Serve. It always returns an
// error, ErrServerClosed after Shutdown or Close.
func (srv *Server) ListenAndServe() error {
	if srv.shuttingDown() {
		return ErrServerClosed
	}
	addr := srv.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("smpp: listen on %s: %w", addr, err)
	}
	return srv.Serve(l)
}

// Serve accepts connections on l and serves each on its own goroutine,
// wrapping l in TLS when TLSConfig is set. It retries temporary accept
// errors after a delay that doubles from 5 ms up to 1 s. Serve always
// returns an error, ErrServerClosed after Shutdown or Close, and closes l.
// A negative size or duration, or a SystemID that no bind response can
// carry, makes it return at once with an error wrapping ErrInvalidConfig.
func (srv *Server) Serve(l net.Listener) error {
	if err := srv.validate(); err != nil {
		_ = l.Close()
		return err
	}
	if srv.TLSConfig != nil {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	if !srv.trackListener(&l) {
		_ = l.Close()
		return ErrServerClosed
	}
	defer srv.serving.Done()
	defer srv.untrackListener(&l)

	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if srv.shuttingDown() {
				return ErrServerClosed
			}
			if !isTemporary(err) {
				return fmt.Errorf("smpp: accept: %w", err)
			}
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			srv.logger().Warn("accept failed, retrying", zap.Error(err), zap.Duration("delay", delay))
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !srv.startConn(conn) {
			_ = conn.Close()
		}
	}
}

// validate checks the fields that would otherwise fail later on every
// connection: a negative size or duration, and a system_id that no bind
// response can carry (SMPP 3.4 section 4.1.2).
func (srv *Server) validate() error {
	counts := []struct {
		name  string
		value int
	}{
		{"window_size", srv.WindowSize},
		{"inbound_window", srv.InboundWindow},
		{"max_binds_per_system_id", srv.MaxBindsPerSystemID},
		{"max_connections", srv.MaxConnections},
		{"max_unbound", srv.MaxUnbound},
		{"max_unbound_per_source", srv.MaxUnboundPerSource},
	}
	for _, c := range counts {
		if c.value < 0 {
			return fmt.Errorf("%w: %s is %d, want 0 for the default or a positive number",
				ErrInvalidConfig, c.name, c.value)
		}
	}
	durations := []struct {
		name  string
		value time.Duration
	}{
		{"response_timeout", srv.ResponseTimeout},
		{"enquire_link_timeout", srv.EnquireLinkTimeout},
		{"write_timeout", srv.WriteTimeout},
		{"bind_timeout", srv.BindTimeout},
	}
	for _, d := range durations {
		if d.value < 0 {
			return fmt.Errorf("%w: %s is %v, want 0 for the default or a positive duration",
				ErrInvalidConfig, d.name, d.value)
		}
	}
	if len(srv.SystemID) > maxSystemID-1 {
		return fmt.Errorf("%w: system_id is %d characters, the maximum is %d (SMPP 3.4 section 4.1.2)",
			ErrInvalidConfig, len(srv.SystemID), maxSystemID-1)
	}
	if strings.IndexByte(srv.SystemID, 0) >= 0 {
		return fmt.Errorf("%w: system_id contains a NUL character", ErrInvalidConfig)
	}
	return nil
}

// isTemporary reports whether an accept error may go away by itself, such
// as running out of file descriptors.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (srv *Server) logger() *zap.Logger {
	if srv.Logger == nil {
		return zap.NewNop()
	}
	return srv.Logger
}

// init sets up the server's maps and context on first use. The caller
// holds srv.mu.
func (srv *Server) initLocked() {
	if srv.sessions != nil {
		return
	}
	srv.listeners = make(map[*net.Listener]struct{})
	srv.sessions = make(map[*ServerSession]struct{})
	srv.binds = make(map[string]int)
	srv.perSource = make(map[string]int)
	// The server owns its sessions' lifetime: Shutdown and Close end this
	// context, and nothing above the server does.
	srv.ctx, srv.cancel = context.WithCancel(context.Background())
}

func (srv *Server) trackListener(l *net.Listener) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.initLocked()
	if srv.inShutdown {
		return false
	}
	srv.listeners[l] = struct{}{}
	srv.serving.Add(1)
	return true
}

func (srv *Server) untrackListener(l *net.Listener) {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if _, ok := srv.listeners[l]; ok {
		delete(srv.listeners, l)
		_ = (*l).Close()
	}
}

func (srv *Server) shuttingDown() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.inShutdown
}

func (srv *Server) sessionConfig() sessionConfig {
	idle := srv.InactivityTimeout
	switch {
	case idle == 0:
		idle = DefaultInactivityTimeout
	case idle < 0:
		idle = 0
	}
	cfg := sessionConfig{
		window:           srv.WindowSize,
		inboundWindow:    srv.InboundWindow,
		responseTimeout:  srv.ResponseTimeout,
		enquireInterval:  max(srv.EnquireLinkInterval, 0),
		enquireTimeout:   srv.EnquireLinkTimeout,
		idleTimeout:      idle,
		writeTimeout:     srv.WriteTimeout,
		maxCommandLength: srv.MaxCommandLength,
		hooks:            srv.Hooks,
	}
	setDefault(&cfg.window, DefaultWindowSize)
	setDefault(&cfg.inboundWindow, DefaultInboundWindow)
	setDefault(&cfg.responseTimeout, DefaultResponseTimeout)
	setDefault(&cfg.enquireTimeout, cfg.responseTimeout)
	setDefault(&cfg.writeTimeout, DefaultWriteTimeout)
	return cfg
}

// startConn registers a new connection and starts its goroutine.
func (srv *Server) startConn(conn net.Conn) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.inShutdown {
		return false
	}
	source := sourceOf(conn.RemoteAddr())
	if limit, over := srv.overLimitLocked(source); over {
		srv.logLimitLocked(conn.RemoteAddr(), limit)
		return false
	}
	ss := &ServerSession{srv: srv, unbound: true, source: source}
	srv.unbound++
	srv.perSource[source]++
	s := newSession(srv.ctx, conn, srv.sessionConfig(), srv.logger())
	s.admit = srv.admit
	s.serve = func(ctx context.Context, req PDU) PDU {
		if srv.Handler == nil {
			return NewResponse(req, StatusSystemError)
		}
		return srv.Handler.ServeSMPP(ctx, ss, req)
	}
	s.bind = ss.handleBind
	ss.s = s
	if d := srv.BindTimeout; d > 0 {
		ss.bindTimer = time.AfterFunc(d, func() { ss.bindExpired(d) })
	}
	srv.sessions[ss] = struct{}{}
	srv.conns.Add(1)
	go srv.serveConn(ss)
	return true
}

// bindExpired closes the session when it is still waiting for its bind
// once BindTimeout has passed.
func (ss *ServerSession) bindExpired(d time.Duration) {
	if ss.State() == SessionOpen {
		ss.s.close(fmt.Errorf("%w: not bound within %v of connecting", ErrIdleTimeout, d))
	}
}

// sourceOf returns the IP address of a peer, or the whole address when it
// has no port.
func sourceOf(addr net.Addr) string {
	if addr == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	return host
}

// serveConn runs the session's read loop, then waits for the session's
// other goroutines and removes the session from the server.
func (srv *Server) serveConn(ss *ServerSession) {
	defer srv.conns.Done()
	ss.s.logger().Debug("connection accepted")
	ss.s.readLoop()
	if ss.bindTimer != nil {
		ss.bindTimer.Stop()
	}
	ss.s.wait()

	id := ss.SystemID()
	srv.mu.Lock()
	delete(srv.sessions, ss)
	srv.boundLocked(ss)
	if ss.counted {
		srv.binds[id]--
		if srv.binds[id] <= 0 {
			delete(srv.binds, id)
		}
	}
	srv.mu.Unlock()
}

// overLimitLocked reports whether a new connection from source would
// pass MaxConnections, MaxUnboundPerSource or MaxUnbound, and the name of
// the limit it would pass.
func (srv *Server) overLimitLocked(source string) (string, bool) {
	switch {
	case srv.MaxConnections > 0 && len(srv.sessions) >= srv.MaxConnections:
		return "max_connections", true
	case srv.MaxUnboundPerSource > 0 && srv.perSource[source] >= srv.MaxUnboundPerSource:
		return "max_unbound_per_source", true
	case srv.MaxUnbound > 0 && srv.unbound >= srv.MaxUnbound:
		return "max_unbound", true
	}
	return "", false
}

// logLimitLocked logs a connection closed by a limit, at most once a
// second, because a flood of connections would flood the log too.
func (srv *Server) logLimitLocked(remote net.Addr, limit string) {
	now := time.Now()
	if now.Sub(srv.limitLog) < time.Second {
		return
	}
	srv.limitLog = now
	srv.logger().Warn("connection closed at accept: connection limit reached",
		zap.Stringer("remote_addr", remote),
		zap.String("limit", limit),
		zap.Int("connections", len(srv.sessions)),
		zap.Int("unbound", srv.unbound))
}

// boundLocked stops counting ss against MaxUnbound, once it is bound or
// closed.
func (srv *Server) boundLocked(ss *ServerSession) {
	if ss.unbound {
		ss.unbound = false
		srv.unbound--
		if srv.perSource[ss.source]--; srv.perSource[ss.source] <= 0 {
			delete(srv.perSource, ss.source)
		}
	}
}

// admit enforces the bind states of SMPP 3.4 section 2.3 on the requests
// an ESME sends other than binds. Before a bind, every request gets
// ESME_RINVBNDSTS. A bound ESME may send enquire_link and unbind, also
// while an unbind is under way, and submit_sm, submit_multi, data_sm,
// query_sm, cancel_sm and replace_sm only when bound as transmitter or
// transceiver. Everything else gets ESME_RINVBNDSTS.
func (srv *Server) admit(state SessionState, req PDU) CommandStatus {
	if !state.Bound() && state != SessionUnbinding {
		return StatusInvalidBindStatus
	}
	switch req.CommandID() {
	case EnquireLinkID, UnbindID:
		return StatusOK
	case SubmitSMID, SubmitMultiID, DataSMID, QuerySMID, CancelSMID, ReplaceSMID:
		if state.canSubmit() {
			return StatusOK
		}
	}
	return StatusInvalidBindStatus
}

// handleBind responds to a bind on the read loop. A bind on a bound session
// gets ESME_RALYBND and the session stays up. A rejected bind gets its
// status and the connection closes, so a peer cannot try passwords
// without reconnecting.
func (ss *ServerSession) handleBind(req PDU) bool {
	srv := ss.srv
	if state := ss.State(); state != SessionOpen {
		ss.s.reject(req, StatusAlreadyBound)
		return true
	}
	br := bindRequestOf(req, ss.RemoteAddr())
	status := StatusBindFailed
	if srv.Authenticator != nil && !srv.shuttingDown() {
		status = ss.authenticate(br)
	}
	if status == StatusOK && !srv.countBind(ss, br.SystemID) {
		ss.s.logger().Warn("bind rejected: too many binds for this system_id",
			zap.String("system_id", br.SystemID), zap.Int("limit", srv.MaxBindsPerSystemID))
		status = StatusBindFailed
	}

	resp := NewResponse(req, status)
	if status == StatusOK {
		setBindRespFields(resp, srv.SystemID, br.InterfaceVersion)
		ss.s.mu.Lock()
		ss.bind = br
		ss.s.mu.Unlock()
		ss.s.setSystemID(br.SystemID)
		// Bound before the response goes out, so that Sessions lists the
		// session by the time the ESME learns it is bound.
		ss.s.setState(br.BindType.State())
	}
	if err := ss.s.write(resp); err != nil {
		// A write error has closed the session already, but an encode
		// error has not, and the ESME must not wait for a response that
		// never comes.
		ss.s.close(fmt.Errorf("bind response not sent: %w", err))
		return false
	}
	if status != StatusOK {
		ss.s.logger().Info("bind rejected",
			zap.String("system_id", br.SystemID), zap.Stringer("command_status", status))
		ss.s.close(fmt.Errorf("bind of %q rejected with %v", br.SystemID, status))
		return false
	}
	ss.s.startEnquireLink()
	return true
}

// authenticate runs the Authenticator and turns a panic into
// ESME_RSYSERR, so that one bad bind cannot stop the process.
func (ss *ServerSession) authenticate(br BindRequest) (status CommandStatus) {
	defer func() {
		if r := recover(); r != nil {
			ss.s.logger().Error("authenticator panicked",
				zap.String("system_id", br.SystemID),
				zap.Any("panic", r),
				zap.ByteString("stack", debug.Stack()))
			status = StatusSystemError
		}
	}()
	return ss.srv.Authenticator.Authenticate(ss.s.ctx, br)
}

// countBind counts a successful bind against the system_id's limit and
// returns false when the limit is reached.
func (srv *Server) countBind(ss *ServerSession, systemID string) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.MaxBindsPerSystemID > 0 && srv.binds[systemID] >= srv.MaxBindsPerSystemID {
		return false
	}
	srv.binds[systemID]++
	ss.counted = true
	srv.boundLocked(ss)
	return true
}

func bindRequestOf(req PDU, remote net.Addr) BindRequest {
	var b *BindTransmitter
	bt, _ := bindTypeOf(req.CommandID())
	switch v := req.(type) {
	case *BindTransmitter:
		b = v
	case *BindReceiver:
		b = (*BindTransmitter)(v)
	case *BindTransceiver:
		b = (*BindTransmitter)(v)
	}
	return BindRequest{
		SystemID:         b.SystemID,
		Password:         b.Password,
		SystemType:       b.SystemType,
		BindType:         bt,
		InterfaceVersion: b.InterfaceVersion,
		AddrTON:          b.AddrTON,
		AddrNPI:          b.AddrNPI,
		AddressRange:     b.AddressRange,
		RemoteAddr:       remote,
	}
}

// setBindRespFields fills a successful bind response: the server's
// system_id and, for an ESME that speaks SMPP 3.4 or later, the
// sc_interface_version TLV (SMPP 3.4 section 5.3.2.25).
func setBindRespFields(resp PDU, systemID string, esmeVersion uint8) {
	var r *BindTransmitterResp
	switch v := resp.(type) {
	case *BindTransmitterResp:
		r = v
	case *BindReceiverResp:
		r = (*BindTransmitterResp)(v)
	case *BindTransceiverResp:
		r = (*BindTransmitterResp)(v)
	default:
		return
	}
	r.SystemID = systemID
	if esmeVersion >= InterfaceVersion34 {
		r.TLVs.SetSCInterfaceVersion(InterfaceVersion34)
	}
}

// Shutdown stops the server gracefully. It closes the listeners, sends
// unbind to every bound session and waits for the unbind_resp and for the
// running handlers. It lets unbinds already under way finish, closes
// sessions that never bound, and waits for every connection goroutine.
// When ctx ends first, it closes what is left and returns ctx's error.
func (srv *Server) Shutdown(ctx context.Context) error {
	sessions := srv.beginShutdown()

	var wg sync.WaitGroup
	for _, ss := range sessions {
		switch state := ss.State(); {
		case state == SessionUnbinding:
			// An unbind under way closes the session itself once the
			// running handlers have sent their responses.
			continue
		case !state.Bound():
			ss.s.close(errors.New("server shutting down"))
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ss.Unbind(ctx); err != nil {
				ss.s.logger().Warn("unbind at shutdown failed", zap.Error(err))
			}
		}()
	}
	wg.Wait()

	done := make(chan struct{})
	go func() {
		srv.conns.Wait()
		srv.serving.Wait()
		close(done)
	}()
	// An unbind cut off by ctx closes its session, so done can be ready at
	// the same moment as ctx.Done(). Checking ctx first keeps the result
	// from depending on which case select picks.
	if ctx.Err() == nil {
		select {
		case <-done:
			srv.cancelSessions()
			return nil
		case <-ctx.Done():
		}
	}
	srv.closeAll()
	<-done
	return fmt.Errorf("smpp: shutdown: %w", ctx.Err())
}

// Close closes the listeners and every connection at once, then waits for
// the connection goroutines. Handlers see their context cancelled.
func (srv *Server) Close() error {
	srv.beginShutdown()
	srv.closeAll()
	srv.conns.Wait()
	srv.serving.Wait()
	return nil
}

// beginShutdown marks the server as shutting down, closes the listeners
// and returns the sessions open now.
func (srv *Server) beginShutdown() []*ServerSession {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	srv.initLocked()
	srv.inShutdown = true
	for l := range srv.listeners {
		_ = (*l).Close()
		delete(srv.listeners, l)
	}
	out := make([]*ServerSession, 0, len(srv.sessions))
	for ss := range srv.sessions {
		out = append(out, ss)
	}
	return out
}

func (srv *Server) closeAll() {
	srv.mu.Lock()
	sessions := make([]*ServerSession, 0, len(srv.sessions))
	for ss := range srv.sessions {
		sessions = append(sessions, ss)
	}
	srv.mu.Unlock()
	srv.cancelSessions()
	for _, ss := range sessions {
		ss.s.close(errors.New("server closed"))
	}
}

func (srv *Server) cancelSessions() {
	srv.mu.Lock()
	cancel := srv.cancel
	srv.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}
