package consent_test

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

func TestTransitionPendingReply(t *testing.T) {
	at := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	retry := at.Add(consent.PendingReplyRetry)
	optedIn := consent.Record{State: consent.StateOptedIn, Requests: 1,
		RequestFrom: [2]string{"+18885550100"}, RequestSeq: [2]uint32{1}, Seq: 2}
	pending := func(r consent.Record, reply consent.Reply) consent.Record {
		r.PendingReply, r.PendingSince = reply, at
		return r
	}
	optedOut := consent.Record{State: consent.StateOptedOut, Prior: consent.StateOptedIn, Seq: 3}
	resumed := consent.Record{State: consent.StateOptedIn, Seq: 4}

	tests := []struct {
		name        string
		before      consent.Record
		kind        consent.EventKind
		reply       consent.Reply // of an EventReplyQueued
		time        time.Time
		wantOutcome consent.Outcome
		wantSkip    consent.Skip
		wantReply   consent.Reply
		wantPending consent.Reply
		wantSince   time.Time
	}{
		{name: "stop leaves its confirmation pending", before: optedIn, kind: consent.EventStop, time: at,
			wantOutcome: consent.OutcomeOptedOut, wantReply: consent.ReplyOptOut,
			wantPending: consent.ReplyOptOut, wantSince: at},
		{name: "redelivered stop owes the confirmation", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventStop, time: retry, wantSkip: consent.SkipAlreadyOptedOut,
			wantReply: consent.ReplyOptOut, wantPending: consent.ReplyOptOut, wantSince: retry},
		{name: "stop within the retry wait owes nothing", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventStop, time: retry.Add(-time.Nanosecond), wantSkip: consent.SkipAlreadyOptedOut,
			wantPending: consent.ReplyOptOut, wantSince: at},
		{name: "stop after the queued confirmation owes nothing", before: optedOut, kind: consent.EventStop,
			time: retry, wantSkip: consent.SkipAlreadyOptedOut},
		{name: "queued confirmation clears it", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventReplyQueued, reply: consent.ReplyOptOut, time: at.Add(time.Second),
			wantOutcome: consent.OutcomeReplyQueued},
		{name: "queued reply of another kind is skipped", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventReplyQueued, reply: consent.ReplyResume, time: at.Add(time.Second),
			wantSkip: consent.SkipReplyNotPending, wantPending: consent.ReplyOptOut, wantSince: at},
		{name: "queued reply with none pending is skipped", before: optedOut,
			kind: consent.EventReplyQueued, reply: consent.ReplyOptOut, time: at,
			wantSkip: consent.SkipReplyNotPending},
		{name: "redelivered yes owes the opt-in confirmation", before: pending(optedIn, consent.ReplyOptIn),
			kind: consent.EventYes, time: retry, wantSkip: consent.SkipAlreadyOptedIn,
			wantReply: consent.ReplyOptIn, wantPending: consent.ReplyOptIn, wantSince: retry},
		{name: "stop pending is no opt-in confirmation", before: pending(optedIn, consent.ReplyOptOut),
			kind: consent.EventYes, time: retry, wantSkip: consent.SkipAlreadyOptedIn,
			wantPending: consent.ReplyOptOut, wantSince: at},
		{name: "redelivered unstop owes the resume confirmation", before: pending(resumed, consent.ReplyResume),
			kind: consent.EventResume, time: retry, wantSkip: consent.SkipNotOptedOut,
			wantReply: consent.ReplyResume, wantPending: consent.ReplyResume, wantSince: retry},
		{name: "unstop replaces a pending stop confirmation", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventResume, time: at.Add(time.Second), wantOutcome: consent.OutcomeResumed,
			wantReply: consent.ReplyResume, wantPending: consent.ReplyResume, wantSince: at.Add(time.Second)},
		{name: "request clears a pending resume confirmation",
			before: pending(consent.Record{State: consent.StateNone, Seq: 2}, consent.ReplyResume),
			kind:   consent.EventRequest, time: retry, wantOutcome: consent.OutcomeRequested},
		{name: "help keeps the pending confirmation", before: pending(optedOut, consent.ReplyOptOut),
			kind: consent.EventHelp, time: retry, wantOutcome: consent.OutcomeHelp, wantReply: consent.ReplyHelp,
			wantPending: consent.ReplyOptOut, wantSince: at},
		{name: "imported opt-out owes no confirmation", before: optedIn, kind: consent.EventImport, time: at,
			wantOutcome: consent.OutcomeOptedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := consent.Event{Kind: tc.kind, Account: "acme", Number: "+12015550101",
				TollFree: "+18885550100", Reply: tc.reply, Import: consent.StateOptedOut, Time: tc.time}
			after, eff := consent.Transition(tc.before, ev)
			if eff.Outcome != tc.wantOutcome {
				t.Errorf("outcome = %s, want %s", eff.Outcome, tc.wantOutcome)
			}
			if eff.Skip != tc.wantSkip {
				t.Errorf("skip = %q, want %q", eff.Skip, tc.wantSkip)
			}
			if eff.Reply != tc.wantReply {
				t.Errorf("reply = %s, want %s", eff.Reply, tc.wantReply)
			}
			if after.PendingReply != tc.wantPending {
				t.Errorf("pending reply = %s, want %s", after.PendingReply, tc.wantPending)
			}
			if !after.PendingSince.Equal(tc.wantSince) {
				t.Errorf("pending since = %s, want %s", after.PendingSince, tc.wantSince)
			}
			if after.Seq != tc.before.Seq+1 {
				t.Errorf("seq = %d, want %d", after.Seq, tc.before.Seq+1)
			}
		})
	}
}

