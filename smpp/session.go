package smpp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// sessionConfig holds the settings a Client or Server hands to each of its
// sessions, with defaults already applied.
type sessionConfig struct {
	window           int           // outgoing requests in flight
	inboundWindow    int           // incoming requests handled at once
	responseTimeout  time.Duration // per outgoing request
	enquireInterval  time.Duration // 0 disables enquire_link
	enquireTimeout   time.Duration
	idleTimeout      time.Duration // 0 disables the inactivity timeout
	writeTimeout     time.Duration
	maxCommandLength int
	hooks            Hooks
	// probeOnTimeout makes a windowed request that times out send an
	// enquire_link at once (see probeLink).
	probeOnTimeout bool
}

// session is one SMPP connection. Client and Server build on it: it frames
// and decodes PDUs, matches responses to requests by sequence number,
// bounds the requests in flight in each direction, responds to
// enquire_link and unbind, sends enquire_link at an interval and closes the connection
// when the peer stops answering.
//
// Goroutines: the read loop, the enquire_link loop, up to the inbound
// window of handler goroutines and one while an unbind from the peer
// drains. All are counted in wg, except a read loop that the server runs
// on the connection's own goroutine.
type session struct {
	cfg  sessionConfig
	conn net.Conn
	log  atomic.Pointer[zap.Logger]
	fr   *FrameReader

	writeMu sync.Mutex
	fw      *FrameWriter
	// writeDeadline is the write deadline last set on conn, under writeMu.
	writeDeadline time.Time

	// work hands admitted requests to idle handler goroutines. workers
	// counts the handler goroutines started, under mu; they stay until the
	// session closes and never outnumber the inbound window.
	work    chan PDU
	workers int

	seq Sequencer
	out *window // outgoing requests waiting for a response
	in  *window // incoming requests being handled

	mu      sync.Mutex
	pending map[uint32]*call
	state   SessionState
	// selfUnbind is set when this side started the unbind.
	selfUnbind bool
	systemID   string
	closeErr   error

	opened time.Time     // when the connection was handed to the session
	done   chan struct{} // closed when the session closes
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// probing is set while probeLink waits for an enquire_link_resp.
	probing atomic.Bool

	// Set by the owner before the read loop starts.

	// admit returns the status to respond with to an incoming request in
	// the given state, or StatusOK to handle it. Binds go to bind instead.
	admit func(state SessionState, req PDU) CommandStatus
	// serve handles an admitted request on its own goroutine and returns
	// the response, or nil for alert_notification.
	serve func(ctx context.Context, req PDU) PDU
	// bind handles a bind request on the read loop. It is nil in a client,
	// which then rejects binds through admit. It returns false when the
	// session must close.
	bind func(req PDU) bool
}

// call is an outgoing request waiting for its response.
type call struct {
	resp chan result // buffered, receives exactly one result
	// onResponse, when set, runs on the read loop when the response
	// arrives, before the next PDU is read.
	onResponse func(PDU)
}

// result is a response, or the decode error of a response that arrived
// but did not decode.
type result struct {
	pdu PDU
	err error
}

// newSession wraps conn. ctx is the parent of the context handlers get.
func newSession(ctx context.Context, conn net.Conn, cfg sessionConfig, logger *zap.Logger) *session {
	s := &session{
		cfg:     cfg,
		conn:    conn,
		fr:      NewFrameReader(conn, cfg.maxCommandLength),
		fw:      NewFrameWriter(conn),
		out:     newWindow(cfg.window),
		in:      newWindow(cfg.inboundWindow),
		work:    make(chan PDU),
		pending: make(map[uint32]*call),
		opened:  time.Now(),
		done:    make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(ctx)
	s.log.Store(logger.With(zap.Stringer("remote_addr", conn.RemoteAddr())))
	return s
}

func (s *session) logger() *zap.Logger { return s.log.Load() }

// State returns the session's current state.
func (s *session) State() SessionState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *session) isClosed() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// err returns the reason the session closed, or nil while it is open.
func (s *session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closeErr
}

