package faults

import (
	"fmt"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/faultproxy"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// redisFault is one way of breaking optgate's connection to Redis.
type redisFault struct {
	name  string
	start func(p *faultproxy.Proxy)
}

var redisFaults = []redisFault{
	{name: "redis unreachable", start: func(p *faultproxy.Proxy) {
		p.Reject()
		p.Reset()
	}},
	// The store's read timeout in the rig's configuration is 300ms.
	{name: "redis slower than the deadline", start: func(p *faultproxy.Proxy) {
		p.SetDelay(faultproxy.Downstream, 1500*time.Millisecond)
	}},
}

// TestRedisFaults breaks the consent store while MT and MO flow. optgate
// must fail closed: MT gets the temporary store_unavailable status and is
// never allowed, an MO STOP is not acknowledged to the carrier, and
// /readyz reports not ready. Once Redis is back everything recovers by
// itself, and the STOP the carrier sends again is applied and delivered
// to the business once.
func TestRedisFaults(t *testing.T) {
	for _, fault := range redisFaults {
		t.Run(fault.name, func(t *testing.T) {
			runRedisFault(t, fault)
		})
	}
}

func runRedisFault(t *testing.T, fault redisFault) {
	const perPhase = 5
	r := newRig(t, rigOptions{})
	b := bindBusiness(t, r.ctx, r.d.SMPPAddr().String(), smpp.BindTypeTransceiver)
	c := tally{fault: fault.name}
	unavailable := gateway.StatusFor(gateway.CodeStoreUnavailable).SMPP

	// During the fault every MT gets the temporary status, whether or not
	// the number consented.
	fault.start(r.redis)
	r.waitReady(false)
	for i := range perPhase {
		for _, to := range []string{optedIn, noConsent} {
			text := fmt.Sprintf("during %s %d", to, i)
			status, err := b.submit(r.ctx, to, text)
			c.sent++
			if err != nil {
				t.Errorf("MT %q during the fault: no response: %v", text, err)
				continue
			}
			if status == smpp.StatusOK {
				c.wronglyAllow++
			}
			if status != unavailable {
				t.Errorf("MT %q during the fault: status %v, want %v (store_unavailable)", text, status, unavailable)
			}
		}
	}
	if _, received := r.atCarrier(); len(received) != 0 {
		c.wronglyAllow += len(received)
		t.Errorf("the carrier received %d texts during the fault: %v", len(received), received)
	}

	// An MO STOP is not acknowledged, so the carrier keeps it to send
	// again.
	status, err := r.sim.Inject(r.ctx, smscsim.MO{From: stopper, To: tollFree, Text: "STOP"})
	c.sent++
	if err != nil {
		t.Fatalf("inject STOP during the fault: %v", err)
	}
	if status == smpp.StatusOK {
		t.Errorf("STOP during the fault got deliver_sm_resp ESME_ROK; want an error so the carrier redelivers")
	}

	// Recovery needs nothing but Redis coming back.
	r.redis.Resume()
	r.waitReady(true)
	for i := range perPhase {
		text := fmt.Sprintf("after %d", i)
		status, err := b.submit(r.ctx, optedIn, text)
		c.sent++
		if err != nil || status != smpp.StatusOK {
			t.Errorf("MT %q after recovery: status %v, error %v; want ESME_ROK", text, status, err)
			continue
		}
		c.acknowledged++
	}
	status, err = b.submit(r.ctx, noConsent, "after, no consent")
	c.sent++
	if err == nil && status == smpp.StatusOK {
		c.wronglyAllow++
	}

	// The carrier redelivers the STOP.
	status, err = r.sim.Inject(r.ctx, smscsim.MO{From: stopper, To: tollFree, Text: "STOP"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("redelivered STOP: status %v, error %v; want ESME_ROK", status, err)
	}
	c.acknowledged++
	if got := r.state(stopper); got != consent.StateOptedOut {
		t.Errorf("consent state of the STOP sender after the redelivery: %v, want %v", got, consent.StateOptedOut)
	}

	waitFor(t, "the MTs after recovery and the STOP confirmation at the carrier", func() bool {
		accepted, _ := r.atCarrier()
		return len(accepted) >= perPhase+1
	})
	waitFor(t, "the STOP at the business", func() bool { return b.received()["STOP"] > 0 })
	// Give a second delivery a chance to show before counting.
	time.Sleep(300 * time.Millisecond)

	accepted, received := r.atCarrier()
	for i := range perPhase {
		if accepted[fmt.Sprintf("after %d", i)] == 1 {
			c.delivered++
		}
	}
	if n := b.received()["STOP"]; n == 1 {
		c.delivered++
	} else if n > 1 {
		c.duplicated++
		t.Errorf("the business got the STOP %d times, want once", n)
	}
	c.lost = c.acknowledged - c.delivered - c.duplicated
	for text, n := range received {
		if n > 1 {
			c.duplicated++
			t.Errorf("%q reached the carrier %d times", text, n)
		}
	}
	confirmations := 0
	for _, m := range r.sim.Messages() {
		if m.Destination == stopper[1:] {
			confirmations++
		}
	}
	if confirmations != 1 {
		t.Errorf("the STOP sender got %d confirmations, want 1", confirmations)
	}
	c.report(t)
}
