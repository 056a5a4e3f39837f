// Package storetest is the conformance suite for consent.Store
// implementations. Every store runs the same named subtests, one per
// consent rule, so the embedded and the Redis stores enforce the rules
// identically.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// Test numbers used by the suite.
const (
	Account      = "acct-1"
	OtherAccount = "acct-2"
	Number       = "+12015550101"
	OtherNumber  = "+12015550102"
	TollFree     = "+18885550100"
	OtherTF      = "+18005550100"
)

// Opener returns a new, empty store for one test and registers its cleanup
// with t. The suite closes a store itself only in ClosedStoreFails, so the
// cleanup must accept a closed store.
type Opener func(t *testing.T) consent.Store

// Run runs every conformance subtest against stores made by open.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
	for _, tc := range reviewCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
	for _, tc := range engineCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
	for _, tc := range engineRuleCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
	for _, tc := range pendingReplyCases {
		t.Run(tc.name, func(t *testing.T) {
			tc.run(t, open(t))
		})
	}
}

var cases = []struct {
	name string
	run  func(t *testing.T, s consent.Store)
}{
	{"GetMissingIsZero", testGetMissingIsZero},
	{"MTBlockedWithoutConsent", testMTBlockedWithoutConsent},
	{"RequestThenYesOptsIn", testRequestThenYesOptsIn},
	{"YesWithoutRequestIgnored", testYesWithoutRequestIgnored},
	{"ThirdRequestRefused", testThirdRequestRefused},
	{"YesToEitherRequestSender", testYesToEitherRequestSender},
	{"YesToOtherTollFreeIgnored", testYesToOtherTollFreeIgnored},
	{"RequestsNeverExpire", testRequestsNeverExpire},
	{"YesNeverLiftsStop", testYesNeverLiftsStop},
	{"NoRequestToOptedOut", testNoRequestToOptedOut},
	{"StopFromAnyState", testStopFromAnyState},
	{"OneConfirmationPerOptOut", testOneConfirmationPerOptOut},
	{"UnstopRestoresPriorOptIn", testUnstopRestoresPriorOptIn},
	{"UnstopWithoutPriorOptIn", testUnstopWithoutPriorOptIn},
	{"UnstopWhenNotOptedOutIgnored", testUnstopWhenNotOptedOutIgnored},
	{"HelpAnsweredWhenOptedOut", testHelpAnsweredWhenOptedOut},
	{"ConsentCoversOneNumber", testConsentCoversOneNumber},
	{"ConsentCoversOneAccount", testConsentCoversOneAccount},
	{"VoidedNumberBlocked", testVoidedNumberBlocked},
	{"ImportNeverLiftsStop", testImportNeverLiftsStop},
	{"AuditRecordsEveryChange", testAuditRecordsEveryChange},
	{"YesAuditCarriesRequestText", testYesAuditCarriesRequestText},
	{"HistoryOrder", testHistoryOrder},
	{"GetManyBatch", testGetManyBatch},
	{"RecordsExport", testRecordsExport},
	{"RecordsStopsOnError", testRecordsStopsOnError},
	{"ConcurrentApplySerialized", testConcurrentApplySerialized},
	{"InvalidEventRejected", testInvalidEventRejected},
	{"CanceledContextFails", testCanceledContextFails},
	{"ClosedStoreFails", testClosedStoreFails},
}

// base is the time of the first event in every subtest.
var base = time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)

// script applies events to one pair with increasing times.
type script struct {
	t       *testing.T
	s       consent.Store
	account string
	number  string
	now     time.Time
}

func newScript(t *testing.T, s consent.Store) *script {
	return &script{t: t, s: s, account: Account, number: Number, now: base}
}

func (sc *script) event(kind consent.EventKind, tollFree, text string) consent.Event {
	sc.now = sc.now.Add(time.Minute)
	return consent.Event{
		Kind:       kind,
		Account:    sc.account,
		Number:     sc.number,
		TollFree:   tollFree,
		Text:       text,
		ReplyText:  "reply to " + text,
		MessageIDs: []string{fmt.Sprintf("msg-%d", sc.now.Unix())},
		Source:     consent.SourceSMPP,
		Time:       sc.now,
	}
}

