package gateway

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// TestDaemonStopAnswersSubmitsInFlight stops the daemon while a business
// submit waits for the carrier: the business still gets optgate's id, and
// the carrier has the message exactly once.
func TestDaemonStopAnswersSubmitsInFlight(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	if err := f.sim.SetRules([]smscsim.Rule{{Delay: 300 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)

	type result struct {
		id     string
		status smpp.CommandStatus
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := b.client.Submit(ctx, submitSM(t, acmeTollFree, sub1, "in flight at stop", 0))
		if err != nil {
			done <- result{status: smpp.StatusUnknownError}
			return
		}
		done <- result{id: resp.MessageID, status: smpp.StatusOK}
	}()
	if _, err := f.sim.WaitMessages(f.ctx, 1); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	if err := f.d.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
	r := <-done
	if r.status != smpp.StatusOK || !optgateID.MatchString(r.id) {
		t.Errorf("submit in flight at stop: status %v id %q, want ESME_ROK and an id", r.status, r.id)
	}
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("the carrier got %d messages, want 1", n)
	}
	// The business closes its end just after it sends unbind_resp.
	f.waitFor("the business to be unbound", func() bool { return !b.client.Bound() })
	if err := f.d.Stop(ctx); err != nil {
		t.Errorf("second stop: %v", err)
	}
}

func TestDaemonStopLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	f.inject(sub1, acmeTollFree, "hello")
	b.next(t)

	ctx, cancel := context.WithTimeout(f.ctx, 10*time.Second)
	defer cancel()
	if err := b.client.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := f.d.Stop(ctx); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

func TestDaemonStartFailsOnBusyPort(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	cfg := *f.cfg
	cfg.Listeners.SMPP.Addr = f.d.SMPPAddr().String()
	cfg.Listeners.Simulator.Enabled = false
	cfg.Store.Embedded.Path = t.TempDir() + "/consent.db"
	d, err := NewDaemon(&cfg, nil, DaemonOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(f.ctx); err == nil {
		t.Fatal("start on a busy port succeeded")
	}
	// Start cleaned up after itself: the stores are closed and can be
	// opened again.
	gw, err := OpenBoltStore(gatewayStorePath(&cfg, ""), BoltStoreOptions{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Errorf("the gateway store is still locked after a failed start: %v", err)
	} else {
		_ = gw.Close()
	}
	st, err := consent.OpenBolt(cfg.Store.Embedded.Path, consent.BoltOptions{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Errorf("the consent store is still locked after a failed start: %v", err)
	} else {
		_ = st.Close()
	}
}
