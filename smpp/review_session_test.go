package smpp

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

func TestRequestWithCancelledContextSendsNothing(t *testing.T) {
	checkLeaks(t)
	var submits atomic.Int32
	srv := &Server{Handler: okHandler, Hooks: Hooks{PDUReceived: func(_ string, h Header) {
		if h.CommandID == SubmitSMID {
			submits.Add(1)
		}
	}}}
	addr := startServer(t, srv)
	c := dialClient(t, testClientConfig(addr))

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Submit(ctx, testSubmit("cancelled")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Submit with a cancelled context: error = %v, want context.Canceled", err)
	}
	// The server reads PDUs in order, so by the time it responds to this
	// live submit its read loop would have seen the cancelled one.
	if _, err := c.Submit(testCtx(t), testSubmit("live")); err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if n := submits.Load(); n != 1 {
		t.Errorf("server received %d submit_sm, want only the live one", n)
	}
}

// silentSMSC accepts connections and reads whatever the client sends
// without ever responding, not even to the bind.
func silentSMSC(t *testing.T) string {
	return rawSMSC(t, func(p *rawPeer) {
		for {
			if _, ok := p.readQuiet(); !ok {
				return
			}
		}
	})
}

func TestCloseWakesRequestWaitingForBind(t *testing.T) {
	checkLeaks(t)
	c, err := NewClient(testClientConfig(silentSMSC(t)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Connect(ctx); !errors.Is(err, ErrNotBound) {
		t.Fatalf("Connect error = %v, want ErrNotBound", err)
	}

	// Both wait for a bind that never comes, with no deadline of their own.
	submitErr := make(chan error, 1)
	go func() {
		_, err := c.Submit(context.Background(), testSubmit("waiting"))
		submitErr <- err
	}()
	connectErr := make(chan error, 1)
	go func() { connectErr <- c.Connect(context.Background()) }()
	time.Sleep(50 * time.Millisecond)

	if err := c.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for name, errc := range map[string]chan error{"Submit": submitErr, "Connect": connectErr} {
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("%s error after Close = %v, want ErrClosed", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s still waiting for a bind after Close", name)
		}
	}
}

func TestSimultaneousUnbindAnswered(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	ss := srv.Sessions()[0]

	unbindErr := make(chan error, 1)
	go func() { unbindErr <- ss.Unbind(testCtx(t)) }()
	ours := p.expect(UnbindID, StatusOK, 0)

	// The ESME decided to leave at the same moment: its unbind crosses
	// the server's.
	p.send(&Unbind{Header: Header{SequenceNumber: 7}})
	p.expect(UnbindRespID, StatusOK, 7)
	p.send(NewResponse(ours, StatusOK))
	if err := <-unbindErr; err != nil {
		t.Errorf("server Unbind: %v", err)
	}
	p.expectClosed()
}

func TestAuthenticatorPanicRejectsBind(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Authenticator: AuthenticatorFunc(func(context.Context, BindRequest) CommandStatus {
		panic("credential store bug")
	})}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	bind := &BindTransceiver{SystemID: testSystemID, Password: testPassword, InterfaceVersion: InterfaceVersion34}
	bind.SequenceNumber = 1
	p.send(bind)
	p.expect(BindTransceiverRespID, StatusSystemError, 1)
	p.expectClosed()

	// The server still serves the next ESME.
	q := dialRaw(t, addr)
	q.send(&EnquireLink{Header: Header{SequenceNumber: 2}})
	q.expect(EnquireLinkRespID, StatusInvalidBindStatus, 2)
}

func TestUnboundPeerMustBindWithinInactivityTimeout(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{InactivityTimeout: 300 * time.Millisecond})
	p := dialRaw(t, addr)
	// The peer never binds but sends a PDU well within every inactivity
	// timeout, which must not keep the connection open for ever.
	stop := time.Now().Add(3 * time.Second)
	for time.Now().Before(stop) {
		p.send(&EnquireLink{Header: Header{SequenceNumber: 1}})
		_ = p.conn.SetReadDeadline(time.Now().Add(time.Second))
		pdu, err := p.fr.ReadPDU()
		if err != nil {
			if !errors.Is(err, io.EOF) && !isConnReset(err) {
				t.Fatalf("read error %v, want the connection closed", err)
			}
			return
		}
		if pdu.CommandID() != EnquireLinkRespID || pdu.PDUHeader().CommandStatus != StatusInvalidBindStatus {
			t.Fatalf("got %v %v, want enquire_link_resp ESME_RINVBNDSTS",
				pdu.CommandID(), pdu.PDUHeader().CommandStatus)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("unbound connection still open after 10 inactivity timeouts")
}

func TestDeliverOnClosedSessionIsErrClosed(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	dialClient(t, testClientConfig(addr))
	ss := srv.Sessions()[0]
	if err := ss.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("late")})
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Deliver on a closed session: error = %v, want ErrClosed", err)
	}
}