// setState moves the session to state unless it is closed.
func (s *session) setState(state SessionState) {
	s.mu.Lock()
	if s.state == SessionClosed || s.state == state {
		s.mu.Unlock()
		return
	}
	s.state = state
	id := s.systemID
	s.mu.Unlock()
	s.logger().Info("session state changed", zap.Stringer("state", state))
	if f := s.cfg.hooks.BindStateChanged; f != nil {
		f(id, state, nil)
	}
}

// setSystemID records the ESME's system_id for logs and hooks.
func (s *session) setSystemID(id string) {
	s.mu.Lock()
	s.systemID = id
	s.mu.Unlock()
	s.log.Store(s.logger().With(zap.String("system_id", id)))
}

func (s *session) getSystemID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.systemID
}

// close ends the session with cause: it fails every waiting request,
// cancels the handlers' context and closes the connection. Deadlines in
// the past wake a read or write blocked on the connection. Only the first
// call has an effect.
func (s *session) close(cause error) {
	s.mu.Lock()
	if s.state == SessionClosed {
		s.mu.Unlock()
		return
	}
	s.state = SessionClosed
	s.closeErr = &closeError{cause: cause}
	id := s.systemID
	err := s.closeErr
	s.mu.Unlock()

	s.cancel()
	close(s.done)
	_ = s.conn.SetDeadline(time.Now())
	_ = s.conn.Close()

	if errors.Is(cause, ErrUnbound) {
		s.logger().Info("session closed", zap.Error(err))
	} else {
		s.logger().Warn("session closed", zap.Error(err))
	}
	if f := s.cfg.hooks.BindStateChanged; f != nil {
		f(id, SessionClosed, err)
	}
}

// wait blocks until every goroutine the session started has returned.
func (s *session) wait() { s.wg.Wait() }

// startReadLoop runs the read loop on its own goroutine. A server runs it
// on the connection's goroutine instead.
func (s *session) startReadLoop() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.readLoop()
	}()
}

// request sends req and waits for its response. It sets req's sequence
// number. Requests that count against the window wait for a slot first,
// and need a bound session; binds, unbinds and enquire_links do neither.
// A generic_nack answer is returned with a *StatusError.
func (s *session) request(ctx context.Context, req PDU, timeout time.Duration, windowed bool) (PDU, error) {
	return s.requestThen(ctx, req, timeout, windowed, nil)
}

// requestThen is request that also runs onResponse, when set, on the read
// loop as soon as the response arrives.
func (s *session) requestThen(ctx context.Context, req PDU, timeout time.Duration, windowed bool,
	onResponse func(PDU)) (PDU, error) {
	p, err := s.send(ctx, req, windowed, onResponse)
	if err != nil {
		return nil, err
	}
	return p.wait(ctx, timeout)
}

// sentRequest is a request written to the connection whose response has
// not been collected yet.
type sentRequest struct {
	s        *session
	req      PDU
	seq      uint32
	c        *call
	windowed bool
}

// send takes a window slot when windowed, registers req and writes it. On
// success the caller must call wait, which frees the slot.
func (s *session) send(ctx context.Context, req PDU, windowed bool, onResponse func(PDU)) (*sentRequest, error) {
	if windowed {
		if err := s.out.acquire(ctx, s.done); err != nil {
			if errors.Is(err, errSessionDone) {
				err = s.err()
			}
			return nil, fmt.Errorf("smpp: %v waiting for a window slot: %w", req.CommandID(), err)
		}
		s.windowChanged()
	}
	p, err := s.registerAndWrite(ctx, req, windowed, onResponse)
	if err != nil && windowed {
		s.out.release()
		s.windowChanged()
	}
	return p, err
}

// registerAndWrite registers req as waiting for its response and writes
// it.
func (s *session) registerAndWrite(ctx context.Context, req PDU, windowed bool, onResponse func(PDU)) (*sentRequest, error) {
	// A window slot free at once is taken without looking at ctx, and a
	// request whose caller has given up must not go out.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("smpp: %v not sent: %w", req.CommandID(), err)
	}
	seq, c, err := s.register(req, windowed)
	if err != nil {
		return nil, err
	}
	c.onResponse = onResponse
	if err := s.write(req); err != nil {
		s.unregister(seq)
		return nil, err
	}
	return &sentRequest{s: s, req: req, seq: seq, c: c, windowed: windowed}, nil
}

