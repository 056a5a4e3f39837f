package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// reviewCases probe rule combinations and concurrent writes that the
// basic cases above do not reach.
var reviewCases = []struct {
	name string
	run  func(t *testing.T, s consent.Store)
}{
	{"YesAfterTwoRequestsFromOneSender", testYesAfterTwoRequestsFromOneSender},
	{"YesToOtherSenderAfterLimit", testYesToOtherSenderAfterLimit},
	{"ThirdRequestAfterStopUnstop", testThirdRequestAfterStopUnstop},
	{"StopUnstopCyclesConfirmEach", testStopUnstopCyclesConfirmEach},
	{"HelpFromUnknownNumber", testHelpFromUnknownNumber},
	{"ImportOptInOverStopKeepsPrior", testImportOptInOverStopKeepsPrior},
	{"VoidAfterStopAllowsNewRequest", testVoidAfterStopAllowsNewRequest},
	{"VoidedStopUnstopStaysVoided", testVoidedStopUnstopStaysVoided},
	{"EventTimeOutOfRangeRejected", testEventTimeOutOfRangeRejected},
	{"AuditKeepsVerbatimTexts", testAuditKeepsVerbatimTexts},
	{"HistorySeparatesAccounts", testHistorySeparatesAccounts},
	{"ConcurrentStopsConfirmOnce", testConcurrentStopsConfirmOnce},
	{"ConcurrentRequestsKeepLimit", testConcurrentRequestsKeepLimit},
	{"ReadYourWrites", testReadYourWrites},
}

func testYesAfterTwoRequestsFromOneSender(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	second := sc.request(TollFree)
	wantReason(t, sc.record(), consent.ReasonRequestLimit)
	a := sc.yes(TollFree)
	if a.Effect.Outcome != consent.OutcomeOptedIn || a.Effect.AnswersSeq != second.Entry.Seq {
		t.Errorf("YES effect = %+v, want opted_in answering the latest request (%d)", a.Effect, second.Entry.Seq)
	}
	wantReply(t, a, consent.ReplyOptIn)
	wantReason(t, sc.record(), consent.ReasonNone)
}

func testYesToOtherSenderAfterLimit(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.request(TollFree)
	a := sc.yes(OtherTF)
	wantSkip(t, a, consent.SkipOtherSender)
	wantReply(t, a, consent.ReplyNone)
	r := sc.record()
	wantState(t, r, consent.StateRequested)
	wantReason(t, r, consent.ReasonRequestLimit)
}

func testThirdRequestAfterStopUnstop(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.request(OtherTF)
	sc.stop()
	sc.unstop()
	r := sc.record()
	wantState(t, r, consent.StateRequested)
	if r.Requests != consent.MaxRequests {
		t.Errorf("requests after STOP and UNSTOP = %d, want %d", r.Requests, consent.MaxRequests)
	}
	wantSkip(t, sc.request(TollFree), consent.SkipRequestLimit)
	wantReason(t, sc.record(), consent.ReasonRequestLimit)
	// Both earlier requests still count for a YES.
	if a := sc.yes(OtherTF); a.Effect.Outcome != consent.OutcomeOptedIn {
		t.Errorf("YES to the second sender after STOP and UNSTOP: outcome %s, want opted_in", a.Effect.Outcome)
	}
}

func testStopUnstopCyclesConfirmEach(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	for cycle := range 3 {
		a := sc.stop()
		wantReply(t, a, consent.ReplyOptOut)
		sc.replyQueued(a)
		wantReply(t, sc.stop(), consent.ReplyNone)
		wantReason(t, sc.record(), consent.ReasonOptedOut)
		a = sc.unstop()
		wantReply(t, a, consent.ReplyResume)
		sc.replyQueued(a)
		wantReply(t, sc.unstop(), consent.ReplyNone)
		if r := sc.record(); r.State != consent.StateOptedIn {
			t.Errorf("cycle %d: state after UNSTOP = %s, want opted_in", cycle, r.State)
		}
	}
}

func testHelpFromUnknownNumber(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	a := sc.help()
	wantReply(t, a, consent.ReplyHelp)
	if a.Entry.ReplyText != "reply to HELP" {
		t.Errorf("HELP entry reply text = %q, want %q", a.Entry.ReplyText, "reply to HELP")
	}
	r := sc.record()
	wantState(t, r, consent.StateNone)
	wantReason(t, r, consent.ReasonNoConsent)
	if r.Seq != 1 {
		t.Errorf("record seq after HELP = %d, want 1", r.Seq)
	}
}

