package smpp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// closeWatch returns hooks that report each session close on the channel.
func closeWatch() (Hooks, chan error) {
	closed := make(chan error, 16)
	return Hooks{BindStateChanged: func(_ string, s SessionState, err error) {
		if s == SessionClosed {
			closed <- err
		}
	}}, closed
}

// waitClosed waits for one session close reported by closeWatch's hooks.
func waitClosed(t *testing.T, closed chan error) error {
	t.Helper()
	select {
	case err := <-closed:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("session not closed")
		return nil
	}
}

// blockingHandler responds ESME_ROK to every request once release is
// closed, and counts the requests it started.
func blockingHandler(release <-chan struct{}, started *atomic.Int32) Handler {
	return HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return okHandler(ctx, s, req)
	})
}

func TestAttackServerGarbage(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		garbage := make([]byte, 1+rng.IntN(600))
		for j := range garbage {
			garbage[j] = byte(rng.Uint32())
		}
		p := dialRaw(t, addr)
		p.sendBytes(garbage)
		_ = p.conn.Close()
		// Whatever the bytes were, the server ends the connection: an
		// impossible command_length at once, a plausible one when the
		// stream ends inside the frame.
		if err := waitClosed(t, closed); !errors.Is(err, ErrClosed) {
			t.Fatalf("garbage %d: close reason %v, want ErrClosed", i, err)
		}
	}
}

func TestAttackServerGarbageAfterBind(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks})
	p := dialRaw(t, addr)
	p.bindRaw()
	// command_length 0xFFFFFFF0: the server cannot find the next frame.
	p.sendBytes(hexWords(t, "fffffff0 00000004 00000000 00000009 41424344"))
	p.expect(GenericNACKID, StatusInvalidCommandLength, 9)
	p.expectClosed()
	if err := waitClosed(t, closed); !errors.Is(err, ErrInvalidCommandLength) {
		t.Errorf("close reason %v, want ErrInvalidCommandLength", err)
	}
}

func TestAttackServerTruncatedPDU(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	addr := startServer(t, &Server{Hooks: hooks, Handler: okHandler})
	p := dialRaw(t, addr)
	p.bindRaw()
	wire := mustEncode(t, testSubmit("cut short"))
	p.sendBytes(wire[:len(wire)/2])
	_ = p.conn.Close()
	if err := waitClosed(t, closed); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("close reason %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestAttackServerPDUByteByByte(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler, InactivityTimeout: 2 * time.Second})
	p := dialRaw(t, addr)
	p.bindRaw()
	sm := testSubmit("slow sender")
	sm.SequenceNumber = 2
	for _, b := range mustEncode(t, sm) {
		p.sendBytes([]byte{b})
		time.Sleep(2 * time.Millisecond)
	}
	resp := p.expect(SubmitSMRespID, StatusOK, 2).(*SubmitSMResp)
	if resp.MessageID != "id-2" {
		t.Errorf("message_id = %q, want id-2", resp.MessageID)
	}
}

func TestAttackServerEnquireLinkFloodUnread(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{})
	p := dialRaw(t, addr)
	p.bindRaw()
	const n = 10000
	var flood bytes.Buffer
	for seq := range uint32(n) {
		if err := WritePDU(&flood, &EnquireLink{Header: Header{SequenceNumber: seq + 2}}); err != nil {
			t.Fatal(err)
		}
	}
	// Everything goes out before the first response is read.
	p.sendBytes(flood.Bytes())
	for seq := range uint32(n) {
		p.expect(EnquireLinkRespID, StatusOK, seq+2)
	}
}

// smallBuffers sets 4 KiB socket buffers before a socket connects or
// listens, so that a peer that does not read blocks the other side's
// writes after a few kilobytes, not after the megabytes Linux grants
// loopback sockets. Accepted sockets inherit the listener's sizes.
func smallBuffers(_, _ string, c syscall.RawConn) error {
	var err error
	ctrlErr := c.Control(func(fd uintptr) {
		for _, opt := range []int{syscall.SO_SNDBUF, syscall.SO_RCVBUF} {
			if e := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opt, 4096); e != nil {
				err = e
			}
		}
	})
	return errors.Join(ctrlErr, err)
}