func (sc *script) apply(ev consent.Event) consent.Applied {
	sc.t.Helper()
	a, err := sc.s.Apply(context.Background(), ev)
	if err != nil {
		sc.t.Fatalf("apply %s to %s/%s: %v", ev.Kind, ev.Account, ev.Number, err)
	}
	return a
}

func (sc *script) request(tollFree string) consent.Applied {
	sc.t.Helper()
	return sc.apply(sc.event(consent.EventRequest, tollFree, "request from "+tollFree))
}

func (sc *script) yes(tollFree string) consent.Applied {
	sc.t.Helper()
	return sc.apply(sc.event(consent.EventYes, tollFree, "YES"))
}

func (sc *script) stop() consent.Applied {
	sc.t.Helper()
	return sc.apply(sc.event(consent.EventStop, TollFree, "STOP"))
}

func (sc *script) unstop() consent.Applied {
	sc.t.Helper()
	return sc.apply(sc.event(consent.EventResume, TollFree, "UNSTOP"))
}

func (sc *script) help() consent.Applied {
	sc.t.Helper()
	return sc.apply(sc.event(consent.EventHelp, TollFree, "HELP"))
}

// replyQueued reports the confirmation a owes as queued, as the gateway
// does once the reply is stored, and fails the test unless it was the
// pending one.
func (sc *script) replyQueued(a consent.Applied) consent.Applied {
	sc.t.Helper()
	ev := sc.event(consent.EventReplyQueued, TollFree, a.Entry.ReplyText)
	ev.Reply = a.Effect.Reply
	q := sc.apply(ev)
	if q.Effect.Outcome != consent.OutcomeReplyQueued {
		sc.t.Fatalf("%s reply queued: effect %+v, want outcome reply_queued", a.Effect.Reply, q.Effect)
	}
	return q
}

func (sc *script) record() consent.Record {
	sc.t.Helper()
	return get(sc.t, sc.s, sc.account, sc.number)
}

func get(t *testing.T, s consent.Store, account, number string) consent.Record {
	t.Helper()
	r, err := s.Get(context.Background(), account, number)
	if err != nil {
		t.Fatalf("get %s/%s: %v", account, number, err)
	}
	return r
}

func history(t *testing.T, s consent.Store, account, number string) []consent.AuditEntry {
	t.Helper()
	h, err := s.History(context.Background(), account, number)
	if err != nil {
		t.Fatalf("history %s/%s: %v", account, number, err)
	}
	return h
}

func wantReason(t *testing.T, r consent.Record, want consent.Reason) {
	t.Helper()
	if got := r.MTReason(); got != want {
		t.Errorf("MT reason = %q, want %q (record %+v)", got, want, r)
	}
}

func wantState(t *testing.T, r consent.Record, want consent.State) {
	t.Helper()
	if r.State != want {
		t.Errorf("state = %s, want %s", r.State, want)
	}
}

func wantSkip(t *testing.T, a consent.Applied, want consent.Skip) {
	t.Helper()
	if a.Effect.Skip != want {
		t.Errorf("%s skip = %q, want %q", a.Entry.Event, a.Effect.Skip, want)
	}
	if want != consent.SkipNone && a.Effect.Changed {
		t.Errorf("%s skipped as %q but reports a change", a.Entry.Event, want)
	}
}

func wantReply(t *testing.T, a consent.Applied, want consent.Reply) {
	t.Helper()
	if a.Effect.Reply != want {
		t.Errorf("%s reply = %s, want %s", a.Entry.Event, a.Effect.Reply, want)
	}
}

func testGetMissingIsZero(t *testing.T, s consent.Store) {
	r := get(t, s, Account, Number)
	if !r.IsZero() {
		t.Errorf("missing record = %+v, want zero", r)
	}
	if h := history(t, s, Account, Number); len(h) != 0 {
		t.Errorf("history of missing pair has %d entries, want 0", len(h))
	}
}