func TestReplyQueuedEventValidation(t *testing.T) {
	ev := consent.Event{Kind: consent.EventReplyQueued, Account: "acme", Number: "+12015550101",
		Time: time.Unix(100, 0)}
	for _, r := range []consent.Reply{consent.ReplyOptOut, consent.ReplyOptIn, consent.ReplyResume} {
		ev.Reply = r
		if err := ev.Validate(); err != nil {
			t.Errorf("queued %s reply rejected: %v", r, err)
		}
	}
	for _, r := range []consent.Reply{consent.ReplyNone, consent.ReplyHelp, consent.Reply(9)} {
		ev.Reply = r
		if err := ev.Validate(); err == nil {
			t.Errorf("queued %s reply accepted", r)
		}
	}
}

func TestRecordEncodingPendingReply(t *testing.T) {
	r := consent.Record{State: consent.StateOptedOut, Prior: consent.StateOptedIn, Requests: 1,
		RequestFrom: [2]string{"+18885550100"}, RequestSeq: [2]uint32{1}, Seq: 3, Source: consent.SourceSMPP,
		Updated:      time.Date(2026, 3, 2, 15, 0, 0, 5, time.UTC),
		PendingReply: consent.ReplyOptOut, PendingSince: time.Date(2026, 3, 2, 15, 0, 0, 5, time.UTC)}
	b, err := r.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 2 {
		t.Errorf("encoding version = %d, want 2", b[0])
	}
	var got consent.Record
	if err := got.UnmarshalBinary(b); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if got.PendingReply != consent.ReplyOptOut || !got.PendingSince.Equal(r.PendingSince) {
		t.Errorf("pending reply %s since %s, want opt_out since %s", got.PendingReply, got.PendingSince, r.PendingSince)
	}
	if got.State != r.State || got.Prior != r.Prior || got.Seq != r.Seq || got.RequestFrom != r.RequestFrom {
		t.Errorf("round trip gave %+v, want %+v", got, r)
	}

	if _, err := (consent.Record{PendingReply: consent.ReplyHelp}).MarshalBinary(); err == nil {
		t.Error("marshal accepted a pending HELP reply")
	}
	bad := append([]byte(nil), b...)
	bad[5] = byte(consent.ReplyHelp)
	if err := new(consent.Record).UnmarshalBinary(bad); !errors.Is(err, consent.ErrCorruptRecord) {
		t.Errorf("pending HELP reply: error %v, want ErrCorruptRecord", err)
	}
}

// Version 1 records, written before confirmations were tracked, decode as
// records with no pending reply.
func TestRecordDecodesVersion1(t *testing.T) {
	updated := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	b := []byte{1, byte(consent.StateOptedOut), byte(consent.StateOptedIn), byte(consent.SourceSMPP), 1}
	b = binary.AppendUvarint(b, 7)
	b = binary.AppendVarint(b, updated.UnixNano())
	b = binary.AppendUvarint(b, 12)
	b = append(b, "+18885550100"...)
	b = binary.AppendUvarint(b, 2)

	var r consent.Record
	if err := r.UnmarshalBinary(b); err != nil {
		t.Fatalf("decode version 1: %v", err)
	}
	want := consent.Record{State: consent.StateOptedOut, Prior: consent.StateOptedIn, Requests: 1,
		RequestFrom: [2]string{"+18885550100"}, RequestSeq: [2]uint32{2}, Seq: 7, Source: consent.SourceSMPP}
	if !r.Updated.Equal(updated) {
		t.Errorf("updated = %s, want %s", r.Updated, updated)
	}
	r.Updated = time.Time{}
	if r != want {
		t.Errorf("version 1 record = %+v, want %+v", r, want)
	}

	// A STOP on a version 1 opted-out record owes nothing: its
	// confirmation was sent before the upgrade.
	_, eff := consent.Transition(r, consent.Event{Kind: consent.EventStop, Time: updated.Add(time.Hour)})
	if eff.Reply != consent.ReplyNone {
		t.Errorf("STOP on a version 1 opted-out record owes %s, want none", eff.Reply)
	}
	for i := 5; i < len(b); i++ {
		if err := new(consent.Record).UnmarshalBinary(b[:i]); !errors.Is(err, consent.ErrCorruptRecord) {
			t.Errorf("version 1 truncated to %d bytes: error %v, want ErrCorruptRecord", i, err)
		}
	}
}