func TestAttackServerPeerNeverReads(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	srv := &Server{Hooks: hooks, WriteTimeout: 200 * time.Millisecond, Authenticator: testAuthenticator}
	lc := net.ListenConfig{Control: smallBuffers}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	d := net.Dialer{Control: smallBuffers}
	conn, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p := newRawPeer(t, conn)
	p.bindRaw()

	// The peer sends enquire_link until its own write fails and reads
	// nothing, so the server's responses fill both socket buffers.
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		wire := mustEncode(t, &EnquireLink{Header: Header{SequenceNumber: 2}})
		burst := bytes.Repeat(wire, 1024)
		for {
			_ = p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err := p.conn.Write(burst); err != nil {
				return
			}
		}
	}()
	if err := waitClosed(t, closed); !errors.Is(err, ErrClosed) {
		t.Errorf("close reason %v, want ErrClosed", err)
	}
	_ = p.conn.Close()
	<-writerDone
}

func TestAttackServerUnknownAndDuplicateResponses(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	ss := srv.Sessions()[0]

	// A deliver_sm_resp for a deliver_sm never sent is dropped.
	p.send(&DeliverSMResp{Header: Header{SequenceNumber: 999}})
	got := make(chan error, 1)
	go func() {
		_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("MO")})
		got <- err
	}()
	req := p.expect(DeliverSMID, StatusOK, 0)
	// The response comes twice, and the copy matches no request any more.
	p.send(NewResponse(req, StatusOK))
	p.send(NewResponse(req, StatusOK))
	if err := <-got; err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	p.send(&EnquireLink{Header: Header{SequenceNumber: 3}})
	p.expect(EnquireLinkRespID, StatusOK, 3)
}

func TestAttackServerInboundFlood(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	var started atomic.Int32
	addr := startServer(t, &Server{InboundWindow: 2, Handler: blockingHandler(release, &started)})
	p := dialRaw(t, addr)
	p.bindRaw()
	const n = 50
	var flood bytes.Buffer
	for seq := range uint32(n) {
		sm := testSubmit("flood")
		sm.SequenceNumber = seq + 2
		if err := WritePDU(&flood, sm); err != nil {
			t.Fatal(err)
		}
	}
	p.sendBytes(flood.Bytes())
	for range n - 2 {
		p.expect(SubmitSMRespID, StatusThrottled, 0)
	}
	close(release)
	for range 2 {
		p.expect(SubmitSMRespID, StatusOK, 0)
	}
	if s := started.Load(); s != 2 {
		t.Errorf("handler started %d times, want 2", s)
	}
}

func TestAttackServerUnbindMidWindow(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	var started atomic.Int32
	addr := startServer(t, &Server{Handler: blockingHandler(release, &started)})
	p := dialRaw(t, addr)
	p.bindRaw()
	for seq := uint32(2); seq <= 4; seq++ {
		sm := testSubmit("in window")
		sm.SequenceNumber = seq
		p.send(sm)
	}
	waitFor(t, "three handlers", func() bool { return started.Load() == 3 })
	p.send(&Unbind{Header: Header{SequenceNumber: 5}})
	// A submit after the unbind is refused at once.
	late := testSubmit("after unbind")
	late.SequenceNumber = 6
	p.send(late)
	p.expect(SubmitSMRespID, StatusInvalidBindStatus, 6)

	close(release)
	seen := map[uint32]bool{}
	for range 3 {
		seen[p.expect(SubmitSMRespID, StatusOK, 0).PDUHeader().SequenceNumber] = true
	}
	if !seen[2] || !seen[3] || !seen[4] {
		t.Errorf("submit_sm_resp for %v, want 2, 3 and 4", seen)
	}
	p.expect(UnbindRespID, StatusOK, 5)
	p.expectClosed()
}

func TestAttackServerCloseDuringTraffic(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		time.Sleep(time.Millisecond)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	c := dialClient(t, cfg)
	errs := submitLoop(t, c, 8)
	time.Sleep(100 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatalf("server Close: %v", err)
	}
	for range 8 {
		select {
		case err := <-errs:
			if !retryable(err) {
				t.Errorf("Submit error after the server closed = %v, want ErrClosed, ErrNotBound or throttled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a submitter is stuck after the server closed")
		}
	}
}

// retryable reports whether err means the request was not taken and may
// go again on another bind: the session closed or is unbinding, or the
// SMSC rejected it while it was about to unbind.
func retryable(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, ErrNotBound) || Throttled(err)
}