func testImportOptInOverStopKeepsPrior(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	sc.stop()
	ev := sc.event(consent.EventImport, "", "old list")
	ev.Import = consent.StateOptedIn
	ev.Source = consent.SourceImport
	wantSkip(t, sc.apply(ev), consent.SkipOptedOut)
	r := sc.record()
	wantReason(t, r, consent.ReasonOptedOut)
	if r.Prior != consent.StateOptedIn {
		t.Errorf("prior state = %s, want opted_in", r.Prior)
	}
	sc.unstop()
	wantReason(t, sc.record(), consent.ReasonNone)
}

func testVoidAfterStopAllowsNewRequest(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.stop()
	sc.apply(sc.event(consent.EventVoid, "", "reassigned"))
	r := sc.record()
	wantReason(t, r, consent.ReasonVoided)
	if r.Prior != consent.StateNone || r.Requests != 0 {
		t.Errorf("record after void = %+v, want no prior state and no requests", r)
	}
	// The number's new holder never opted out, so a request may reach them,
	// and the old holder's UNSTOP cannot bring anything back.
	if a := sc.request(TollFree); a.Effect.Outcome != consent.OutcomeRequested || a.Effect.Sequence != 1 {
		t.Errorf("request after void = %+v, want the first request", a.Effect)
	}
	wantSkip(t, sc.unstop(), consent.SkipNotOptedOut)
	wantReason(t, sc.record(), consent.ReasonVoided)
}

func testVoidedStopUnstopStaysVoided(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)
	sc.apply(sc.event(consent.EventVoid, "", "reassigned"))
	sc.stop()
	sc.unstop()
	r := sc.record()
	wantState(t, r, consent.StateVoided)
	wantReason(t, r, consent.ReasonVoided)
}

func testEventTimeOutOfRangeRejected(t *testing.T, s consent.Store) {
	for _, at := range []time.Time{
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Unix(0, 0),
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		ev := consent.Event{Kind: consent.EventStop, Account: Account, Number: Number, Time: at}
		if _, err := s.Apply(context.Background(), ev); err == nil {
			t.Errorf("Apply accepted an event at %s", at.Format(time.RFC3339))
		}
	}
	if r := get(t, s, Account, Number); !r.IsZero() {
		t.Errorf("rejected events changed the record: %+v", r)
	}
}

func testAuditKeepsVerbatimTexts(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	texts := []string{
		"\u00a0Stop\u2026 \U0001F621",
		"STOP\x00",
		"Non, arr\u00eat\u00a0! \u201cmerci\u201d",
		strings.Repeat("Please stop. ", 120),
	}
	for i, text := range texts {
		ev := sc.event(consent.EventStop, TollFree, text)
		ev.MessageIDs = []string{fmt.Sprintf("part-%d-1", i), fmt.Sprintf("part-%d-2", i), "00B8BE19"}
		ev.ReplyText = "Acme Dental: you are unsubscribed \u2013 reply UNSTOP to resume."
		sc.apply(ev)
		sc.unstop()
	}
	h := history(t, s, Account, Number)
	if len(h) != 2*len(texts) {
		t.Fatalf("history has %d entries, want %d", len(h), 2*len(texts))
	}
	for i, text := range texts {
		e := h[2*i]
		if e.Text != text {
			t.Errorf("entry %d text = %q, want %q", 2*i, e.Text, text)
		}
		wantIDs := []string{fmt.Sprintf("part-%d-1", i), fmt.Sprintf("part-%d-2", i), "00B8BE19"}
		if !slices.Equal(e.MessageIDs, wantIDs) {
			t.Errorf("entry %d message ids = %v, want %v", 2*i, e.MessageIDs, wantIDs)
		}
		if e.ReplyText != "Acme Dental: you are unsubscribed \u2013 reply UNSTOP to resume." {
			t.Errorf("entry %d reply text = %q", 2*i, e.ReplyText)
		}
	}
}

