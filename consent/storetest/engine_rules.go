package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// engineRuleCases check, through the engine, the rules that decide an MT
// or read a keyword, so every store is shown to give the same decisions.
var engineRuleCases = []struct {
	name string
	run  func(t *testing.T, s consent.Store)
}{
	{"SenderChecksBlockMT", testSenderChecksBlockMT},
	{"QuietHoursBlockMT", testQuietHoursBlockMT},
	{"ShadowModeAllowsAndReports", testShadowModeAllowsAndReports},
	{"FreeTextRevocationOptsOut", testFreeTextRevocationOptsOut},
	{"OtherLanguageOptOut", testOtherLanguageOptOut},
	{"InfoAnsweredLikeHelp", testInfoAnsweredLikeHelp},
	{"SentenceWithStopIsOrdinary", testSentenceWithStopIsOrdinary},
}

// engineSubscriber is a New York number, so quiet hours use New York time.
const engineSubscriber = "+12125550101"

// optInThroughEngine sends an opt-in request from TollFree and replies YES
// to it, failing the test unless the number ends opted in.
func optInThroughEngine(t *testing.T, e *consent.Engine, account string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.RequestOptIn(ctx, consent.OptInRequest{
		Account: account, TollFree: TollFree, To: engineSubscriber, Source: consent.SourceHTTP,
	}); err != nil {
		t.Fatalf("RequestOptIn: %v", err)
	}
	res, err := e.HandleMO(ctx, consent.MO{
		From: engineSubscriber, To: TollFree, Text: "Yes", MessageIDs: []string{"mo-yes"},
		Source: consent.SourceSMPP,
	})
	if err != nil {
		t.Fatalf("HandleMO(Yes): %v", err)
	}
	if res.Effect.Outcome != consent.OutcomeOptedIn {
		t.Fatalf("YES outcome = %v, want opted_in", res.Effect.Outcome)
	}
}

func checkMT(t *testing.T, e *consent.Engine, mt consent.MT) consent.Decision {
	t.Helper()
	return e.CheckMT(context.Background(), mt)
}

func testSenderChecksBlockMT(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("sender")
	acct.TollFree = append(acct.TollFree, consent.TollFreeNumber{Number: "+18775550100"}) // no greeting, no voicemail
	other := testAccount("sender-other")
	other.TollFree = []consent.TollFreeNumber{{Number: "+18665550100", Greeting: true, Voicemail: true}}
	e := newEngine(t, s, clock, acct, other)
	optInThroughEngine(t, e, acct.ID)

	cases := []struct {
		from string
		want consent.Reason
	}{
		{TollFree, consent.ReasonNone},
		{"+12015550199", consent.ReasonSenderNotTollFree},
		{"+18665550100", consent.ReasonSenderNotOwned},
		{"+18775550100", consent.ReasonSenderNotReady},
	}
	for _, tc := range cases {
		d := checkMT(t, e, consent.MT{Account: acct.ID, From: tc.from, To: engineSubscriber})
		if d.Reason != tc.want {
			t.Errorf("MT from %s: reason %q, want %q", tc.from, d.Reason, tc.want)
		}
		if d.Allowed != (tc.want == consent.ReasonNone) {
			t.Errorf("MT from %s: allowed %v, want %v", tc.from, d.Allowed, tc.want == consent.ReasonNone)
		}
	}
}

func testQuietHoursBlockMT(t *testing.T, s consent.Store) {
	newYork, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatalf("load time zone: %v", err)
	}
	clock := &fakeClock{now: time.Date(2026, 3, 2, 12, 0, 0, 0, newYork)}
	acct := testAccount("quiet")
	acct.QuietHours = true
	e := newEngine(t, s, clock, acct)
	optInThroughEngine(t, e, acct.ID)
	mt := consent.MT{Account: acct.ID, From: TollFree, To: engineSubscriber}

	if d := checkMT(t, e, mt); !d.Allowed {
		t.Errorf("MT at 12:00 New York time blocked with %q", d.Reason)
	}
	clock.Advance(10 * time.Hour) // 22:00 in New York
	d := checkMT(t, e, mt)
	if d.Allowed {
		t.Errorf("MT at 22:00 New York time allowed")
	}
	if d.Reason != consent.ReasonQuietHours {
		t.Errorf("MT at 22:00: reason %q, want %q", d.Reason, consent.ReasonQuietHours)
	}
	if !d.Temporary {
		t.Errorf("quiet hours block is not marked temporary")
	}
}