// submitLoop starts n goroutines that submit until one fails, and returns
// the channel that receives each goroutine's final error. Each submit waits
// at most one second, so a lost session shows as ErrNotBound.
func submitLoop(t *testing.T, c *Client, n int) chan error {
	errs := make(chan error, n)
	for range n {
		go func() {
			for {
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_, err := c.Submit(ctx, testSubmit("traffic"))
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	return errs
}

func TestAttackEnquireLinkBothSides(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	srv := &Server{
		Handler:             okHandler,
		Hooks:               hooks,
		EnquireLinkInterval: 5 * time.Millisecond,
		EnquireLinkTimeout:  time.Second,
	}
	addr := startServer(t, srv)
	var sent, received atomic.Int32
	cfg := testClientConfig(addr)
	cfg.EnquireLinkInterval = 5 * time.Millisecond
	cfg.EnquireLinkTimeout = time.Second
	cfg.Hooks.PDUSent = func(_ string, h Header) {
		if h.CommandID == EnquireLinkID {
			sent.Add(1)
		}
	}
	cfg.Hooks.PDUReceived = func(_ string, h Header) {
		if h.CommandID == EnquireLinkID {
			received.Add(1)
		}
	}
	c := dialClient(t, cfg)

	waitFor(t, "enquire_link both ways", func() bool { return sent.Load() >= 20 && received.Load() >= 20 })
	if _, err := c.Submit(testCtx(t), testSubmit("between keep-alives")); err != nil {
		t.Errorf("Submit: %v", err)
	}
	select {
	case err := <-closed:
		t.Errorf("session closed during keep-alives: %v", err)
	default:
	}
}

func TestAttackServerShutdownDuringTraffic(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		time.Sleep(time.Millisecond)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	c := dialClient(t, cfg)
	errs := submitLoop(t, c, 8)
	time.Sleep(100 * time.Millisecond)
	if err := srv.Shutdown(testCtx(t)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 8 {
		select {
		case err := <-errs:
			if !retryable(err) {
				t.Errorf("Submit error after Shutdown = %v, want ErrClosed, ErrNotBound or throttled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a submitter is stuck after Shutdown")
		}
	}
}

func TestAttackServerHalfClosedPeer(t *testing.T) {
	checkLeaks(t)
	hooks, closed := closeWatch()
	cancelled := make(chan struct{})
	srv := &Server{Hooks: hooks, Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		<-ctx.Done()
		close(cancelled)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	sm := testSubmit("last words")
	sm.SequenceNumber = 2
	p.send(sm)
	if err := p.conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The server closes the session and cancels the running handler.
	if err := waitClosed(t, closed); !errors.Is(err, ErrClosed) {
		t.Errorf("close reason %v, want ErrClosed", err)
	}
	<-cancelled
	p.expectClosed()
}

func TestAttackServerHugeTLVs(t *testing.T) {
	checkLeaks(t)
	got := make(chan int, 1)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		payload, _ := req.(*SubmitSM).TLVs.Get(TagMessagePayload)
		got <- len(payload)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()

	// The largest message_payload that fits in DefaultMaxCommandLength is
	// accepted.
	sm := testSubmit("")
	sm.SequenceNumber = 2
	base := len(mustEncode(t, sm)) + 4
	sm.TLVs.SetMessagePayload(bytes.Repeat([]byte("x"), DefaultMaxCommandLength-base))
	p.send(sm)
	p.expect(SubmitSMRespID, StatusOK, 2)
	if n := <-got; n != DefaultMaxCommandLength-base {
		t.Errorf("handler got %d octets of message_payload, want %d", n, DefaultMaxCommandLength-base)
	}

	// One octet more and the server cannot trust the framing any more.
	sm.SequenceNumber = 3
	sm.TLVs.SetMessagePayload(bytes.Repeat([]byte("x"), DefaultMaxCommandLength-base+1))
	p.send(sm)
	p.expect(GenericNACKID, StatusInvalidCommandLength, 3)
	p.expectClosed()
}
