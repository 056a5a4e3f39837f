package gateway

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// flowRate is the carrier's rate in the flow test, in segments a second,
// and flowMessages the number of texts, about ten seconds' worth.
const (
	flowRate     = 50
	flowMessages = 500
)

// flowResult is the outcome of one submit_sm as the business saw it.
type flowResult struct {
	status  smpp.CommandStatus
	latency time.Duration
}

func TestDaemonFlowControlUnderThrottle(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Carriers[0].Rate = flowRate
	}})
	f.setState(sub1, consent.StateOptedIn)
	if err := f.sim.SetThrottle(flowRate); err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)

	// Ten workers keep the business's window of ten requests full. A
	// throttled text is submitted again after a pause, as an ESME should.
	results := make([][]flowResult, flowMessages)
	next := make(chan int)
	var wg sync.WaitGroup
	start := time.Now()
	for range smpp.DefaultWindowSize {
		wg.Go(func() {
			for i := range next {
				sm := submitSM(t, acmeTollFree, sub1, "flow "+strconv.Itoa(i), 0)
				for {
					sent := time.Now()
					_, status := b.submit(t, sm)
					results[i] = append(results[i], flowResult{status, time.Since(sent)})
					if status != smpp.StatusThrottled {
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		})
	}
	for i := range flowMessages {
		next <- i
	}
	close(next)
	wg.Wait()
	elapsed := time.Since(start)

	// The business gets ESME_ROK for every text, perhaps after retries.
	var latencies []time.Duration
	businessThrottled := 0
	for i, rs := range results {
		for _, r := range rs {
			latencies = append(latencies, r.latency)
			if r.status == smpp.StatusThrottled {
				businessThrottled++
			}
		}
		if last := rs[len(rs)-1].status; last != smpp.StatusOK {
			t.Errorf("text %d: final status %v, want ESME_ROK", i, last)
		}
	}

	// Every text reached the carrier exactly once.
	accepted := map[string]int{}
	var times []time.Time
	carrierThrottled := 0
	for _, m := range f.sim.Messages() {
		switch m.Status {
		case smpp.StatusOK:
			accepted[m.Text]++
			times = append(times, m.Time)
		case smpp.StatusThrottled:
			carrierThrottled++
		default:
			t.Errorf("simulator message %d: status %v", m.Seq, m.Status)
		}
	}
	for i := range flowMessages {
		if n := accepted["flow "+strconv.Itoa(i)]; n != 1 {
			t.Errorf("text %d reached the carrier %d times, want 1", i, n)
		}
	}
	if len(accepted) != flowMessages {
		t.Errorf("carrier accepted %d distinct texts, want %d", len(accepted), flowMessages)
	}

	// No one-second window, counted from the first accepted text, contains
	// more than the rate and 2 %.
	perSecond := acceptedPerSecond(times)
	limit := int(flowRate * 1.02)
	for s, n := range perSecond {
		if n > limit {
			t.Errorf("second %d: carrier accepted %d texts, want at most %d", s, n, limit)
		}
	}

	slices.Sort(latencies)
	t.Logf("%d texts in %v: carrier accepted %d, throttled %d; business throttled %d",
		flowMessages, elapsed.Round(time.Millisecond), len(times), carrierThrottled, businessThrottled)
	t.Logf("accepted per second %v; submit_sm_resp latency p50 %v, max %v",
		perSecond, latencies[len(latencies)/2].Round(time.Millisecond),
		latencies[len(latencies)-1].Round(time.Millisecond))

	// The business was slowed to the carrier's rate rather than refused.
	messages, ratePerSecond := float64(flowMessages-1), float64(flowRate)
	least := time.Duration(messages / (ratePerSecond * 1.02) * float64(time.Second))
	if elapsed < least {
		t.Errorf("%d texts took %v, want at least %v at %d a second", flowMessages, elapsed, least, flowRate)
	}
}

// acceptedPerSecond counts the times in one-second windows starting at the
// earliest one.
func acceptedPerSecond(times []time.Time) []int {
	if len(times) == 0 {
		return nil
	}
	first := slices.MinFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var counts []int
	for _, at := range times {
		s := int(at.Sub(first) / time.Second)
		for len(counts) <= s {
			counts = append(counts, 0)
		}
		counts[s]++
	}
	return counts
}

// TestDaemonLateBindGetsQueuedItems checks that MOs and receipts that
// arrive while no business is bound wait in the queue, across 30 seconds
// of the daemon's clock, and reach the business in arrival order once it
// binds.
func TestDaemonLateBindGetsQueuedItems(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	f.setState(sub2, consent.StateOptedIn)

	// A transmitter bind sends two texts and leaves; it cannot receive.
	tx := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	var ids []string
	for _, to := range []string{sub1, sub2} {
		id, status := tx.submit(t, submitSM(t, acmeTollFree, to, "Reminder for "+to, smpp.RegisteredDeliveryReceiptAlways))
		if status != smpp.StatusOK {
			t.Fatalf("submit to %s: status %v, want ESME_ROK", to, status)
		}
		ids = append(ids, id)
	}
	f.waitFor("two queued receipts", func() bool { return f.d.store.Depths()["acme"] == 2 })
	mos := []string{"is the clinic open?", "on Saturday?", "thanks"}
	for _, text := range mos {
		f.inject(sub3, acmeTollFree, text)
	}
	f.waitFor("five queued items", func() bool { return f.d.store.Depths()["acme"] == 5 })
	closeCtx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := tx.client.Close(closeCtx); err != nil {
		t.Fatalf("unbind transmitter: %v", err)
	}

	// The business comes back 30 seconds later on the daemon's clock.
	f.clk.mu.Lock()
	f.clk.now = f.clk.now.Add(30 * time.Second)
	f.clk.mu.Unlock()
	time.Sleep(200 * time.Millisecond)
	if n := f.d.store.Depths()["acme"]; n != 5 {
		t.Fatalf("queue holds %d items before the bind, want 5", n)
	}

	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	for i, id := range ids {
		rep := b.receipt(t)
		if rep.MessageID != id {
			t.Errorf("item %d: receipt for %q, want %q", i+1, rep.MessageID, id)
		}
	}
	for i, want := range mos {
		d := b.next(t)
		got, err := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{})
		if err != nil || got != want {
			t.Errorf("item %d: %q (%v), want %q", len(ids)+i+1, got, err, want)
		}
		if d.SourceAddr != strings.TrimPrefix(sub3, "+") {
			t.Errorf("item %d: from %s, want %s", len(ids)+i+1, d.SourceAddr, sub3)
		}
	}
	b.expectNoMore(t, 200*time.Millisecond)
	f.waitFor("the queue to drain", func() bool { return f.d.store.Depths()["acme"] == 0 })
}