func testShadowModeAllowsAndReports(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("shadow")
	acct.Shadow = true
	e := newEngine(t, s, clock, acct)

	d := checkMT(t, e, consent.MT{Account: acct.ID, From: TollFree, To: engineSubscriber})
	if !d.Allowed {
		t.Errorf("shadow account MT blocked")
	}
	if !d.Shadow {
		t.Errorf("decision not marked shadow")
	}
	if d.Reason != consent.ReasonNoConsent {
		t.Errorf("shadow reason %q, want the reason it would have blocked for, %q", d.Reason, consent.ReasonNoConsent)
	}
}

// handleText sends one MO from engineSubscriber to TollFree.
func handleText(t *testing.T, e *consent.Engine, text string) consent.MOResult {
	t.Helper()
	res, err := e.HandleMO(context.Background(), consent.MO{
		From: engineSubscriber, To: TollFree, Text: text, MessageIDs: []string{"mo-1"},
		Source: consent.SourceSMPP,
	})
	if err != nil {
		t.Fatalf("HandleMO(%q): %v", text, err)
	}
	return res
}

func testFreeTextRevocationOptsOut(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("freetext")
	e := newEngine(t, s, clock, acct)
	optInThroughEngine(t, e, acct.ID)

	res := handleText(t, e, "please stop texting me")
	if res.Effect.Outcome != consent.OutcomeOptedOut {
		t.Errorf("outcome %v, want opted_out", res.Effect.Outcome)
	}
	if !res.Match.FreeText {
		t.Errorf("revocation phrase not marked free-text")
	}
	d := checkMT(t, e, consent.MT{Account: acct.ID, From: TollFree, To: engineSubscriber})
	if d.Reason != consent.ReasonOptedOut {
		t.Errorf("MT after the revocation: reason %q, want %q", d.Reason, consent.ReasonOptedOut)
	}
}

func testOtherLanguageOptOut(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("arret")
	e := newEngine(t, s, clock, acct)
	optInThroughEngine(t, e, acct.ID)

	res := handleText(t, e, "ARRÊT")
	if res.Effect.Outcome != consent.OutcomeOptedOut {
		t.Errorf("ARRÊT outcome %v, want opted_out", res.Effect.Outcome)
	}
}

func testInfoAnsweredLikeHelp(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("info")
	e := newEngine(t, s, clock, acct)
	optInThroughEngine(t, e, acct.ID)
	handleText(t, e, "STOP")

	res := handleText(t, e, "info")
	if res.Match.Keyword != consent.KeywordHelp {
		t.Errorf("INFO read as %v, want help", res.Match.Keyword)
	}
	if len(res.Replies) != 1 {
		t.Fatalf("INFO from an opted-out number got %d replies, want 1", len(res.Replies))
	}
	if res.Replies[0].From != TollFree {
		t.Errorf("HELP reply from %s, want the toll-free number %s", res.Replies[0].From, TollFree)
	}
}

func testSentenceWithStopIsOrdinary(t *testing.T, s consent.Store) {
	clock := &fakeClock{now: base}
	acct := testAccount("sentence")
	e := newEngine(t, s, clock, acct)
	optInThroughEngine(t, e, acct.ID)

	res := handleText(t, e, "Can you stop by Monday?")
	if res.Match.Keyword != consent.KeywordNone {
		t.Errorf("sentence read as %v, want an ordinary message", res.Match.Keyword)
	}
	d := checkMT(t, e, consent.MT{Account: acct.ID, From: TollFree, To: engineSubscriber})
	if !d.Allowed {
		t.Errorf("MT after an ordinary sentence blocked with %q", d.Reason)
	}
}