func testMTBlockedWithoutConsent(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	wantReason(t, sc.record(), consent.ReasonNoConsent)
	sc.request(TollFree)
	wantReason(t, sc.record(), consent.ReasonNoConsent)
	sc.help()
	wantReason(t, sc.record(), consent.ReasonNoConsent)
}

func testRequestThenYesOptsIn(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.request(TollFree)
	if a.Effect.Outcome != consent.OutcomeRequested || a.Effect.Sequence != 1 {
		t.Errorf("first request effect = %+v, want requested with sequence 1", a.Effect)
	}
	wantState(t, sc.record(), consent.StateRequested)
	a = sc.yes(TollFree)
	if a.Effect.Outcome != consent.OutcomeOptedIn {
		t.Errorf("YES outcome = %s, want opted_in", a.Effect.Outcome)
	}
	wantReply(t, a, consent.ReplyOptIn)
	wantReason(t, sc.record(), consent.ReasonNone)
	sc.replyQueued(a)
	a = sc.yes(TollFree)
	wantSkip(t, a, consent.SkipAlreadyOptedIn)
	wantReply(t, a, consent.ReplyNone)
}

func testYesWithoutRequestIgnored(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.yes(TollFree)
	wantSkip(t, a, consent.SkipNoRequest)
	wantReply(t, a, consent.ReplyNone)
	r := sc.record()
	wantState(t, r, consent.StateNone)
	wantReason(t, r, consent.ReasonNoConsent)
}

func testThirdRequestRefused(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	a := sc.request(TollFree)
	if a.Effect.Sequence != 2 {
		t.Errorf("second request sequence = %d, want 2", a.Effect.Sequence)
	}
	a = sc.request(TollFree)
	wantSkip(t, a, consent.SkipRequestLimit)
	r := sc.record()
	if r.Requests != consent.MaxRequests {
		t.Errorf("requests = %d, want %d", r.Requests, consent.MaxRequests)
	}
	wantReason(t, r, consent.ReasonRequestLimit)
}

func testYesToEitherRequestSender(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	first := sc.request(TollFree)
	sc.request(OtherTF)
	a := sc.yes(TollFree)
	if a.Effect.AnswersSeq != first.Entry.Seq {
		t.Errorf("YES answers request %d, want %d (the request from %s)", a.Effect.AnswersSeq, first.Entry.Seq, TollFree)
	}
	wantReason(t, sc.record(), consent.ReasonNone)
}

func testYesToOtherTollFreeIgnored(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	a := sc.yes(OtherTF)
	wantSkip(t, a, consent.SkipOtherSender)
	wantReason(t, sc.record(), consent.ReasonNoConsent)
}

func testRequestsNeverExpire(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.now = sc.now.AddDate(3, 0, 0)
	a := sc.yes(TollFree)
	if a.Effect.Outcome != consent.OutcomeOptedIn {
		t.Errorf("YES three years after the request: outcome %s, want opted_in", a.Effect.Outcome)
	}
}

func testYesNeverLiftsStop(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.stop()
	a := sc.yes(TollFree)
	wantSkip(t, a, consent.SkipOptedOut)
	wantReply(t, a, consent.ReplyNone)
	wantReason(t, sc.record(), consent.ReasonOptedOut)
}

func testNoRequestToOptedOut(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.stop()
	a := sc.request(TollFree)
	wantSkip(t, a, consent.SkipOptedOut)
	if r := sc.record(); r.Requests != 0 {
		t.Errorf("requests after a refused request = %d, want 0", r.Requests)
	}
}

func testStopFromAnyState(t *testing.T, s consent.Store) {
	setups := []struct {
		name  string
		setup func(sc *script)
		prior consent.State
	}{
		{"none", func(*script) {}, consent.StateNone},
		{"requested", func(sc *script) { sc.request(TollFree) }, consent.StateRequested},
		{"opted_in", func(sc *script) { sc.request(TollFree); sc.yes(TollFree) }, consent.StateOptedIn},
		{"voided", func(sc *script) {
			sc.request(TollFree)
			sc.apply(sc.event(consent.EventVoid, "", "reassigned"))
		}, consent.StateVoided},
	}
	for i, tc := range setups {
		t.Run(tc.name, func(t *testing.T) {
			sc := newScript(t, s)
			sc.number = fmt.Sprintf("+1201555011%d", i)
			tc.setup(sc)
			a := sc.stop()
			if a.Effect.Outcome != consent.OutcomeOptedOut {
				t.Errorf("STOP outcome = %s, want opted_out", a.Effect.Outcome)
			}
			wantReply(t, a, consent.ReplyOptOut)
			r := sc.record()
			wantState(t, r, consent.StateOptedOut)
			if r.Prior != tc.prior {
				t.Errorf("prior state = %s, want %s", r.Prior, tc.prior)
			}
			wantReason(t, r, consent.ReasonOptedOut)
		})
	}
}

