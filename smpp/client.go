package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"
)

// errClosedByClient is the reason a session ends when Close or Unbind
// stops the client.
var errClosedByClient = errors.New("closed by the client")

// Client is an ESME's bind to an SMSC. It dials, binds, keeps the link
// alive with enquire_link and, when the connection drops or a bind fails,
// reconnects with exponential back-off and jitter, binding again with the
// same credentials. Requests wait for a bound session, a window slot and
// the rate limit. A Client is safe for concurrent use.
type Client struct {
	cfg      ClientConfig
	log      *zap.Logger
	throttle *throttle

	mu      sync.Mutex
	sess    *session      // the bound session, or nil
	bound   chan struct{} // closed while sess is set
	lastErr error         // error of the last failed dial or bind
	started bool
	closing bool
	closed  chan struct{} // closed when closing is set

	ctx    context.Context // the client's life, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the connection loop
}

// NewClient checks cfg and returns a Client that has not connected yet.
// Call Connect to start it. An over-long system_id, password, system_type
// or address_range is an error wrapping ErrInvalidConfig, so it is never
// sent.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Client{
		cfg: cfg,
		log: cfg.Logger.With(zap.String("smsc_addr", cfg.Addr), zap.String("system_id", cfg.SystemID)),
		throttle: newThrottle(cfg.Rate, cfg.RateBurst, cfg.ThrottlePause,
			cfg.MaxThrottlePause),
		bound:  make(chan struct{}),
		closed: make(chan struct{}),
	}
	return c, nil
}

// Dial creates a Client with NewClient and connects it with Connect. On
// failure it closes the client, so nothing keeps running.
func Dial(ctx context.Context, cfg ClientConfig) (*Client, error) {
	c, err := NewClient(cfg)
	if err != nil {
		return nil, err
	}
	if err := c.Connect(ctx); err != nil {
		c.abort()
		return nil, err
	}
	return c, nil
}

// Connect starts the connection loop, which runs until Close or Unbind,
// and waits until the client is bound or ctx ends. ctx bounds only the
// wait: the loop keeps retrying after Connect returns an error, until the
// client is closed. The error then joins ctx's error with the last dial or
// bind error, so a bind rejected by the SMSC is a *StatusError that
// errors.As finds.
func (c *Client) Connect(ctx context.Context) error {
	c.mu.Lock()
	if c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if !c.started {
		c.started = true
		c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
		c.wg.Add(1)
		go c.run()
	}
	c.mu.Unlock()
	_, err := c.session(ctx)
	return err
}

// Bound reports whether the client has a bound session.
func (c *Client) Bound() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess != nil && !c.sess.isClosed()
}

// run is the connection loop: dial and bind, wait for the session to end,
// and start again after a back-off delay.
func (c *Client) run() {
	defer c.wg.Done()
	failures := 0
	for {
		s, err := c.connect()
		if err != nil {
			if c.stopping() {
				return
			}
			c.bindFailed(err, failures)
			if !c.sleep(c.reconnectDelay(failures)) {
				return
			}
			failures++
			continue
		}

		failures = 0
		if !c.setBound(s) {
			s.close(errClosedByClient)
			s.wait()
			return
		}
		<-s.done
		s.wait()
		c.clearBound(s)
		if c.stopping() {
			return
		}
		c.log.Warn("session lost, reconnecting", zap.Error(s.err()))
		if !c.sleep(c.reconnectDelay(0)) {
			return
		}
	}
}