func TestEngineRedeliveredStopConfirmsOnce(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	ctx := context.Background()

	// The first delivery is applied, and the caller stops before it
	// queues the confirmation, so it never calls ReplyQueued.
	first := f.mo(subscriber, tfAcme, "STOP")
	if len(first.Replies) != 1 || first.Effect.Reply != consent.ReplyOptOut {
		t.Fatalf("first STOP: %d replies, effect %+v, want one opt-out confirmation", len(first.Replies), first.Effect)
	}
	f.clock.Set(noon.Add(time.Minute))
	again := f.mo(subscriber, tfAcme, "STOP")
	if len(again.Replies) != 1 || again.Replies[0].Text != first.Replies[0].Text {
		t.Fatalf("redelivered STOP replies = %+v, want the confirmation %q", again.Replies, first.Replies[0].Text)
	}
	if err := f.e.ReplyQueued(ctx, again, "mo-2"); err != nil {
		t.Fatalf("ReplyQueued: %v", err)
	}
	f.clock.Set(noon.Add(2 * time.Minute))
	if third := f.mo(subscriber, tfAcme, "STOP"); len(third.Replies) != 0 {
		t.Errorf("third STOP replies = %+v, want none", third.Replies)
	}

	h := history(t, f.store, acme, subscriber)
	var queued []consent.AuditEntry
	for _, e := range h {
		if e.Event == consent.EventReplyQueued {
			queued = append(queued, e)
		}
	}
	if len(queued) != 1 {
		t.Fatalf("%d reply_queued entries, want 1", len(queued))
	}
	if e := queued[0]; e.Text != first.Replies[0].Text || len(e.MessageIDs) != 1 || e.MessageIDs[0] != "mo-2" {
		t.Errorf("reply_queued entry = %+v, want the reply text and message id mo-2", e)
	}
	ev, err := f.e.Evidence(ctx, acme, subscriber)
	if err != nil {
		t.Fatalf("evidence: %v", err)
	}
	if ev.PendingReply != consent.ReplyNone {
		t.Errorf("evidence pending reply = %s, want none", ev.PendingReply)
	}
}

func TestEngineReplyQueuedSkipsHelp(t *testing.T) {
	f := newFixture(t)
	help := f.mo(subscriber, tfAcme, "HELP")
	if len(help.Replies) != 1 {
		t.Fatalf("HELP: %d replies, want 1", len(help.Replies))
	}
	if err := f.e.ReplyQueued(context.Background(), help, "mo-1"); err != nil {
		t.Fatalf("ReplyQueued for HELP: %v", err)
	}
	if h := history(t, f.store, acme, subscriber); len(h) != 1 {
		t.Errorf("history has %d entries, want only the HELP", len(h))
	}

	stop := f.mo(subscriber, tfAcme, "STOP")
	ev, err := f.e.Evidence(context.Background(), acme, subscriber)
	if err != nil {
		t.Fatalf("evidence: %v", err)
	}
	if ev.PendingReply != consent.ReplyOptOut {
		t.Errorf("evidence pending reply after STOP = %s, want opt_out", ev.PendingReply)
	}
	failing := newFixtureWithStore(t, &failingStore{Store: f.store, err: errors.New("connection refused")})
	if err := failing.e.ReplyQueued(context.Background(), stop, "mo-2"); !errors.Is(err, consent.ErrStoreUnavailable) {
		t.Errorf("ReplyQueued on a failing store: error %v, want ErrStoreUnavailable", err)
	}
	if n := failing.e.Stats().StoreErrors; n != 1 {
		t.Errorf("store errors counted = %d, want 1", n)
	}
}
