package smpp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

func TestServerSendKeepsOrderAndWindow(t *testing.T) {
	checkLeaks(t)
	srv := &Server{WindowSize: 2}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	var mu sync.Mutex
	var arrived []uint32
	cfg.Hooks.PDUReceived = func(_ string, h Header) {
		if h.CommandID == DeliverSMID {
			mu.Lock()
			arrived = append(arrived, h.SequenceNumber)
			mu.Unlock()
		}
	}
	cfg.Handler = func(context.Context, PDU) CommandStatus { return StatusOK }
	dialClient(t, cfg)
	ss := srv.Sessions()[0]
	ctx := testCtx(t)

	var sent []uint32
	for round := range 4 {
		var pending []*PendingResponse
		for i := range 2 {
			d := &DeliverSM{ShortMessage: fmt.Appendf(nil, "round %d text %d", round, i)}
			p, err := ss.Send(ctx, d)
			if err != nil {
				t.Fatalf("Send %d of round %d: %v", i, round, err)
			}
			sent = append(sent, d.SequenceNumber)
			pending = append(pending, p)
		}
		// Both slots of the window are taken until Wait frees them.
		short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
		_, err := ss.Send(short, &DeliverSM{ShortMessage: []byte("one too many")})
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Send beyond the window: %v, want a deadline error", err)
		}
		for i, p := range pending {
			resp, err := p.Wait(ctx)
			if err != nil {
				t.Fatalf("Wait %d of round %d: %v", i, round, err)
			}
			if _, ok := resp.(*DeliverSMResp); !ok {
				t.Errorf("Wait returned %T, want *DeliverSMResp", resp)
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(arrived, sent) {
		t.Errorf("deliver_sm arrived in sequence order %v, sent as %v", arrived, sent)
	}
}

func TestServerReusesHandlerGoroutines(t *testing.T) {
	checkLeaks(t)
	srv := &Server{InboundWindow: 3, Handler: okHandler}
	addr := startServer(t, srv)
	c := dialClient(t, testClientConfig(addr))
	ctx := testCtx(t)

	const requests = 60
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sm := &SubmitSM{SourceAddr: "12015550101", DestinationAddr: "12015550102",
				ShortMessage: fmt.Appendf(nil, "text %d", i)}
			_, err := c.Submit(ctx, sm)
			var se *StatusError
			if err != nil && !(errors.As(err, &se) && se.Status == StatusThrottled) {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Submit: %v", err)
	}
	ss := srv.Sessions()[0]
	ss.s.mu.Lock()
	workers := ss.s.workers
	ss.s.mu.Unlock()
	if workers < 1 || workers > 3 {
		t.Errorf("%d handler goroutines for %d requests, want 1 to the inbound window of 3", workers, requests)
	}
}

func TestWriteDeadlineMovesOnlyWhenShort(t *testing.T) {
	s := &session{cfg: sessionConfig{writeTimeout: 8 * time.Second}, conn: nopConn{}}
	s.extendWriteDeadline()
	first := s.writeDeadline
	if left := time.Until(first); left < 8*time.Second || left > 10*time.Second {
		t.Fatalf("first deadline %v ahead, want 8s to 10s", left)
	}
	s.extendWriteDeadline()
	if !s.writeDeadline.Equal(first) {
		t.Errorf("deadline moved from %v to %v while more than the timeout was left", first, s.writeDeadline)
	}
	s.writeDeadline = time.Now().Add(7 * time.Second)
	s.extendWriteDeadline()
	if left := time.Until(s.writeDeadline); left < 8*time.Second {
		t.Errorf("deadline %v ahead after extending, want at least the 8s timeout", left)
	}
}

// nopConn is a net.Conn whose deadline setters do nothing, for tests of
// deadline bookkeeping.
type nopConn struct{ net.Conn }

func (nopConn) SetWriteDeadline(time.Time) error { return nil }