func testOneConfirmationPerOptOut(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	confirmations := 0
	for range 3 {
		if a := sc.stop(); a.Effect.Reply == consent.ReplyOptOut {
			confirmations++
			sc.replyQueued(a)
		}
	}
	if confirmations != 1 {
		t.Errorf("three STOPs gave %d confirmations, want 1", confirmations)
	}
	sc.unstop()
	if a := sc.stop(); a.Effect.Reply != consent.ReplyOptOut {
		t.Errorf("STOP after UNSTOP reply = %s, want opt_out (a new opt-out)", a.Effect.Reply)
	}
}

func testUnstopRestoresPriorOptIn(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	sc.stop()
	a := sc.unstop()
	if a.Effect.Outcome != consent.OutcomeResumed {
		t.Errorf("UNSTOP outcome = %s, want resumed", a.Effect.Outcome)
	}
	wantReply(t, a, consent.ReplyResume)
	r := sc.record()
	wantState(t, r, consent.StateOptedIn)
	wantReason(t, r, consent.ReasonNone)
}

func testUnstopWithoutPriorOptIn(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.stop()
	a := sc.unstop()
	wantReply(t, a, consent.ReplyResume)
	r := sc.record()
	wantState(t, r, consent.StateNone)
	wantReason(t, r, consent.ReasonNoConsent)

	// A number that had a request but no YES goes back to requested: the
	// request still counts towards the limit, and a YES may reply to it.
	sc.number = OtherNumber
	sc.request(TollFree)
	sc.stop()
	sc.unstop()
	r = sc.record()
	wantState(t, r, consent.StateRequested)
	if r.Requests != 1 {
		t.Errorf("requests after UNSTOP = %d, want 1", r.Requests)
	}
}

func testUnstopWhenNotOptedOutIgnored(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.unstop()
	wantSkip(t, a, consent.SkipNotOptedOut)
	wantReply(t, a, consent.ReplyNone)
	sc.request(TollFree)
	sc.yes(TollFree)
	a = sc.unstop()
	wantSkip(t, a, consent.SkipNotOptedOut)
	wantState(t, sc.record(), consent.StateOptedIn)
}

func testHelpAnsweredWhenOptedOut(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.help()
	wantReply(t, a, consent.ReplyHelp)
	sc.stop()
	a = sc.help()
	wantReply(t, a, consent.ReplyHelp)
	if a.Effect.Changed {
		t.Error("HELP reports a state change")
	}
	wantState(t, sc.record(), consent.StateOptedOut)
}

func testConsentCoversOneNumber(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	wantReason(t, get(t, s, Account, OtherNumber), consent.ReasonNoConsent)
	// A YES from another number matches no request.
	sc.number = OtherNumber
	a := sc.yes(TollFree)
	wantSkip(t, a, consent.SkipNoRequest)
}

func testConsentCoversOneAccount(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	wantReason(t, get(t, s, OtherAccount, Number), consent.ReasonNoConsent)
	sc.stop()
	wantReason(t, get(t, s, OtherAccount, Number), consent.ReasonNoConsent)
}