// wait waits up to timeout for the response of a sent request, or until
// ctx ends or the session closes, and frees its window slot.
func (p *sentRequest) wait(ctx context.Context, timeout time.Duration) (PDU, error) {
	s, req, seq := p.s, p.req, p.seq
	if p.windowed {
		defer func() {
			s.out.release()
			s.windowChanged()
		}()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-p.c.resp:
		return checkResponse(req, r)
	case <-timer.C:
		s.unregister(seq)
		if p.windowed && s.cfg.probeOnTimeout {
			s.probeLink()
		}
		return nil, fmt.Errorf("%w: %v seq %d got none within %v",
			ErrResponseTimeout, req.CommandID(), seq, timeout)
	case <-ctx.Done():
		s.unregister(seq)
		return nil, fmt.Errorf("smpp: %v seq %d: %w", req.CommandID(), seq, ctx.Err())
	case <-s.done:
		// A response that arrived just before the close still counts.
		select {
		case r := <-p.c.resp:
			return checkResponse(req, r)
		default:
		}
		return nil, fmt.Errorf("smpp: %v seq %d got no response: %w", req.CommandID(), seq, s.err())
	}
}

// register assigns req a sequence number that no waiting request uses and
// records it as waiting.
func (s *session) register(req PDU, needBound bool) (uint32, *call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == SessionClosed {
		return 0, nil, fmt.Errorf("smpp: %v not sent: %w", req.CommandID(), s.closeErr)
	}
	if needBound && !s.state.Bound() {
		return 0, nil, fmt.Errorf("%w: %v not sent in state %v", ErrNotBound, req.CommandID(), s.state)
	}
	seq := s.seq.Next()
	for s.pending[seq] != nil {
		seq = s.seq.Next()
	}
	req.PDUHeader().SequenceNumber = seq
	c := &call{resp: make(chan result, 1)}
	s.pending[seq] = c
	return seq, c, nil
}

func (s *session) unregister(seq uint32) {
	s.mu.Lock()
	delete(s.pending, seq)
	s.mu.Unlock()
}

// inFlight returns the number of outgoing requests waiting for a response.
func (s *session) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func (s *session) windowChanged() {
	if f := s.cfg.hooks.WindowInUse; f != nil {
		f(s.getSystemID(), s.out.inUse(), s.out.size())
	}
}

// crossedUnbind returns err, except for an ESME_RINVBNDSTS response that
// arrived once an unbind had started. The peer rejected that request only
// because the request crossed the unbind, so the error matches ErrNotBound
// as well as the *StatusError, and the caller may send it again on another
// bind.
func (s *session) crossedUnbind(req, resp PDU, err error) error {
	if err != nil || resp == nil || resp.PDUHeader().CommandStatus != StatusInvalidBindStatus ||
		s.State().Bound() {
		return err
	}
	return fmt.Errorf("%w: %v rejected during an unbind: %w", ErrNotBound, req.CommandID(), CheckStatus(resp))
}

// checkResponse turns a generic_nack into a *StatusError and rejects a
// response whose type does not answer req.
func checkResponse(req PDU, r result) (PDU, error) {
	if r.err != nil {
		return nil, r.err
	}
	resp := r.pdu
	h := resp.PDUHeader()
	if resp.CommandID() == GenericNACKID {
		return resp, &StatusError{CommandID: GenericNACKID, SequenceNumber: h.SequenceNumber, Status: h.CommandStatus}
	}
	if want, _ := req.CommandID().ResponseID(); resp.CommandID() != want {
		return nil, fmt.Errorf("%w: %v in response to %v seq %d", ErrUnexpectedResponse,
			resp.CommandID(), req.CommandID(), h.SequenceNumber)
	}
	return resp, nil
}

