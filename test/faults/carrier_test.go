package faults

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/faultproxy"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// carrierFault is one way of breaking the carrier link. start runs once
// the business has enough responses that the window is known to be full,
// and heal, when set, runs healAfter later (default 2s).
type carrierFault struct {
	name      string
	start     func(p *faultproxy.Proxy)
	heal      func(p *faultproxy.Proxy)
	healAfter time.Duration
	// enquireLink is the carrier's enquire_link interval. Default 500ms.
	enquireLink time.Duration
	// before runs before any traffic, for faults present from the start.
	before func(p *faultproxy.Proxy)
}

var carrierFaults = []carrierFault{
	{name: "carrier link reset with a full window",
		start: func(p *faultproxy.Proxy) { p.Reset() }},
	{name: "carrier link half-closed toward optgate",
		start: func(p *faultproxy.Proxy) { p.HalfClose(faultproxy.Downstream) }},
	{name: "carrier link half-closed toward the SMSC",
		start: func(p *faultproxy.Proxy) { p.HalfClose(faultproxy.Upstream) }},
	{name: "carrier link silent both ways, then back",
		start: func(p *faultproxy.Proxy) {
			p.Drop(faultproxy.Upstream)
			p.Drop(faultproxy.Downstream)
		},
		heal: func(p *faultproxy.Proxy) { p.Resume() }},
	// Longer than the business's response timeout, and with no
	// enquire_link due: the first submit_sm that times out must make
	// optgate drop the link, so that every submit is answered before the
	// business's own timeout.
	{name: "carrier link silent both ways for 12s, enquire_link 30s",
		enquireLink: 30 * time.Second,
		start: func(p *faultproxy.Proxy) {
			p.Drop(faultproxy.Upstream)
			p.Drop(faultproxy.Downstream)
		},
		heal:      func(p *faultproxy.Proxy) { p.Resume() },
		healAfter: 12 * time.Second},
	{name: "carrier link delayed 300ms with a full window",
		before: func(p *faultproxy.Proxy) { p.SetDelay(faultproxy.Downstream, 300*time.Millisecond) },
		start:  func(*faultproxy.Proxy) {},
		heal:   func(p *faultproxy.Proxy) { p.Resume() }},
}

// TestCarrierFaults sends MT from a business over SMPP while the carrier
// link breaks. Every submit must get a submit_sm_resp within the
// business's response timeout, every text the business got ESME_ROK for
// must reach the simulator exactly once, no text may reach it twice, and
// no text to a number without consent may be accepted.
func TestCarrierFaults(t *testing.T) {
	for _, fault := range carrierFaults {
		t.Run(fault.name, func(t *testing.T) {
			runCarrierFault(t, fault)
		})
	}
}

// mtOutcome is the response one submit_sm got.
type mtOutcome struct {
	to, text string
	status   smpp.CommandStatus
	err      error
}

func runCarrierFault(t *testing.T, fault carrierFault) {
	const (
		total      = 60
		blockEvery = 6 // every sixth text goes to the number without consent
		faultAfter = 15
	)
	r := newRig(t, rigOptions{window: 5, enquireLink: fault.enquireLink})
	// Every response waits 50ms, so the carrier window stays full.
	if err := r.sim.SetRules([]smscsim.Rule{{Delay: 50 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	if fault.before != nil {
		fault.before(r.carrier)
	}
	b := bindBusiness(t, r.ctx, r.d.SMPPAddr().String(), smpp.BindTypeTransmitter)

	var responses atomic.Int32
	triggered := make(chan struct{})
	go func() {
		defer close(triggered)
		for responses.Load() < faultAfter && r.ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		fault.start(r.carrier)
		if fault.heal != nil {
			wait := fault.healAfter
			if wait == 0 {
				wait = 2 * time.Second
			}
			time.Sleep(wait)
			fault.heal(r.carrier)
		}
	}()

	// More submits in flight than the carrier window, and fewer than the
	// business session's inbound window, so optgate queues none of them
	// at its own door.
	outcomes := make([]mtOutcome, total)
	inFlight := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range total {
		inFlight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inFlight }()
			to := optedIn
			if i%blockEvery == 0 {
				to = noConsent
			}
			text := fmt.Sprintf("mt %02d", i)
			status, err := b.submit(r.ctx, to, text)
			outcomes[i] = mtOutcome{to: to, text: text, status: status, err: err}
			responses.Add(1)
		})
	}
	wg.Wait()
	<-triggered

	c := tallyMT(t, r, fault.name, outcomes)

	// The link comes back by itself and takes new traffic.
	// A session that went silent may still count as bound until its
	// enquire_link times out, so a temporary status is allowed for a
	// while, each try with its own text.
	tries := 0
	waitFor(t, "an MT accepted after the fault", func() bool {
		tries++
		status, err := b.submit(r.ctx, optedIn, fmt.Sprintf("after the fault %d", tries))
		if err == nil && status != smpp.StatusOK && !carrierTemporary(status) {
			t.Fatalf("MT after the fault: status %v, want ESME_ROK or a temporary carrier status", status)
		}
		return err == nil && status == smpp.StatusOK
	})
	if tries > 1 {
		t.Logf("the first MT accepted after the fault was try %d", tries)
	}
	c.report(t)
}

// carrierTemporary reports whether status is one optgate sends while a
// carrier link is down or unconfirmed, after which the business retries.
func carrierTemporary(status smpp.CommandStatus) bool {
	for _, code := range []gateway.Code{gateway.CodeCarrierTimeout, gateway.CodeCarrierUnavailable, gateway.CodeCarrierBusy} {
		if status == gateway.StatusFor(code).SMPP {
			return true
		}
	}
	return status == smpp.StatusThrottled
}

// tallyMT compares the responses the business got with what the simulator
// received.
func tallyMT(t *testing.T, r *rig, fault string, outcomes []mtOutcome) tally {
	t.Helper()
	accepted, received := r.atCarrier()
	c := tally{fault: fault, sent: len(outcomes)}
	statuses := map[string]int{}
	for _, o := range outcomes {
		if o.err != nil {
			statuses["no response"]++
			t.Errorf("%q: no submit_sm_resp within the business's %v response timeout: %v",
				o.text, businessResponseTimeout, o.err)
			continue
		}
		statuses[o.status.String()]++
		if o.to == noConsent {
			if o.status == smpp.StatusOK || received[o.text] > 0 {
				c.wronglyAllow++
			}
			// A full inbound window may throttle it before the consent
			// check, which is a refusal too.
			if want := gateway.StatusFor(gateway.CodeNoConsent).SMPP; o.status != want && o.status != smpp.StatusThrottled {
				t.Errorf("%q to the number without consent: status %v, want %v", o.text, o.status, want)
			}
			continue
		}
		if o.status != smpp.StatusOK {
			continue
		}
		c.acknowledged++
		if accepted[o.text] > 0 {
			c.delivered++
		} else {
			c.lost++
			t.Errorf("%q: the business got ESME_ROK but the carrier did not accept it", o.text)
		}
	}
	for text, n := range received {
		if n > 1 {
			c.duplicated++
			t.Errorf("%q reached the carrier %d times", text, n)
		}
	}
	t.Logf("responses to the business by status: %v", statuses)
	return c
}