func testVoidedNumberBlocked(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.request(TollFree)
	sc.yes(TollFree)
	a := sc.apply(sc.event(consent.EventVoid, "", "reassigned"))
	if a.Effect.Outcome != consent.OutcomeVoided {
		t.Errorf("void outcome = %s, want voided", a.Effect.Outcome)
	}
	r := sc.record()
	wantReason(t, r, consent.ReasonVoided)
	if r.Requests != 0 {
		t.Errorf("requests after void = %d, want 0", r.Requests)
	}

	// A YES to the old requests no longer counts.
	wantSkip(t, sc.yes(TollFree), consent.SkipNoRequest)
	// A new request keeps the number blocked as voided until its YES.
	sc.request(TollFree)
	wantReason(t, sc.record(), consent.ReasonVoided)
	sc.yes(TollFree)
	wantReason(t, sc.record(), consent.ReasonNone)
}

func testImportNeverLiftsStop(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	imp := func(state consent.State) consent.Applied {
		ev := sc.event(consent.EventImport, "", "web form")
		ev.Import = state
		ev.Source = consent.SourceImport
		return sc.apply(ev)
	}
	a := imp(consent.StateOptedIn)
	wantReply(t, a, consent.ReplyNone)
	wantReason(t, sc.record(), consent.ReasonNone)
	a = imp(consent.StateOptedOut)
	wantReply(t, a, consent.ReplyNone)
	wantReason(t, sc.record(), consent.ReasonOptedOut)
	wantSkip(t, imp(consent.StateOptedIn), consent.SkipOptedOut)
	wantReason(t, sc.record(), consent.ReasonOptedOut)
	if r := sc.record(); r.Source != consent.SourceImport {
		t.Errorf("record source = %s, want import", r.Source)
	}
}

func testAuditRecordsEveryChange(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	events := []consent.Applied{
		sc.request(TollFree),
		sc.yes(OtherTF),
		sc.yes(TollFree),
		sc.help(),
		sc.stop(),
		sc.stop(),
		sc.unstop(),
	}
	h := history(t, s, Account, Number)
	if len(h) != len(events) {
		t.Fatalf("history has %d entries, want %d", len(h), len(events))
	}
	for i, a := range events {
		got := h[i]
		want := a.Entry
		if got.Seq != uint32(i+1) || got.Seq != want.Seq {
			t.Errorf("entry %d seq = %d, want %d", i, got.Seq, i+1)
		}
		if got.Event != want.Event || got.Before != a.Before.State || got.After != a.After.State {
			t.Errorf("entry %d = %s %s->%s, want %s %s->%s", i, got.Event, got.Before, got.After,
				want.Event, a.Before.State, a.After.State)
		}
		if !got.Time.Equal(want.Time) {
			t.Errorf("entry %d time = %v, want %v", i, got.Time, want.Time)
		}
		if got.Text != want.Text || got.TollFree != want.TollFree || got.Source != consent.SourceSMPP {
			t.Errorf("entry %d text/toll-free/source = %q/%q/%s, want %q/%q/smpp", i,
				got.Text, got.TollFree, got.Source, want.Text, want.TollFree)
		}
		if !slices.Equal(got.MessageIDs, want.MessageIDs) || len(got.MessageIDs) != 1 {
			t.Errorf("entry %d message ids = %v, want %v", i, got.MessageIDs, want.MessageIDs)
		}
		if got.Account != Account || got.Number != Number {
			t.Errorf("entry %d pair = %s/%s, want %s/%s", i, got.Account, got.Number, Account, Number)
		}
		if got.Outcome != a.Effect.Outcome || got.Skip != a.Effect.Skip || got.Reply != a.Effect.Reply {
			t.Errorf("entry %d outcome/skip/reply = %s/%q/%s, want %s/%q/%s", i, got.Outcome, got.Skip,
				got.Reply, a.Effect.Outcome, a.Effect.Skip, a.Effect.Reply)
		}
		wantReplyText := ""
		if a.Effect.Reply != consent.ReplyNone {
			wantReplyText = "reply to " + got.Text
		}
		if got.ReplyText != wantReplyText {
			t.Errorf("entry %d reply text = %q, want %q", i, got.ReplyText, wantReplyText)
		}
	}
	if r := sc.record(); r.Seq != uint32(len(events)) {
		t.Errorf("record seq = %d, want %d", r.Seq, len(events))
	}
}