// write encodes p and writes it under the write lock. An encode error
// writes nothing and leaves the session up. A write error closes the
// session, because part of the PDU may have gone out.
func (s *session) write(p PDU) error { return s.writeAfter(p, nil) }

// writeAfter is write that first calls before, if set, under the write
// lock.
func (s *session) writeAfter(p PDU, before func()) error {
	s.writeMu.Lock()
	if before != nil {
		before()
	}
	s.extendWriteDeadline()
	err := s.fw.WritePDU(p)
	s.writeMu.Unlock()

	if err != nil {
		var ee *EncodeError
		if errors.As(err, &ee) {
			return err
		}
		if !s.isClosed() {
			s.close(fmt.Errorf("write %v: %w", p.CommandID(), err))
		}
		// The close error matches ErrClosed and, when this write closed
		// the session, unwraps to the write error.
		return fmt.Errorf("smpp: write %v: %w", p.CommandID(), s.err())
	}
	h := *p.PDUHeader()
	h.CommandID = p.CommandID()
	s.logPDU("pdu sent", h)
	if f := s.cfg.hooks.PDUSent; f != nil {
		f(s.getSystemID(), h)
	}
	return nil
}

// extendWriteDeadline makes sure the next write has at least writeTimeout
// to complete. Setting a deadline takes a runtime timer lock, so instead
// of a new deadline before every write it moves the deadline to 1.25
// times writeTimeout ahead only once less than writeTimeout is left. Each
// write therefore gets between writeTimeout and 1.25 times writeTimeout,
// and a busy session sets the deadline about once every quarter of
// writeTimeout. The caller holds writeMu.
func (s *session) extendWriteDeadline() {
	if s.cfg.writeTimeout <= 0 {
		return
	}
	now := time.Now()
	if s.writeDeadline.Sub(now) >= s.cfg.writeTimeout {
		return
	}
	s.writeDeadline = now.Add(s.cfg.writeTimeout + s.cfg.writeTimeout/4)
	_ = s.conn.SetWriteDeadline(s.writeDeadline)
}

// respond writes a response. A failure is logged: the session closes
// itself on write errors, and the peer's request then times out.
func (s *session) respond(resp PDU) { s.respondAfter(resp, nil) }

// respondAfter is respond that calls before under the write lock.
func (s *session) respondAfter(resp PDU, before func()) {
	if err := s.writeAfter(resp, before); err != nil && !s.isClosed() {
		s.logger().Error("sending response failed",
			zap.Stringer("command_id", resp.CommandID()),
			zap.Uint32("sequence_number", resp.PDUHeader().SequenceNumber),
			zap.Error(err))
	}
}

func (s *session) logPDU(msg string, h Header) {
	if ce := s.logger().Check(zap.DebugLevel, msg); ce != nil {
		ce.Write(
			zap.Stringer("command_id", h.CommandID),
			zap.Uint32("sequence_number", h.SequenceNumber),
			zap.Stringer("command_status", h.CommandStatus),
		)
	}
}

// readLoop reads and handles PDUs until the session closes. It matches
// responses to their requests and responds to requests itself or hands
// them to a handler goroutine. A slow handler therefore never stops
// responses from being read.
func (s *session) readLoop() {
	for {
		if s.cfg.idleTimeout > 0 {
			_ = s.conn.SetReadDeadline(s.readDeadline())
		}
		frame, err := s.fr.ReadFrame()
		if err != nil {
			s.readFailed(err)
			return
		}
		p, err := DecodePDU(frame)
		if err != nil {
			if !s.decodeFailed(err) {
				return
			}
			continue
		}

		h := *p.PDUHeader()
		s.logPDU("pdu received", h)
		if f := s.cfg.hooks.PDUReceived; f != nil {
			f(s.getSystemID(), h)
		}
		if h.CommandID.IsResponse() {
			s.deliverResponse(p)
			continue
		}
		if !s.handleRequest(p) {
			return
		}
	}
}

// readDeadline returns when the next read times out: one inactivity
// timeout from now once bound, but from the moment the connection opened
// until then, so that a peer cannot hold a connection without binding by
// sending PDUs that are rejected.
func (s *session) readDeadline() time.Time {
	if s.State() == SessionOpen {
		return s.opened.Add(s.cfg.idleTimeout)
	}
	return time.Now().Add(s.cfg.idleTimeout)
}