func TestClientAcceptsDeliverRightAfterBind(t *testing.T) {
	checkLeaks(t)
	got := make(chan PDU, 1)
	addr := rawSMSC(t, func(p *rawPeer) {
		bind, ok := p.readQuiet()
		if !ok {
			return
		}
		// bind_resp and a queued deliver_sm leave in one segment.
		resp := mustEncode(t, NewResponse(bind, StatusOK))
		mo := mustEncode(t, &DeliverSM{Header: Header{SequenceNumber: 1}, ShortMessage: []byte("STOP")})
		p.sendBytes(append(resp, mo...))
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() == DeliverSMRespID {
				got <- pdu
			}
			p.answerOK(pdu)
		}
	})
	cfg := testClientConfig(addr)
	cfg.Handler = func(context.Context, PDU) CommandStatus { return StatusOK }
	dialClient(t, cfg)
	select {
	case resp := <-got:
		if st := resp.PDUHeader().CommandStatus; st != StatusOK {
			t.Errorf("deliver_sm right after bind_resp answered %v, want ESME_ROK", st)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no deliver_sm_resp")
	}
}

func TestSubmitCrossingUnbindMatchesErrNotBound(t *testing.T) {
	checkLeaks(t)
	addr := bindAndServe(t, func(p *rawPeer) {
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() != SubmitSMID {
				continue
			}
			// The SMSC started to unbind before the submit_sm arrived,
			// so it refuses it.
			p.send(&Unbind{Header: Header{SequenceNumber: 50}})
			p.send(NewResponse(pdu, StatusInvalidBindStatus))
		}
	})
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	c := dialClient(t, cfg)
	_, err := c.Submit(testCtx(t), testSubmit("crossed the unbind"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusInvalidBindStatus {
		t.Errorf("Submit error = %v, want the SMSC's ESME_RINVBNDSTS", err)
	}
	if !errors.Is(err, ErrNotBound) {
		t.Errorf("Submit error = %v, want ErrNotBound, as the submit may go again on the next bind", err)
	}
}

func TestServerUnbindDrainThrottlesNewRequests(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	var started atomic.Int32
	srv := &Server{Handler: blockingHandler(release, &started)}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	first := testSubmit("in flight")
	first.SequenceNumber = 2
	p.send(first)
	waitFor(t, "the handler", func() bool { return started.Load() == 1 })

	ss := srv.Sessions()[0]
	unbindErr := make(chan error, 1)
	go func() { unbindErr <- ss.Unbind(testCtx(t)) }()
	waitFor(t, "the server to start unbinding", func() bool { return ss.State() == SessionUnbinding })
	// The server waits for its handler before it sends unbind, so the
	// ESME cannot know yet that the bind is ending.
	second := testSubmit("just before the unbind")
	second.SequenceNumber = 3
	p.send(second)
	p.expect(SubmitSMRespID, StatusThrottled, 3)

	close(release)
	p.expect(SubmitSMRespID, StatusOK, 2)
	unbind := p.expect(UnbindID, StatusOK, 0)
	p.send(NewResponse(unbind, StatusOK))
	if err := <-unbindErr; err != nil {
		t.Errorf("Unbind: %v", err)
	}
}

func TestClientCloseDrainThrottlesNewDeliveries(t *testing.T) {
	checkLeaks(t)
	statuses := make(chan CommandStatus, 2)
	addr := bindAndServe(t, func(p *rawPeer) {
		p.send(&DeliverSM{Header: Header{SequenceNumber: 1}, ShortMessage: []byte("first")})
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			switch pdu.CommandID() {
			case DeliverSMRespID:
				statuses <- pdu.PDUHeader().CommandStatus
			case UnbindID:
				p.answerOK(pdu)
				return
			case EnquireLinkID:
				// The test's signal that the client is closing.
				p.answerOK(pdu)
				p.send(&DeliverSM{Header: Header{SequenceNumber: 2}, ShortMessage: []byte("second")})
			}
		}
	})
	release := make(chan struct{})
	var started atomic.Int32
	cfg := testClientConfig(addr)
	cfg.Handler = func(ctx context.Context, _ PDU) CommandStatus {
		started.Add(1)
		<-release
		return StatusOK
	}
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the handler", func() bool { return started.Load() == 1 })

	closeErr := make(chan error, 1)
	go func() { closeErr <- c.Close(testCtx(t)) }()
	waitFor(t, "the client to start unbinding", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.sess.State() == SessionUnbinding
	})
	if err := c.sess.write(&EnquireLink{Header: Header{SequenceNumber: 99}}); err != nil {
		t.Fatal(err)
	}
	if st := <-statuses; st != StatusThrottled {
		t.Errorf("deliver_sm during the client's unbind answered %v, want ESME_RTHROTTLED", st)
	}
	close(release)
	if st := <-statuses; st != StatusOK {
		t.Errorf("first deliver_sm answered %v, want ESME_ROK", st)
	}
	if err := <-closeErr; err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestPeerUnbindWaitsForInFlightResponses(t *testing.T) {
	checkLeaks(t)
	order := make(chan CommandID, 1)
	addr := bindAndServe(t, func(p *rawPeer) {
		sm, ok := p.readQuiet()
		if !ok {
			return
		}
		// The SMSC accepted the submit_sm, decides to unbind and sends
		// the submit_sm_resp a moment after its unbind.
		p.send(&Unbind{Header: Header{SequenceNumber: 40}})
		time.Sleep(50 * time.Millisecond)
		resp := NewResponse(sm, StatusOK).(*SubmitSMResp)
		resp.MessageID = "accepted-before-unbind"
		p.send(resp)
		if pdu, ok := p.readQuiet(); ok {
			order <- pdu.CommandID()
		}
	})
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	c := dialClient(t, cfg)
	resp, err := c.Submit(testCtx(t), testSubmit("accepted"))
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if resp.MessageID != "accepted-before-unbind" {
		t.Errorf("message_id = %q", resp.MessageID)
	}
	if id := <-order; id != UnbindRespID {
		t.Errorf("client sent %v after the submit_sm_resp, want unbind_resp", id)
	}
}