func testHistorySeparatesAccounts(t *testing.T, s consent.Store) {
	for _, account := range []string{Account, Account + "0", OtherAccount} {
		sc := newScript(t, s)
		sc.account = account
		sc.apply(sc.event(consent.EventHelp, TollFree, "HELP from "+account))
	}
	for _, account := range []string{Account, Account + "0", OtherAccount} {
		h := history(t, s, account, Number)
		if len(h) != 1 || h[0].Account != account || h[0].Text != "HELP from "+account {
			t.Errorf("history of %s = %+v, want its one HELP", account, h)
		}
	}
}

// testConcurrentStopsConfirmOnce sends one STOP from many goroutines at
// once: exactly one of them may owe the confirmation.
func testConcurrentStopsConfirmOnce(t *testing.T, s consent.Store) {
	sc := newScript(t, s)
	sc.request(TollFree)
	sc.yes(TollFree)

	const writers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		replies int
	)
	for i := range writers {
		wg.Go(func() {
			ev := consent.Event{Kind: consent.EventStop, Account: Account, Number: Number, TollFree: TollFree,
				Text: fmt.Sprintf("STOP %d", i), ReplyText: "bye", Source: consent.SourceSMPP, Time: base.Add(time.Hour)}
			a, err := s.Apply(context.Background(), ev)
			if err != nil {
				t.Errorf("STOP %d: %v", i, err)
				return
			}
			if a.Effect.OwesReply() {
				mu.Lock()
				replies++
				mu.Unlock()
			}
		})
	}
	wg.Wait()

	if replies != 1 {
		t.Errorf("%d concurrent STOPs owe %d confirmations, want 1", writers, replies)
	}
	r := sc.record()
	wantState(t, r, consent.StateOptedOut)
	if r.Prior != consent.StateOptedIn {
		t.Errorf("prior state = %s, want opted_in", r.Prior)
	}
	if n := len(history(t, s, Account, Number)); n != 2+writers {
		t.Errorf("history has %d entries, want %d", n, 2+writers)
	}
}

// testConcurrentRequestsKeepLimit records requests from many goroutines at
// once: no more than MaxRequests may be recorded.
func testConcurrentRequestsKeepLimit(t *testing.T, s consent.Store) {
	const writers = 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		recorded []uint8
	)
	for i := range writers {
		wg.Go(func() {
			ev := consent.Event{Kind: consent.EventRequest, Account: Account, Number: Number, TollFree: TollFree,
				Text: fmt.Sprintf("request %d", i), Source: consent.SourceHTTP, Time: base}
			a, err := s.Apply(context.Background(), ev)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if a.Effect.Outcome == consent.OutcomeRequested {
				mu.Lock()
				recorded = append(recorded, a.Effect.Sequence)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(recorded)
	if !slices.Equal(recorded, []uint8{1, 2}) {
		t.Errorf("concurrent requests recorded with sequences %v, want [1 2]", recorded)
	}
	if r := get(t, s, Account, Number); r.Requests != consent.MaxRequests {
		t.Errorf("requests = %d, want %d", r.Requests, consent.MaxRequests)
	}
}

// testReadYourWrites checks that once Apply returns, Get and GetMany see
// that write or a later one, while other goroutines write to the same
// pair.
func testReadYourWrites(t *testing.T, s consent.Store) {
	const writers, each = 4, 25
	var wg sync.WaitGroup
	ctx := context.Background()
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				kind := consent.EventStop
				if i%2 == 1 {
					kind = consent.EventResume
				}
				ev := consent.Event{Kind: kind, Account: Account, Number: Number, TollFree: TollFree,
					Text: fmt.Sprintf("%s %d/%d", kind, w, i), Source: consent.SourceSMPP, Time: base}
				a, err := s.Apply(ctx, ev)
				if err != nil {
					t.Errorf("apply: %v", err)
					return
				}
				r, err := s.Get(ctx, Account, Number)
				if err != nil || r.Seq < a.After.Seq {
					t.Errorf("Get after apply %d: seq %d (%v), want at least %d", a.After.Seq, r.Seq, err, a.After.Seq)
					return
				}
				recs, err := s.GetMany(ctx, []consent.Key{{Account: Account, Number: Number}})
				if err != nil || len(recs) != 1 || recs[0].Seq < a.After.Seq {
					t.Errorf("GetMany after apply %d: %+v (%v)", a.After.Seq, recs, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if r := get(t, s, Account, Number); r.Seq != writers*each {
		t.Errorf("record seq = %d, want %d", r.Seq, writers*each)
	}
}