// readFailed closes the session after a read error. An invalid
// command_length leaves the frame boundary unknown, so the peer gets a
// generic_nack ESME_RINVCMDLEN before the close (SMPP 3.4 section 4.3).
func (s *session) readFailed(err error) {
	if s.isClosed() {
		return
	}
	var de *DecodeError
	var ne net.Error
	switch {
	case errors.As(err, &de):
		s.protocolError(err)
		s.respond(&GenericNACK{Header: Header{CommandStatus: de.Status, SequenceNumber: de.SequenceNumber}})
		s.close(err)
	case errors.As(err, &ne) && ne.Timeout() && s.State() == SessionOpen:
		s.close(fmt.Errorf("%w: not bound within %v of connecting", ErrIdleTimeout, s.cfg.idleTimeout))
	case errors.As(err, &ne) && ne.Timeout():
		s.close(fmt.Errorf("%w (%v)", ErrIdleTimeout, s.cfg.idleTimeout))
	case errors.Is(err, io.EOF):
		// TODO: a peer that only half-closed still reads, but the running
		// handlers lose their responses, because a half-close looks like a
		// close here.
		s.close(errors.New("connection closed by the peer"))
	default:
		s.close(fmt.Errorf("read: %w", err))
	}
}

// decodeFailed answers a well-framed PDU that did not decode and returns
// whether the session stays up. A response that fails to decode fails its
// request. A request gets its own response with the decode error's status,
// or a generic_nack for an unknown command_id or a bad length. A bind that
// fails to decode closes the session after its response.
func (s *session) decodeFailed(err error) bool {
	s.protocolError(err)
	var de *DecodeError
	if !errors.As(err, &de) {
		s.close(err)
		return false
	}
	if de.CommandID.IsResponse() {
		s.failRequest(de.SequenceNumber, err)
		return true
	}

	var resp PDU
	req := NewPDU(de.CommandID)
	_, hasResponse := de.CommandID.ResponseID()
	if req == nil || !hasResponse || de.Status == StatusInvalidCommandID ||
		de.Status == StatusInvalidCommandLength {
		resp = &GenericNACK{Header: Header{CommandStatus: de.Status, SequenceNumber: de.SequenceNumber}}
	} else {
		req.PDUHeader().SequenceNumber = de.SequenceNumber
		resp = NewResponse(req, de.Status)
	}
	s.respond(resp)
	if _, isBind := bindTypeOf(de.CommandID); isBind {
		s.close(fmt.Errorf("bind rejected: %w", err))
		return false
	}
	return true
}

func (s *session) protocolError(err error) {
	s.logger().Warn("protocol error", zap.Error(err))
	if f := s.cfg.hooks.ProtocolError; f != nil {
		f(s.getSystemID(), err)
	}
}

// deliverResponse hands a response to the request with its sequence
// number. A response that no request waits for, such as one that came
// after its request timed out, is dropped.
func (s *session) deliverResponse(p PDU) {
	seq := p.PDUHeader().SequenceNumber
	s.mu.Lock()
	c := s.pending[seq]
	delete(s.pending, seq)
	s.mu.Unlock()
	if c == nil {
		s.logger().Debug("response dropped: no request waiting",
			zap.Stringer("command_id", p.CommandID()), zap.Uint32("sequence_number", seq))
		return
	}
	if c.onResponse != nil {
		c.onResponse(p)
	}
	c.resp <- result{pdu: p}
}

// failRequest ends the request with sequence number seq with the decode
// error of its response.
func (s *session) failRequest(seq uint32, err error) {
	s.mu.Lock()
	c := s.pending[seq]
	delete(s.pending, seq)
	s.mu.Unlock()
	if c != nil {
		c.resp <- result{err: err}
	}
}