// connect dials the SMSC, starts the session and binds.
func (c *Client) connect() (*session, error) {
	conn, err := c.dial()
	if err != nil {
		return nil, err
	}
	s := newSession(c.ctx, conn, c.cfg.sessionConfig(), c.log)
	s.systemID = c.cfg.SystemID
	s.admit = c.admit
	s.serve = c.serve
	s.startReadLoop()

	bind := c.cfg.bindRequest()
	resp, err := s.requestThen(c.ctx, bind, c.cfg.ResponseTimeout, false, func(resp PDU) {
		// Bound before the read loop reads on, because SMSCs send queued
		// deliver_sm right behind a successful bind_resp.
		if want, _ := bind.CommandID().ResponseID(); resp.CommandID() == want && CheckStatus(resp) == nil {
			s.setState(c.cfg.BindType.State())
		}
	})
	if err == nil {
		err = CheckStatus(resp)
	}
	if err != nil {
		s.close(fmt.Errorf("bind failed: %w", err))
		s.wait()
		return nil, fmt.Errorf("smpp: bind %v to %s: %w", c.cfg.BindType, c.cfg.Addr, err)
	}

	fields := []zap.Field{zap.Stringer("bind_type", c.cfg.BindType)}
	if v, err := responseTLVs(resp).SCInterfaceVersion(); err == nil {
		fields = append(fields, zap.Uint8("sc_interface_version", v))
	}
	c.log.Info("bound", fields...)
	s.startEnquireLink()
	return s, nil
}

// responseTLVs returns the TLVs of a bind response.
func responseTLVs(p PDU) TLVs {
	if p == nil {
		return nil
	}
	return *p.optional()
}

func (c *Client) dial() (net.Conn, error) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if c.cfg.TLS != nil {
		d := &tls.Dialer{Config: c.cfg.TLS}
		conn, err = d.DialContext(ctx, "tcp", c.cfg.Addr)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", c.cfg.Addr)
	}
	if err != nil {
		return nil, fmt.Errorf("smpp: dial smsc %s: %w", c.cfg.Addr, err)
	}
	return conn, nil
}

func (c *Client) bindFailed(err error, failures int) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
	c.log.Warn("bind failed, retrying", zap.Error(err), zap.Int("failures_in_a_row", failures+1))
	if f := c.cfg.Hooks.BindStateChanged; f != nil {
		f(c.cfg.SystemID, SessionClosed, err)
	}
}

// reconnectDelay returns the delay before the next attempt after failures
// failed attempts in a row: ReconnectDelay doubled per failure, capped at
// MaxReconnectDelay, then drawn at random from its upper half so that many
// clients do not reconnect in step.
func (c *Client) reconnectDelay(failures int) time.Duration {
	d := c.cfg.ReconnectDelay
	for range min(failures, 30) {
		d *= 2
		if d >= c.cfg.MaxReconnectDelay {
			d = c.cfg.MaxReconnectDelay
			break
		}
	}
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits for d and returns false if the client is closed first.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !c.stopping()
	case <-c.ctx.Done():
		return false
	}
}

func (c *Client) stopping() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing || c.ctx.Err() != nil
}

// setBound publishes s as the bound session. It returns false when the
// client is closing, so s must not be used.
func (c *Client) setBound(s *session) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return false
	}
	c.sess = s
	c.lastErr = nil
	close(c.bound)
	return true
}

func (c *Client) clearBound(s *session) {
	c.mu.Lock()
	if c.sess == s {
		c.sess = nil
		c.bound = make(chan struct{})
		c.lastErr = s.err()
	}
	c.mu.Unlock()
}

// session returns the bound session, waiting for one until ctx ends.
func (c *Client) session(ctx context.Context) (*session, error) {
	for {
		c.mu.Lock()
		if c.closing {
			c.mu.Unlock()
			return nil, ErrClosed
		}
		s, bound := c.sess, c.bound
		c.mu.Unlock()
		if s != nil && s.State().Bound() {
			return s, nil
		}
		if s != nil {
			// Bound before but closing or unbinding now. Once it is closed,
			// stop handing it out and wait for the next bind: the loop
			// clears it only after the old session's handlers return.
			select {
			case <-s.done:
				c.clearBound(s)
			case <-c.closed:
			case <-ctx.Done():
				return nil, c.notBound(ctx)
			}
			continue
		}
		select {
		case <-bound:
		case <-c.closed:
		case <-ctx.Done():
			return nil, c.notBound(ctx)
		}
	}
}

// notBound returns the error for a wait for a bound session that ctx
// ended, with the reason the last attempt failed.
func (c *Client) notBound(ctx context.Context) error {
	c.mu.Lock()
	lastErr := c.lastErr
	c.mu.Unlock()
	err := fmt.Errorf("%w to %s: %w", ErrNotBound, c.cfg.Addr, ctx.Err())
	if lastErr != nil {
		return errors.Join(err, lastErr)
	}
	return err
}

