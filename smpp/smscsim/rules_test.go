package smscsim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

func TestThrottleAnswersThrottled(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	if err := sim.SetThrottle(2); err != nil {
		t.Fatal(err)
	}

	var ok, throttled int
	for range 10 {
		_, err := e.Submit(ctx, submitText("Hi", 0))
		switch {
		case err == nil:
			ok++
		case isStatus(err, smpp.StatusThrottled):
			throttled++
		default:
			t.Fatalf("submit: %v", err)
		}
	}
	if ok < 2 || throttled == 0 {
		t.Errorf("%d accepted and %d throttled, want at least 2 accepted and some throttled", ok, throttled)
	}
	var recorded int
	for _, m := range sim.Messages() {
		if m.Status == smpp.StatusThrottled {
			recorded++
			if m.ID != "" {
				t.Errorf("throttled message has id %q", m.ID)
			}
		}
	}
	if recorded != throttled {
		t.Errorf("%d throttled messages recorded, want %d", recorded, throttled)
	}

	// Lifting the limit at run time takes effect for the next submit.
	if err := sim.SetThrottle(0); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := e.Submit(ctx, submitText("Hi", 0)); err != nil {
			t.Fatalf("submit without a throttle: %v", err)
		}
	}
}

func TestRuleStatusForNextSubmits(t *testing.T) {
	for _, status := range []smpp.CommandStatus{
		smpp.StatusThrottled, smpp.StatusMsgQueueFull, smpp.StatusSubmitFailed,
	} {
		t.Run(status.String(), func(t *testing.T) {
			sim := startSim(t, Config{})
			e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
			ctx := testContext(t)
			if err := sim.AddRule(Rule{Destination: "+" + customer, After: 1, Count: 2, Status: status}); err != nil {
				t.Fatal(err)
			}
			want := []smpp.CommandStatus{smpp.StatusOK, status, status, smpp.StatusOK}
			for i, w := range want {
				_, err := e.Submit(ctx, submitText("Hi", 0))
				if w == smpp.StatusOK && err != nil || w != smpp.StatusOK && !isStatus(err, w) {
					t.Errorf("submit %d: %v, want %v", i+1, err, w)
				}
			}
			if rules := sim.Rules(); len(rules) != 0 {
				t.Errorf("rules left after their count: %+v", rules)
			}
		})
	}
}

func TestRuleMatchesDestinationOrText(t *testing.T) {
	sim := startSim(t, Config{Rules: []Rule{
		{Destination: "12015550199", Status: smpp.StatusInvalidDestAddr},
		{TextContains: "FAIL", Status: smpp.StatusSubmitFailed},
	}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	other := submitText("Hi", 0)
	other.DestinationAddr = "12015550199"
	if _, err := e.Submit(ctx, other); !isStatus(err, smpp.StatusInvalidDestAddr) {
		t.Errorf("submit to the ruled destination: %v, want ESME_RINVDSTADR", err)
	}
	if _, err := e.Submit(ctx, submitText("please FAIL", 0)); !isStatus(err, smpp.StatusSubmitFailed) {
		t.Errorf("submit with the ruled text: %v, want ESME_RSUBMITFAIL", err)
	}
	if _, err := e.Submit(ctx, submitText("fine", 0)); err != nil {
		t.Errorf("submit matching no rule: %v", err)
	}
	rules := sim.Rules()
	if len(rules) != 2 || rules[0].Acted != 1 || rules[1].Acted != 1 {
		t.Errorf("rule progress %+v, want each acted once", rules)
	}
}

func TestRuleDelaysResponse(t *testing.T) {
	const delay = 300 * time.Millisecond
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if err := sim.AddRule(Rule{Delay: delay, Count: 1}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := e.Submit(testContext(t), submitText("Hi", 0)); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("response after %v, want at least %v", took, delay)
	}
}

func TestRuleReceiptState(t *testing.T) {
	sim := startSim(t, Config{Rules: []Rule{{
		Destination:      customer,
		ReceiptState:     smpp.StateExpired,
		NetworkErrorCode: &smpp.NetworkErrorCode{NetworkType: smpp.NetworkTypeGSM, ErrorCode: 27},
	}}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	rep := parseReceipt(t, e.next(t))
	if rep.State != smpp.StateExpired || !rep.HasNetworkError || rep.NetworkError.ErrorCode != 27 {
		t.Errorf("receipt state %v network error %v, want EXPIRED with GSM error 27", rep.State, rep.NetworkError)
	}
}

func TestRuleDropsConnectionAfterUnansweredSubmits(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	if _, err := e.Submit(ctx, submitText("before", 0)); err != nil {
		t.Fatal(err)
	}
	if err := sim.AddRule(Rule{Drop: true, Count: 2}); err != nil {
		t.Fatal(err)
	}

	// Two submits in flight: the first is held, the second closes the
	// connection, and neither gets a response.
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := e.Submit(ctx, submitText("lost", 0))
			errs <- err
		}()
	}
	for range 2 {
		err := <-errs
		if err == nil {
			t.Fatal("a dropped submit got a response")
		}
		if !errors.Is(err, smpp.ErrClosed) {
			t.Errorf("dropped submit: %v, want smpp.ErrClosed", err)
		}
	}
	msgs, err := sim.WaitMessages(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs[1:] {
		if !m.Dropped || m.ID != "" {
			t.Errorf("message %d recorded with dropped %v id %q, want dropped without id", m.Seq, m.Dropped, m.ID)
		}
	}

	// The client reconnects, and the used-up rule no longer applies.
	if _, err := e.Submit(ctx, submitText("after", 0)); err != nil {
		t.Errorf("submit after the reconnect: %v", err)
	}
}

func TestRuleValidation(t *testing.T) {
	bad := []Rule{
		{},
		{Status: smpp.StatusThrottled, Count: -1},
		{Drop: true, Status: smpp.StatusThrottled},
		{Delay: -time.Second},
		{ReceiptState: smpp.StateEnroute},
	}
	sim := New(Config{})
	defer sim.Close()
	for _, r := range bad {
		if err := sim.AddRule(r); err == nil {
			t.Errorf("AddRule(%+v) returned no error", r)
		}
	}
	if len(sim.Rules()) != 0 {
		t.Errorf("invalid rules were added: %+v", sim.Rules())
	}
	if err := sim.SetBehaviour(Behaviour{ResponseIDFormat: "base64"}); err == nil {
		t.Error("SetBehaviour accepted an unknown id format")
	}
	if err := sim.SetBehaviour(Behaviour{ReceiptState: smpp.StateEnroute}); err == nil {
		t.Error("SetBehaviour accepted a receipt state that is not final")
	}
	bad2 := New(Config{Behaviour: Behaviour{Throttle: -1}})
	defer bad2.Close()
	if err := bad2.Start(context.Background()); err == nil {
		t.Error("Start accepted a negative throttle")
	}
}