// handleRequest answers or dispatches one incoming request. It returns
// false when the session must close.
func (s *session) handleRequest(req PDU) bool {
	id := req.CommandID()
	if _, isBind := bindTypeOf(id); isBind && s.bind != nil {
		return s.bind(req)
	}
	if status := s.admit(s.State(), req); status != StatusOK {
		s.reject(req, s.rejectStatus(status))
		return true
	}
	switch id {
	case EnquireLinkID:
		s.respond(NewResponse(req, StatusOK))
		return true
	case UnbindID:
		if s.State() == SessionUnbinding {
			// The unbinds of both sides crossed, or the peer repeated its
			// own: the session ends either way, so the peer gets its
			// unbind_resp at once.
			s.respond(NewResponse(req, StatusOK))
			return true
		}
		s.peerUnbind(req)
		return true
	}
	if err := Validate(req); err != nil {
		s.logger().Debug("request rejected", zap.Error(err))
		s.reject(req, StatusOf(err))
		return true
	}
	s.dispatch(req)
	return true
}

// rejectStatus returns the status to reject a request with, given the
// status admit chose. While this side's unbind waits for the running
// handlers, the unbind is not on the wire yet, so the peer would take
// ESME_RINVBNDSTS for a fault of its own. ESME_RTHROTTLED makes it send
// the request again later, which after the unbind means on its next bind.
func (s *session) rejectStatus(status CommandStatus) CommandStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == StatusInvalidBindStatus && s.selfUnbind && s.state == SessionUnbinding {
		return StatusThrottled
	}
	return status
}

// reject answers req with status. Requests without a response type, such
// as alert_notification, get a generic_nack.
func (s *session) reject(req PDU, status CommandStatus) {
	s.logger().Debug("request rejected",
		zap.Stringer("command_id", req.CommandID()),
		zap.Uint32("sequence_number", req.PDUHeader().SequenceNumber),
		zap.Stringer("command_status", status))
	s.respond(NewResponse(req, status))
}

// dispatch hands req to a handler goroutine when the inbound window has a
// free slot. A peer that sends more requests than the window holds gets
// ESME_RTHROTTLED for the excess, so a slow handler never stops the read
// loop.
//
// Handler goroutines are reused: a goroutine started for one request keeps
// its grown stack for the next ones, where a new goroutine per request
// would grow its stack from the minimum each time. A new goroutine starts
// only when none is idle and fewer than the window are running. Otherwise
// a slot is free, so one goroutine has released it and takes the next
// request once it has written its response, and the read loop waits for
// that write.
func (s *session) dispatch(req PDU) {
	s.mu.Lock()
	if s.state == SessionUnbinding || s.state == SessionClosed {
		s.mu.Unlock()
		s.reject(req, s.rejectStatus(StatusInvalidBindStatus))
		return
	}
	if !s.in.tryAcquire() {
		s.mu.Unlock()
		s.logger().Warn("inbound window full, request throttled",
			zap.Stringer("command_id", req.CommandID()), zap.Int("window", s.in.size()))
		s.reject(req, StatusThrottled)
		return
	}
	select {
	case s.work <- req:
		s.mu.Unlock()
		return
	default:
	}
	if s.workers < s.in.size() {
		s.workers++
		s.wg.Add(1)
		s.mu.Unlock()
		go s.handlerLoop(req)
		return
	}
	s.mu.Unlock()
	select {
	case s.work <- req:
	case <-s.done:
		// The session closed while the request waited, so no
		// response can go out.
		s.in.release()
	}
}

// handlerLoop handles req, then each request dispatch hands it, until the
// session closes.
func (s *session) handlerLoop(req PDU) {
	defer s.wg.Done()
	for {
		s.runHandler(req)
		select {
		case req = <-s.work:
		case <-s.done:
			return
		}
	}
}

// runHandler runs the handler for req and sends its response. The window
// slot is freed under the write lock just before the response is written.
// A peer that sends its next request as soon as the response arrives then
// finds the slot free. An unbind that drains the window is written only
// after the response.
func (s *session) runHandler(req PDU) {
	resp := s.callHandler(req)
	want, hasResponse := req.CommandID().ResponseID()
	if !hasResponse {
		s.in.release()
		return
	}
	if resp == nil || (resp.CommandID() != want && resp.CommandID() != GenericNACKID) {
		s.logger().Error("handler returned no valid response",
			zap.Stringer("command_id", req.CommandID()))
		resp = NewResponse(req, StatusSystemError)
	}
	resp.PDUHeader().SequenceNumber = req.PDUHeader().SequenceNumber
	s.respondAfter(resp, s.in.release)
}