func testYesAuditCarriesRequestText(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	req := sc.request(TollFree)
	sc.request(OtherTF)
	sc.yes(TollFree)
	h := history(t, s, Account, Number)
	yes := h[len(h)-1]
	if yes.RequestSeq != req.Entry.Seq {
		t.Errorf("YES request seq = %d, want %d", yes.RequestSeq, req.Entry.Seq)
	}
	if yes.RequestText != "request from "+TollFree {
		t.Errorf("YES request text = %q, want %q", yes.RequestText, "request from "+TollFree)
	}
	if h[0].Text != "request from "+TollFree {
		t.Errorf("request entry text = %q", h[0].Text)
	}
}

func testHistoryOrder(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	// More than 9 and more than 255 entries catch keys that sort as text or
	// sequence numbers stored in one byte.
	const n = 300
	for range n {
		sc.help()
	}
	h := history(t, s, Account, Number)
	if len(h) != n {
		t.Fatalf("history has %d entries, want %d", len(h), n)
	}
	for i, e := range h {
		if e.Seq != uint32(i+1) {
			t.Fatalf("entry %d has seq %d, want %d", i, e.Seq, i+1)
		}
		if i > 0 && e.Time.Before(h[i-1].Time) {
			t.Fatalf("entry %d is older than entry %d", i, i-1)
		}
	}
	// Another pair's history stays separate, including a number that
	// extends this one.
	sc.number = Number + "9"
	sc.help()
	if h := history(t, s, Account, Number); len(h) != n {
		t.Errorf("history has %d entries after another pair's event, want %d", len(h), n)
	}
}

func testGetManyBatch(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	sc.number = OtherNumber
	sc.stop()

	keys := []consent.Key{
		{Account: Account, Number: OtherNumber},
		{Account: Account, Number: "+12015550199"},
		{Account: Account, Number: Number},
		{Account: OtherAccount, Number: Number},
		{Account: Account, Number: OtherNumber},
	}
	recs, err := s.GetMany(context.Background(), keys)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if len(recs) != len(keys) {
		t.Fatalf("GetMany returned %d records for %d keys", len(recs), len(keys))
	}
	want := []consent.State{consent.StateOptedOut, consent.StateNone, consent.StateOptedIn,
		consent.StateNone, consent.StateOptedOut}
	for i, r := range recs {
		if r.State != want[i] {
			t.Errorf("GetMany[%d] (%s/%s) state = %s, want %s", i, keys[i].Account, keys[i].Number,
				r.State, want[i])
		}
	}
	if !recs[1].IsZero() || !recs[3].IsZero() {
		t.Errorf("missing pairs are not zero records: %+v %+v", recs[1], recs[3])
	}
	empty, err := s.GetMany(context.Background(), nil)
	if err != nil || len(empty) != 0 {
		t.Errorf("GetMany(nil) = %v, %v; want no records and no error", empty, err)
	}
}

