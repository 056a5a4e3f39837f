package smpp

import (
	"context"
	"sync"
	"testing"
)

// serverSessionOf returns the one bound session of srv.
func serverSessionOf(t *testing.T, srv *Server) *ServerSession {
	t.Helper()
	var sessions []*ServerSession
	waitFor(t, "the bound session", func() bool {
		sessions = srv.Sessions()
		return len(sessions) == 1
	})
	return sessions[0]
}

func TestServerSessionInFlightCountsUnanswered(t *testing.T) {
	checkLeaks(t)
	srv := &Server{WindowSize: 4, Handler: HandlerFunc(func(_ context.Context, _ *ServerSession, req PDU) PDU {
		return NewResponse(req, StatusOK)
	})}
	peer := dialRaw(t, startServer(t, srv))
	peer.bindRaw()
	ss := serverSessionOf(t, srv)
	if n := ss.InFlight(); n != 0 {
		t.Fatalf("InFlight before any deliver_sm = %d, want 0", n)
	}

	// Two deliver_sm wait for the peer, which reads them and holds back
	// its responses.
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("x")})
			errs <- err
		})
	}
	first := peer.expect(DeliverSMID, StatusOK, 0)
	second := peer.expect(DeliverSMID, StatusOK, 0)
	if n := ss.InFlight(); n != 2 {
		t.Errorf("InFlight with two unanswered deliver_sm = %d, want 2", n)
	}

	peer.send(NewResponse(first, StatusOK))
	waitFor(t, "one deliver_sm answered", func() bool { return ss.InFlight() == 1 })
	peer.send(NewResponse(second, StatusOK))
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Deliver: %v", err)
		}
	}
	if n := ss.InFlight(); n != 0 {
		t.Errorf("InFlight once both are answered = %d, want 0", n)
	}
}