// callHandler runs serve and turns a panic into ESME_RSYSERR, so that one
// bad message cannot stop the process.
func (s *session) callHandler(req PDU) (resp PDU) {
	defer func() {
		if r := recover(); r != nil {
			s.logger().Error("handler panicked",
				zap.Stringer("command_id", req.CommandID()),
				zap.Any("panic", r),
				zap.ByteString("stack", debug.Stack()))
			resp = NewResponse(req, StatusSystemError)
		}
	}()
	return s.serve(s.ctx, req)
}

// peerUnbind handles an unbind from the peer. No new request starts, the
// handlers still running finish so their responses go out, and the
// requests this side has in flight get the responses the peer still
// sends, all up to the response timeout. Then unbind_resp is sent and the
// session closes. Without that wait, a request the peer accepted just
// before its unbind would end without its response and might be sent
// twice.
func (s *session) peerUnbind(req PDU) {
	s.setState(SessionUnbinding)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		deadline := time.Now().Add(s.cfg.responseTimeout)
		if n := s.in.size() - s.in.drain(s.ctx, deadline, s.done); n > 0 {
			s.logger().Warn("handlers still running at unbind", zap.Int("handlers", n))
		}
		if n := s.out.size() - s.out.drain(s.ctx, deadline, s.done); n > 0 {
			s.logger().Warn("requests still unanswered at unbind", zap.Int("requests", n))
		}
		s.respond(NewResponse(req, StatusOK))
		s.close(fmt.Errorf("%w by the peer", ErrUnbound))
	}()
}

// unbind stops accepting incoming requests, waits for the running
// handlers so that their responses go out first, then sends unbind, waits
// for unbind_resp and closes the session. ctx bounds the whole exchange.
func (s *session) unbind(ctx context.Context) error {
	s.mu.Lock()
	s.selfUnbind = true
	s.mu.Unlock()
	s.setState(SessionUnbinding)
	deadline, _ := ctx.Deadline()
	if n := s.in.size() - s.in.drain(ctx, deadline, s.done); n > 0 {
		s.logger().Warn("handlers still running at unbind", zap.Int("handlers", n))
	}
	resp, err := s.request(ctx, new(Unbind), s.cfg.responseTimeout, false)
	if err == nil {
		err = CheckStatus(resp)
	}
	s.close(fmt.Errorf("%w by us", ErrUnbound))
	return err
}

// drainOutbound waits until no windowed request is in flight, or ctx ends,
// and keeps the window full so no new one starts. It returns the number of
// requests still in flight.
func (s *session) drainOutbound(ctx context.Context) int {
	deadline, _ := ctx.Deadline()
	return s.out.size() - s.out.drain(ctx, deadline, s.done)
}

// startEnquireLink starts the enquire_link loop when an interval is set.
// It is called after the bind, from the goroutine that owns the session.
func (s *session) startEnquireLink() {
	if s.cfg.enquireInterval <= 0 {
		return
	}
	s.wg.Add(1)
	go s.enquireLinkLoop()
}

// enquireLinkLoop sends enquire_link at each interval (SMPP 3.4 section
// 4.11). An enquire_link that gets no response within its timeout closes
// the session as dead. Any response, even an error status, proves the
// link is alive.
func (s *session) enquireLinkLoop() {
	defer s.wg.Done()
	ticker := time.NewTicker(s.cfg.enquireInterval)
	defer ticker.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-ticker.C:
		}
		_, err := s.request(s.ctx, new(EnquireLink), s.cfg.enquireTimeout, false)
		if errors.Is(err, ErrResponseTimeout) {
			s.close(fmt.Errorf("%w within %v", ErrLinkDead, s.cfg.enquireTimeout))
			return
		}
	}
}
