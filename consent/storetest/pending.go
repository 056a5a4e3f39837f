package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// pendingReplyCases check that a confirmation stays pending until it is
// reported queued, so a keyword redelivered after a crash gets it once.
var pendingReplyCases = []struct {
	name string
	run  func(t *testing.T, s consent.Store)
}{
	{"RedeliveredStopConfirmsOnce", testRedeliveredStopConfirmsOnce},
	{"RepeatWithinRetryOwesNothing", testRepeatWithinRetryOwesNothing},
	{"PendingReplyStored", testPendingReplyStored},
	{"ReplyQueuedOnlyForPending", testReplyQueuedOnlyForPending},
	{"RedeliveredYesAndUnstopConfirm", testRedeliveredYesAndUnstopConfirm},
	{"ReplyQueuedInAudit", testReplyQueuedInAudit},
}

func testRedeliveredStopConfirmsOnce(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.replyQueued(sc.yes(TollFree))

	// The first delivery opts out, and optgate stops before queueing the
	// confirmation. The carrier's redelivery owes it again.
	first := sc.stop()
	wantReply(t, first, consent.ReplyOptOut)
	again := sc.stop()
	wantSkip(t, again, consent.SkipAlreadyOptedOut)
	wantReply(t, again, consent.ReplyOptOut)
	if again.Entry.ReplyText == "" || again.Entry.Reply != consent.ReplyOptOut {
		t.Errorf("audit entry of the redelivered STOP = %+v, want its opt_out reply and text", again.Entry)
	}
	r := sc.record()
	wantState(t, r, consent.StateOptedOut)
	if r.Prior != consent.StateOptedIn {
		t.Errorf("prior state after the redelivery = %s, want opted_in", r.Prior)
	}

	// Once the redelivery's confirmation is queued, later STOPs owe none.
	sc.replyQueued(again)
	for i := range 2 {
		a := sc.stop()
		wantSkip(t, a, consent.SkipAlreadyOptedOut)
		wantReply(t, a, consent.ReplyNone)
		if a.Entry.ReplyText != "" {
			t.Errorf("STOP %d after the queued confirmation recorded reply text %q", i+3, a.Entry.ReplyText)
		}
	}
}

func testRepeatWithinRetryOwesNothing(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	first := sc.stop()
	wantReply(t, first, consent.ReplyOptOut)

	// A duplicate while the first delivery may still be queueing its reply.
	dup := sc.event(consent.EventStop, TollFree, "STOP")
	dup.Time = first.Entry.Time.Add(time.Second)
	wantReply(t, sc.apply(dup), consent.ReplyNone)

	// Whole seconds suffice: the Redis store keeps the time in seconds.
	late := sc.event(consent.EventStop, TollFree, "STOP")
	late.Time = first.Entry.Time.Add(consent.PendingReplyRetry + time.Second)
	redelivered := sc.apply(late)
	wantReply(t, redelivered, consent.ReplyOptOut)

	// The redelivery restarts the wait, so its own duplicate owes none.
	dup2 := sc.event(consent.EventStop, TollFree, "STOP")
	dup2.Time = late.Time.Add(time.Second)
	wantReply(t, sc.apply(dup2), consent.ReplyNone)
}

func testPendingReplyStored(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.stop()
	r := sc.record()
	if r.PendingReply != consent.ReplyOptOut {
		t.Errorf("pending reply after STOP = %s, want opt_out", r.PendingReply)
	}
	if got, want := r.PendingSince.Unix(), a.Entry.Time.Unix(); got != want {
		t.Errorf("pending since = %s, want the STOP's time %s", r.PendingSince, a.Entry.Time)
	}
	many, err := s.GetMany(t.Context(), []consent.Key{{Account: Account, Number: Number}})
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if many[0].PendingReply != consent.ReplyOptOut {
		t.Errorf("GetMany pending reply = %s, want opt_out", many[0].PendingReply)
	}

	sc.replyQueued(a)
	r = sc.record()
	if r.PendingReply != consent.ReplyNone || !r.PendingSince.IsZero() {
		t.Errorf("record after the reply was queued: pending %s since %s, want none", r.PendingReply, r.PendingSince)
	}
	wantState(t, r, consent.StateOptedOut)
	if !r.Updated.Equal(a.After.Updated) {
		t.Errorf("update time = %s, want %s: a queued reply changes no consent", r.Updated, a.After.Updated)
	}
}

func testReplyQueuedOnlyForPending(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	stop := sc.stop()
	resume := sc.unstop()

	// The STOP's confirmation is reported only after the UNSTOP replaced
	// it: the resume confirmation stays pending.
	late := sc.event(consent.EventReplyQueued, TollFree, stop.Entry.ReplyText)
	late.Reply = consent.ReplyOptOut
	a := sc.apply(late)
	wantSkip(t, a, consent.SkipReplyNotPending)
	if a.Effect.Outcome != consent.OutcomeNone {
		t.Errorf("stale reply queued: outcome %s, want none", a.Effect.Outcome)
	}
	if r := sc.record(); r.PendingReply != consent.ReplyResume {
		t.Errorf("pending reply after a stale report = %s, want resume", r.PendingReply)
	}

	sc.replyQueued(resume)
	twice := sc.event(consent.EventReplyQueued, TollFree, resume.Entry.ReplyText)
	twice.Reply = consent.ReplyResume
	wantSkip(t, sc.apply(twice), consent.SkipReplyNotPending)
}

func testRedeliveredYesAndUnstopConfirm(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	yes := sc.yes(TollFree)
	again := sc.yes(TollFree)
	wantSkip(t, again, consent.SkipAlreadyOptedIn)
	wantReply(t, again, consent.ReplyOptIn)
	sc.replyQueued(again)
	wantReply(t, sc.yes(TollFree), consent.ReplyNone)
	if yes.Effect.Reply != consent.ReplyOptIn {
		t.Errorf("first YES reply = %s, want opt_in", yes.Effect.Reply)
	}

	sc.replyQueued(sc.stop())
	sc.unstop()
	unstop := sc.unstop()
	wantSkip(t, unstop, consent.SkipNotOptedOut)
	wantReply(t, unstop, consent.ReplyResume)
	sc.replyQueued(unstop)
	wantReply(t, sc.unstop(), consent.ReplyNone)
	wantReason(t, sc.record(), consent.ReasonNone)
}

func testReplyQueuedInAudit(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	stop := sc.stop()
	q := sc.replyQueued(stop)
	if q.Effect.Changed || q.Effect.OwesReply() {
		t.Errorf("reply queued effect = %+v, want no change and no reply", q.Effect)
	}

	h := history(t, s, Account, Number)
	if len(h) != 2 {
		t.Fatalf("history has %d entries, want 2", len(h))
	}
	e := h[1]
	if e.Event != consent.EventReplyQueued || e.Outcome != consent.OutcomeReplyQueued {
		t.Errorf("second entry is %s with outcome %s, want event and outcome reply_queued", e.Event, e.Outcome)
	}
	if e.Text != stop.Entry.ReplyText {
		t.Errorf("entry text = %q, want the queued reply %q", e.Text, stop.Entry.ReplyText)
	}
	if !slices.Equal(e.MessageIDs, q.Entry.MessageIDs) || len(e.MessageIDs) != 1 {
		t.Errorf("entry message ids = %v, want %v", e.MessageIDs, q.Entry.MessageIDs)
	}
	if e.Before != consent.StateOptedOut || e.After != consent.StateOptedOut {
		t.Errorf("entry states %s to %s, want opted_out to opted_out", e.Before, e.After)
	}
}