func testRecordsExport(t *testing.T, s consent.Store) {
	want := map[string]consent.State{}
	for i := range 25 {
		sc := newScript(t, s)
		sc.number = fmt.Sprintf("+120155501%02d", i)
		switch i % 3 {
		case 0:
			sc.request(TollFree)
			want[sc.number] = consent.StateRequested
		case 1:
			sc.request(TollFree)
			sc.yes(TollFree)
			want[sc.number] = consent.StateOptedIn
		case 2:
			sc.stop()
			want[sc.number] = consent.StateOptedOut
		}
	}
	other := newScript(t, s)
	other.account = OtherAccount
	other.stop()
	// An account whose id extends the first one must not leak into it.
	other.account = Account + "0"
	other.stop()

	got := map[string]consent.Record{}
	err := s.Records(context.Background(), Account, func(number string, r consent.Record) error {
		if _, dup := got[number]; dup {
			t.Errorf("Records visited %s twice", number)
		}
		got[number] = r
		return nil
	})
	if err != nil {
		t.Fatalf("Records: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("Records visited %d numbers, want %d", len(got), len(want))
	}
	for number, state := range want {
		r, ok := got[number]
		if !ok {
			t.Errorf("Records skipped %s", number)
			continue
		}
		if r.State != state {
			t.Errorf("Records %s state = %s, want %s", number, r.State, state)
		}
		if r.Updated.IsZero() {
			t.Errorf("Records %s has no update time", number)
		}
	}
}

func testRecordsStopsOnError(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	for i := range 5 {
		sc.number = fmt.Sprintf("+120155501%02d", i)
		sc.stop()
	}
	stop := errors.New("stop here")
	calls := 0
	err := s.Records(context.Background(), Account, func(string, consent.Record) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) {
		t.Errorf("Records error = %v, want the callback's error", err)
	}
	if calls != 1 {
		t.Errorf("Records called back %d times after an error, want 1", calls)
	}
}

func testConcurrentApplySerialized(t *testing.T, s consent.Store) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ev := consent.Event{
					Kind: consent.EventHelp, Account: Account, Number: Number, TollFree: TollFree,
					Text: fmt.Sprintf("HELP %d/%d", w, i), Source: consent.SourceSMPP, Time: base,
				}
				if _, err := s.Apply(context.Background(), ev); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent apply: %v", err)
	}

	h := history(t, s, Account, Number)
	if len(h) != workers*each {
		t.Fatalf("history has %d entries, want %d", len(h), workers*each)
	}
	seen := map[string]bool{}
	for i, e := range h {
		if e.Seq != uint32(i+1) {
			t.Errorf("entry %d has seq %d, want %d", i, e.Seq, i+1)
		}
		if seen[e.Text] {
			t.Errorf("entry %q written twice", e.Text)
		}
		seen[e.Text] = true
	}
	if r := get(t, s, Account, Number); r.Seq != workers*each {
		t.Errorf("record seq = %d, want %d", r.Seq, workers*each)
	}
}

func testInvalidEventRejected(t *testing.T, s consent.Store) {
	good := consent.Event{Kind: consent.EventStop, Account: Account, Number: Number, Time: base}
	bad := map[string]func(ev *consent.Event){
		"no kind":                   func(ev *consent.Event) { ev.Kind = 0 },
		"no account":                func(ev *consent.Event) { ev.Account = "" },
		"NUL in account":            func(ev *consent.Event) { ev.Account = "a\x00b" },
		"no number":                 func(ev *consent.Event) { ev.Number = "" },
		"no time":                   func(ev *consent.Event) { ev.Time = time.Time{} },
		"bad import":                func(ev *consent.Event) { ev.Kind = consent.EventImport; ev.Import = consent.StateRequested },
		"request without toll-free": func(ev *consent.Event) { ev.Kind = consent.EventRequest },
		"YES without toll-free":     func(ev *consent.Event) { ev.Kind = consent.EventYes },
		"queued reply of no kind":   func(ev *consent.Event) { ev.Kind = consent.EventReplyQueued },
		"queued HELP reply": func(ev *consent.Event) {
			ev.Kind, ev.Reply = consent.EventReplyQueued, consent.ReplyHelp
		},
	}
	for name, mutate := range bad {
		ev := good
		mutate(&ev)
		if _, err := s.Apply(context.Background(), ev); err == nil {
			t.Errorf("%s: Apply accepted an invalid event", name)
		}
	}
	if r := get(t, s, Account, Number); !r.IsZero() {
		t.Errorf("invalid events changed the record: %+v", r)
	}
}

func testCanceledContextFails(t *testing.T, s consent.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ev := consent.Event{Kind: consent.EventStop, Account: Account, Number: Number, Time: base}
	if _, err := s.Apply(ctx, ev); err == nil {
		t.Error("Apply with a canceled context succeeded")
	}
	if _, err := s.GetMany(ctx, []consent.Key{{Account: Account, Number: Number}}); err == nil {
		t.Error("GetMany with a canceled context succeeded")
	}
	if r := get(t, s, Account, Number); !r.IsZero() {
		t.Errorf("canceled Apply changed the record: %+v", r)
	}
}

func testClosedStoreFails(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.stop()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, Account, Number); !errors.Is(err, consent.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Apply(ctx, sc.event(consent.EventStop, TollFree, "STOP")); !errors.Is(err, consent.ErrClosed) {
		t.Errorf("Apply after Close: %v, want ErrClosed", err)
	}
}
