package gateway

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// TestDaemonCarrierDropMidWindow drops the carrier connection while its
// window is full and compares what the carrier received with the
// responses the business got: every message the business got an id for is at the
// carrier, no message reached the carrier twice, and a message reported
// as not sent is not there.
func TestDaemonCarrierDropMidWindow(t *testing.T) {
	const (
		total     = 40
		dropAfter = 15
	)
	f := newDaemonFixture(t, daemonOptions{
		config: func(c *config.Config) {
			c.Carriers[0].Window = 10
			c.Accounts[0].ESMEs[0].MaxBinds = 4
		},
	})
	f.setState(sub1, consent.StateOptedIn)
	// Every response waits 50ms, so the window stays full. The submit after
	// the first dropAfter gets no response, and its connection is closed.
	err := f.sim.SetRules([]smscsim.Rule{
		{Delay: 50 * time.Millisecond, Count: dropAfter},
		{Drop: true, Count: 1},
		{Delay: 50 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}

	binds := []*business{}
	for range 4 {
		binds = append(binds, f.bind("acme01", "secret1", smpp.BindTypeTransmitter))
	}
	type outcome struct {
		text   string
		id     string
		status smpp.CommandStatus
	}
	outcomes := make([]outcome, total)
	var wg sync.WaitGroup
	for i := range total {
		wg.Go(func() {
			text := fmt.Sprintf("message %02d", i)
			id, status := binds[i%len(binds)].submit(t, submitSM(t, acmeTollFree, sub1, text, 0))
			outcomes[i] = outcome{text: text, id: id, status: status}
		})
	}
	wg.Wait()

	atCarrier := map[string]int{}
	accepted := map[string]bool{}
	dropped := 0
	for _, m := range f.sim.Messages() {
		atCarrier[m.Text]++
		if m.Dropped {
			dropped++
		}
		if m.Status == smpp.StatusOK && !m.Dropped {
			accepted[m.Text] = true
		}
	}
	counts := map[string]int{}
	for _, o := range outcomes {
		switch o.status {
		case smpp.StatusOK:
			counts["told accepted"]++
			if !accepted[o.text] {
				t.Errorf("%q: the business got id %s but the carrier did not accept it", o.text, o.id)
			}
			if _, err := f.d.store.Message(f.ctx, o.id); err != nil {
				t.Errorf("%q: no id mapping for %s: %v", o.text, o.id, err)
			}
		case StatusFor(CodeCarrierTimeout).SMPP:
			counts["told unconfirmed"]++
		case StatusFor(CodeCarrierUnavailable).SMPP:
			counts["told not sent"]++
			if atCarrier[o.text] != 0 {
				t.Errorf("%q: reported as not sent but the carrier has it", o.text)
			}
		default:
			counts[fmt.Sprintf("told %v", o.status)]++
			t.Errorf("%q: unexpected status %v", o.text, o.status)
		}
	}
	for text, n := range atCarrier {
		if n > 1 {
			t.Errorf("%q reached the carrier %d times", text, n)
		}
	}
	if dropped != 1 {
		t.Errorf("the carrier dropped %d submits, want 1", dropped)
	}
	if counts["told unconfirmed"] == 0 {
		t.Errorf("no submit was in flight at the drop; the test did not fill the window")
	}
	t.Logf("business: %d accepted, %d unconfirmed, %d not sent; carrier: %d received, %d accepted, %d dropped",
		counts["told accepted"], counts["told unconfirmed"], counts["told not sent"],
		len(f.sim.Messages()), len(accepted), dropped)
	if lost := gathered(t, f.d.prom, "optgate_carrier_sessions_lost_total", nil); lost < 1 {
		t.Errorf("sessions lost metric %v, want at least 1", lost)
	}
	unconfirmed := gathered(t, f.d.prom, "optgate_carrier_submits_unconfirmed_total", nil)
	if n := unconfirmed; int(n) != counts["told unconfirmed"] {
		t.Errorf("unconfirmed metric %v, want %d", n, counts["told unconfirmed"])
	}

	// The bind comes back and takes new traffic.
	f.waitFor("the carrier to bind again", f.d.carriersReady)
	if _, status := binds[0].submit(t, submitSM(t, acmeTollFree, sub1, "after the drop", 0)); status != smpp.StatusOK {
		t.Errorf("after the reconnect: status %v", status)
	}
}