// setNextSequence makes the bound session's next sequence number v. Tests
// use it to cross the wrap from 0x7FFFFFFF to 1.
func (c *Client) setNextSequence(v uint32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != nil {
		c.sess.seq.SetNext(v)
	}
}

// admit decides which requests from the SMSC the client handles: deliver_sm,
// data_sm and alert_notification when bound as receiver or transceiver,
// and enquire_link and unbind (SMPP 3.4 section 2.3). Others get
// ESME_RINVBNDSTS. Outbind is not supported.
func (c *Client) admit(state SessionState, req PDU) CommandStatus {
	switch req.CommandID() {
	case EnquireLinkID:
		return StatusOK
	case UnbindID:
		if state.Bound() || state == SessionUnbinding {
			return StatusOK
		}
	case DeliverSMID, DataSMID, AlertNotificationID:
		if state.canReceive() {
			return StatusOK
		}
	}
	return StatusInvalidBindStatus
}

func (c *Client) serve(ctx context.Context, req PDU) PDU {
	status := StatusTempAppError
	if c.cfg.Handler != nil {
		status = c.cfg.Handler(ctx, req)
	}
	if _, ok := req.CommandID().ResponseID(); !ok {
		return nil
	}
	return NewResponse(req, status)
}

// Request sends an ESME request (submit_sm, submit_multi, data_sm,
// query_sm, cancel_sm or replace_sm) and returns the response. It sets
// req's sequence number. It waits for a bound session, for the rate limit
// and any throttling pause, and for a window slot, until ctx ends. The
// response wait ends after ResponseTimeout with ErrResponseTimeout.
//
// A response with an error status is returned with nil error: the typed
// methods such as Submit turn it into a *StatusError. A generic_nack is
// returned as a *StatusError. The client does not check the bind type,
// because the SMSC responds to a receiver's submit_sm with ESME_RINVBNDSTS.
// An ESME_RINVBNDSTS response that arrives once an unbind has started
// comes with an error that matches ErrNotBound and the *StatusError: the
// request crossed the unbind and may be sent again on the next bind.
func (c *Client) Request(ctx context.Context, req PDU) (PDU, error) {
	switch req.CommandID() {
	case SubmitSMID, SubmitMultiID, DataSMID, QuerySMID, CancelSMID, ReplaceSMID:
	default:
		return nil, fmt.Errorf("smpp: %v cannot be sent with Request", req.CommandID())
	}
	if err := c.throttle.wait(ctx); err != nil {
		return nil, fmt.Errorf("smpp: %v waiting for the rate limit: %w", req.CommandID(), err)
	}
	s, err := c.session(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := s.request(ctx, req, c.cfg.ResponseTimeout, true)
	c.noteStatus(resp, err)
	return resp, s.crossedUnbind(req, resp, err)
}

// noteStatus pauses the bind after a throttling response and resets the
// pause length after any other response.
func (c *Client) noteStatus(resp PDU, err error) {
	var status CommandStatus
	var se *StatusError
	switch {
	case errors.As(err, &se):
		status = se.Status
	case err != nil:
		return
	case resp != nil:
		status = resp.PDUHeader().CommandStatus
	}
	if !isThrottleStatus(status) {
		c.throttle.succeeded()
		return
	}
	pause := c.throttle.throttled()
	c.log.Warn("smsc throttled the bind, pausing",
		zap.Stringer("command_status", status), zap.Duration("pause", pause))
	if f := c.cfg.Hooks.Throttled; f != nil {
		f(c.cfg.SystemID, status, pause)
	}
}

// typedResponse converts Request's result to the response type R and a
// *StatusError for an error status.
func typedResponse[R PDU](p PDU, err error) (R, error) {
	var zero R
	if p == nil {
		return zero, err
	}
	r, ok := p.(R)
	if !ok {
		return zero, err
	}
	if err != nil {
		return r, err
	}
	return r, CheckStatus(r)
}

// Submit sends a submit_sm and returns its response. A response with an
// error status is returned together with a *StatusError. Throttled
// reports whether a later retry may succeed.
func (c *Client) Submit(ctx context.Context, sm *SubmitSM) (*SubmitSMResp, error) {
	return typedResponse[*SubmitSMResp](c.Request(ctx, sm))
}

// SubmitMulti sends a submit_multi and returns its response, as Submit
// does.
func (c *Client) SubmitMulti(ctx context.Context, sm *SubmitMulti) (*SubmitMultiResp, error) {
	return typedResponse[*SubmitMultiResp](c.Request(ctx, sm))
}

// DataSM sends a data_sm and returns its response, as Submit does.
func (c *Client) DataSM(ctx context.Context, d *DataSM) (*DataSMResp, error) {
	return typedResponse[*DataSMResp](c.Request(ctx, d))
}

// QuerySM sends a query_sm and returns its response, as Submit does.
func (c *Client) QuerySM(ctx context.Context, q *QuerySM) (*QuerySMResp, error) {
	return typedResponse[*QuerySMResp](c.Request(ctx, q))
}

// CancelSM sends a cancel_sm and returns its response, as Submit does.
func (c *Client) CancelSM(ctx context.Context, q *CancelSM) (*CancelSMResp, error) {
	return typedResponse[*CancelSMResp](c.Request(ctx, q))
}

// ReplaceSM sends a replace_sm and returns its response, as Submit does.
func (c *Client) ReplaceSM(ctx context.Context, r *ReplaceSM) (*ReplaceSMResp, error) {
	return typedResponse[*ReplaceSMResp](c.Request(ctx, r))
}

// EnquireLink sends an enquire_link outside the window and waits for its
// response.
func (c *Client) EnquireLink(ctx context.Context) error {
	s, err := c.session(ctx)
	if err != nil {
		return err
	}
	resp, err := s.request(ctx, new(EnquireLink), c.cfg.ResponseTimeout, false)
	if err != nil {
		return err
	}
	return CheckStatus(resp)
}

// Unbind sends unbind on the bound session, waits for unbind_resp and for
// running handlers, closes the connection and stops the client: it does
// not reconnect. Requests still waiting for a response fail with
// ErrClosed. Use Close to let them finish first.
func (c *Client) Unbind(ctx context.Context) error {
	s := c.beginClose()
	var err error
	if s != nil && s.State().Bound() {
		err = s.unbind(ctx)
	}
	return errors.Join(err, c.finishClose(ctx, s))
}

// Close stops the client gracefully: no new request starts, the requests in
// flight get their responses until ctx ends, then the client unbinds and
// closes the connection. Requests still in flight when ctx ends fail with
// ErrClosed. Close waits for the client's goroutines, including running
// handlers, which see their context cancelled. It returns an error only
// when ctx ended before all of that finished; an unbind that fails is
// logged.
func (c *Client) Close(ctx context.Context) error {
	s := c.beginClose()
	var errs []error
	if s != nil && s.State().Bound() {
		if n := s.drainOutbound(ctx); n > 0 {
			errs = append(errs, fmt.Errorf("smpp: close: %d requests still in flight: %w", n, ctx.Err()))
		}
		if ctx.Err() == nil {
			if err := s.unbind(ctx); err != nil {
				c.log.Warn("unbind at close failed", zap.Error(err))
			}
		}
	}
	errs = append(errs, c.finishClose(ctx, s))
	return errors.Join(errs...)
}

// beginClose stops reconnects and new requests and returns the current
// session.
func (c *Client) beginClose() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closing {
		c.closing = true
		close(c.closed)
	}
	return c.sess
}

// finishClose closes s, stops the connection loop and waits for it until
// ctx ends.
func (c *Client) finishClose(ctx context.Context, s *session) error {
	if s != nil {
		s.close(errClosedByClient)
	}
	c.mu.Lock()
	started := c.started
	c.mu.Unlock()
	if !started {
		return nil
	}
	c.cancel()
	done := make(chan struct{})
	go func() {
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("smpp: close: waiting for handlers: %w", ctx.Err())
	}
}

// abort closes the client without waiting for anything but its
// goroutines.
func (c *Client) abort() {
	s := c.beginClose()
	if s != nil {
		s.close(errClosedByClient)
	}
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}