// cpuTime returns the CPU time the test process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestRequestWaitingForReconnectDoesNotSpin(t *testing.T) {
	checkLeaks(t)
	drop := make(chan struct{})
	addr := bindAndServe(t, func(p *rawPeer) {
		p.send(&DeliverSM{Header: Header{SequenceNumber: 1}, ShortMessage: []byte("MO")})
		<-drop
	})
	started := make(chan struct{})
	release := make(chan struct{})
	cfg := testClientConfig(addr)
	cfg.ResponseTimeout = 100 * time.Millisecond
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	// A handler that ignores ctx keeps the old session's goroutines alive
	// after the connection drops.
	cfg.Handler = func(context.Context, PDU) CommandStatus {
		close(started)
		<-release
		return StatusOK
	}
	c := dialClient(t, cfg)
	defer close(release)
	<-started
	close(drop)
	waitFor(t, "the session to drop", func() bool { return !c.Bound() })

	before, start := cpuTime(t), time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if _, err := c.Submit(ctx, testSubmit("waits")); !errors.Is(err, ErrNotBound) {
		t.Errorf("Submit error = %v, want ErrNotBound", err)
	}
	// A sleeping wait costs a millisecond or two; a busy loop takes a
	// whole core, or what is left of one on a loaded machine.
	if used := cpuTime(t) - before; used > 40*time.Millisecond {
		t.Errorf("waiting %v for a bind used %v of CPU, want it to sleep", time.Since(start), used)
	}
}

func TestShutdownLetsPeerUnbindFinish(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	var started atomic.Int32
	srv := &Server{Handler: blockingHandler(release, &started)}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	sm := testSubmit("accepted before the unbind")
	sm.SequenceNumber = 2
	p.send(sm)
	waitFor(t, "the handler", func() bool { return started.Load() == 1 })
	p.send(&Unbind{Header: Header{SequenceNumber: 3}})
	waitFor(t, "the session to unbind", func() bool { return len(srv.Sessions()) == 0 })

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(testCtx(t)) }()
	time.Sleep(50 * time.Millisecond)
	close(release)
	p.expect(SubmitSMRespID, StatusOK, 2)
	p.expect(UnbindRespID, StatusOK, 3)
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestWriteFailureMatchesErrClosed(t *testing.T) {
	checkLeaks(t)
	ours, theirs := net.Pipe()
	_ = theirs.Close()
	s := newSession(context.Background(), ours, sessionConfig{
		window: 1, inboundWindow: 1, responseTimeout: time.Second, writeTimeout: time.Second,
	}, zap.NewNop())
	s.setState(SessionBoundTRX)
	_, err := s.request(testCtx(t), testSubmit("into a dead socket"), time.Second, true)
	if !errors.Is(err, ErrClosed) {
		t.Errorf("request error = %v, want ErrClosed, because the failed write closed the session", err)
	}
	if !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("request error = %v, want the write error as its cause", err)
	}
	if s.State() != SessionClosed {
		t.Errorf("session state %v after a failed write, want CLOSED", s.State())
	}
}

func TestDeliverCrossingUnbindMatchesErrNotBound(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	ss := srv.Sessions()[0]
	errc := make(chan error, 1)
	go func() {
		_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("MT receipt")})
		errc <- err
	}()
	d := p.expect(DeliverSMID, StatusOK, 0)
	// The ESME started to unbind before the deliver_sm arrived.
	p.send(&Unbind{Header: Header{SequenceNumber: 9}})
	p.send(NewResponse(d, StatusInvalidBindStatus))
	err := <-errc
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusInvalidBindStatus {
		t.Errorf("Deliver error = %v, want the ESME's ESME_RINVBNDSTS", err)
	}
	if !errors.Is(err, ErrNotBound) {
		t.Errorf("Deliver error = %v, want ErrNotBound, as the deliver_sm may go again on the next bind", err)
	}
	p.expect(UnbindRespID, StatusOK, 9)
}
