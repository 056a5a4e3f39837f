package consent_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// record reads the stored record of a pair.
func (f *fixture) record(account, number string) consent.Record {
	f.t.Helper()
	r, err := f.store.Get(context.Background(), account, number)
	if err != nil {
		f.t.Fatalf("get %s/%s: %v", account, number, err)
	}
	return r
}

func (f *fixture) wantReason(account, from, to string, want consent.Reason) {
	f.t.Helper()
	if d := f.check(account, from, to); d.Reason != want || d.Allowed != (want == consent.ReasonNone) {
		f.t.Errorf("MT %s from %s to %s: %+v, want reason %q", account, from, to, d, want)
	}
}

func TestYesToOtherAccountTollFree(t *testing.T) {
	f := newFixture(t)
	if _, err := f.request(acme, subscriber); err != nil {
		t.Fatal(err)
	}
	res := f.mo(subscriber, tfBeta, "YES")
	if res.Account != "beta" || res.Event != consent.EventYes {
		t.Errorf("YES to beta's number: account %q event %s, want beta and yes", res.Account, res.Event)
	}
	if res.Effect.Skip != consent.SkipNoRequest || len(res.Replies) != 0 {
		t.Errorf("YES to beta's number: skip %q with %d replies, want no_request and none",
			res.Effect.Skip, len(res.Replies))
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNoConsent)
	f.wantReason("beta", tfBeta, subscriber, consent.ReasonNoConsent)

	// The same YES to the number the request came from opts in with acme
	// only.
	if res := f.mo(subscriber, tfAcme, "YES"); res.Effect.Outcome != consent.OutcomeOptedIn {
		t.Errorf("YES to acme's number: outcome %s, want opted_in", res.Effect.Outcome)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
	f.wantReason("beta", tfBeta, subscriber, consent.ReasonNoConsent)
}

func TestYesAfterTwoRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tf := range []string{tfAcme, tfAcme} {
		if _, err := f.e.RequestOptIn(ctx, consent.OptInRequest{Account: acme, TollFree: tf, To: subscriber}); err != nil {
			t.Fatal(err)
		}
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonRequestLimit)
	res := f.mo(subscriber, tfAcme, "yes")
	if res.Effect.Outcome != consent.OutcomeOptedIn || res.Effect.AnswersSeq != 2 {
		t.Errorf("YES after two requests: outcome %s answering %d, want opted_in answering the second (2)",
			res.Effect.Outcome, res.Effect.AnswersSeq)
	}
	if len(res.Replies) != 1 {
		t.Errorf("YES after two requests: %d replies, want 1", len(res.Replies))
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
	if _, err := f.request(acme, subscriber); !errors.Is(err, consent.ErrAlreadyOptedIn) {
		t.Errorf("request after the YES: %v, want ErrAlreadyOptedIn", err)
	}
}

func TestThirdRequestAfterStopUnstop(t *testing.T) {
	f := newFixture(t)
	for range 2 {
		if _, err := f.request(acme, subscriber); err != nil {
			t.Fatal(err)
		}
	}
	f.mo(subscriber, tfAcme, "STOP")
	f.mo(subscriber, tfAcme, "UNSTOP")
	if r := f.record(acme, subscriber); r.State != consent.StateRequested || r.Requests != 2 {
		t.Errorf("after STOP and UNSTOP: state %s with %d requests, want requested with 2", r.State, r.Requests)
	}
	if _, err := f.request(acme, subscriber); !errors.Is(err, consent.ErrRequestLimit) {
		t.Errorf("third request after STOP and UNSTOP: %v, want ErrRequestLimit", err)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonRequestLimit)

	// One request, then STOP and UNSTOP: one more request is allowed, and
	// it is the last.
	if _, err := f.request(acme, subscriber2); err != nil {
		t.Fatal(err)
	}
	f.mo(subscriber2, tfAcme, "STOP")
	f.mo(subscriber2, tfAcme, "START")
	res, err := f.request(acme, subscriber2)
	if err != nil || res.Sequence != 2 {
		t.Errorf("second request after STOP and START: %+v, %v; want sequence 2", res, err)
	}
	if _, err := f.request(acme, subscriber2); !errors.Is(err, consent.ErrRequestLimit) {
		t.Errorf("third request: %v, want ErrRequestLimit", err)
	}
}

func TestUnstopWhenNotOptedOut(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	for _, n := range []string{subscriber, subscriber2} {
		before := f.record(acme, n)
		res := f.mo(n, tfAcme, "UNSTOP")
		if res.Effect.Skip != consent.SkipNotOptedOut || len(res.Replies) != 0 || res.Effect.Changed {
			t.Errorf("UNSTOP from %s: effect %+v with %d replies, want not_opted_out and no reply",
				n, res.Effect, len(res.Replies))
		}
		if res.Forward != consent.ForwardMarked {
			t.Errorf("UNSTOP from %s forwarded as %d, want marked", n, res.Forward)
		}
		if after := f.record(acme, n); after.State != before.State {
			t.Errorf("UNSTOP from %s changed the state from %s to %s", n, before.State, after.State)
		}
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
	f.wantReason(acme, tfAcme, subscriber2, consent.ReasonNoConsent)
}

func TestStopUnstopStopConfirmations(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	steps := []struct {
		text  string
		reply bool
		want  consent.Reason
	}{
		{"STOP", true, consent.ReasonOptedOut},
		{"stop", false, consent.ReasonOptedOut},
		{"UNSTOP", true, consent.ReasonNone},
		{"Stop.", true, consent.ReasonOptedOut},
		{"Please stop texting me", false, consent.ReasonOptedOut},
		{"START", true, consent.ReasonNone},
		{"UNSUBSCRIBE", true, consent.ReasonOptedOut},
	}
	for i, s := range steps {
		res := f.mo(subscriber, tfAcme, s.text)
		if got := len(res.Replies) == 1; got != s.reply || len(res.Replies) > 1 {
			t.Errorf("step %d %q: %d replies, want reply=%v", i, s.text, len(res.Replies), s.reply)
		}
		f.wantReason(acme, tfAcme, subscriber, s.want)
	}
	opt, resumes := 0, 0
	for _, e := range history(t, f.store, acme, subscriber) {
		switch e.Reply {
		case consent.ReplyOptOut:
			opt++
		case consent.ReplyResume:
			resumes++
		}
	}
	if opt != 3 || resumes != 2 {
		t.Errorf("audit lists %d opt-out and %d resume replies, want 3 and 2", opt, resumes)
	}
}

func TestHelpFromUnknownNumber(t *testing.T) {
	f := newFixture(t)
	for _, from := range []string{"+12015550177", "+447700900123"} {
		res := f.mo(from, tfAcme2, "help")
		if len(res.Replies) != 1 {
			t.Fatalf("HELP from %s: %d replies, want 1", from, len(res.Replies))
		}
		r := res.Replies[0]
		for _, want := range []string{"Acme Dental", "(800) 555-0100", "STOP"} {
			if !strings.Contains(r.Text, want) {
				t.Errorf("HELP reply %q lacks %q", r.Text, want)
			}
		}
		if r.From != tfAcme2 || r.To != from {
			t.Errorf("HELP reply from %s to %s, want from %s to %s", r.From, r.To, tfAcme2, from)
		}
		if rec := f.record(acme, from); rec.State != consent.StateNone {
			t.Errorf("HELP from %s left state %s, want none", from, rec.State)
		}
		f.wantReason(acme, tfAcme, from, consent.ReasonNoConsent)
	}
}

func TestImportOptInOverStop(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.mo(subscriber, tfAcme, "STOP")
	res, err := f.e.ImportCSV(context.Background(), acme,
		strings.NewReader(subscriber+",opted_in,2026-01-01T00:00:00Z,old list\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 0 || len(res.Skipped) != 1 || res.Skipped[0].Skip != consent.SkipOptedOut {
		t.Errorf("import over a STOP: %+v, want one row skipped as opted_out", res)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonOptedOut)
	if r := f.record(acme, subscriber); r.Prior != consent.StateOptedIn {
		t.Errorf("prior state after a refused import = %s, want opted_in", r.Prior)
	}
}

func TestVoidedNumberNewRequestAndYes(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	if _, err := f.e.ImportVoided(context.Background(), strings.NewReader(subscriber+"\n"), []string{acme, "beta"}); err != nil {
		t.Fatal(err)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonVoided)
	if res := f.mo(subscriber, tfAcme, "YES"); res.Effect.Skip != consent.SkipNoRequest {
		t.Errorf("YES to a request made before the void: skip %q, want no_request", res.Effect.Skip)
	}
	res, err := f.request(acme, subscriber)
	if err != nil || res.Sequence != 1 {
		t.Fatalf("request after the void: %+v, %v; want sequence 1", res, err)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonVoided)
	if res := f.mo(subscriber, tfAcme, "YES"); res.Effect.Outcome != consent.OutcomeOptedIn {
		t.Errorf("YES to the new request: outcome %s, want opted_in", res.Effect.Outcome)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
	// The void had nothing to void for beta, which never had a record.
	if r := f.record("beta", subscriber); !r.IsZero() {
		t.Errorf("beta record after the void: %+v, want none", r)
	}
}

// numberFormats are ways one subscriber number arrives from carriers,
// businesses and operators.
var numberFormats = []string{
	"+12015550101", "12015550101", "2015550101", "(201) 555-0101", "201-555-0101",
	"201.555.0101", "+1 201 555 0101", "+1 (201) 555-0101", "1-201-555-0101",
	"0012015550101", "00 1 201 555 0101", "01112015550101", "011 1 201 555 0101",
	"+0012015550101", " +12015550101\u00a0",
}

func TestNumberFormatsShareOneRecord(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, "(201) 555-0101")
	for _, n := range numberFormats {
		if d := f.check(acme, tfAcme, n); !d.Allowed {
			t.Errorf("MT to %q: %+v, want allowed", n, d)
		}
	}
	res := f.mo("011 1 201 555 0101", tfAcme, "STOP")
	if res.From != subscriber || res.Effect.Outcome != consent.OutcomeOptedOut {
		t.Errorf("STOP from the NANP international form: from %s outcome %s", res.From, res.Effect.Outcome)
	}
	for _, n := range numberFormats {
		if d := f.check(acme, tfAcme, n); d.Reason != consent.ReasonOptedOut {
			t.Errorf("MT to %q after STOP: %+v, want opted_out", n, d)
		}
	}
	for _, n := range numberFormats {
		ev, err := f.e.Evidence(context.Background(), acme, n)
		if err != nil {
			t.Fatalf("evidence for %q: %v", n, err)
		}
		if ev.Number != subscriber || len(ev.Entries) != 3 {
			t.Errorf("evidence for %q: number %s with %d entries, want %s with 3", n, ev.Number,
				len(ev.Entries), subscriber)
		}
	}
}

func TestConsentInvisibleToOtherAccounts(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.optIn("beta", subscriber2)
	f.wantReason("beta", tfBeta, subscriber, consent.ReasonNoConsent)
	f.wantReason(acme, tfAcme, subscriber2, consent.ReasonNoConsent)

	// A STOP to beta opts out of beta only.
	f.mo(subscriber2, tfBeta, "STOP")
	f.mo(subscriber, tfBeta, "STOP")
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
	f.wantReason("beta", tfBeta, subscriber, consent.ReasonOptedOut)

	ev, err := f.e.Evidence(context.Background(), "beta", subscriber)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev.Entries {
		if e.Account != "beta" {
			t.Errorf("beta's evidence holds an entry of account %q: %+v", e.Account, e)
		}
	}
	if len(ev.Entries) != 1 {
		t.Errorf("beta's evidence for %s has %d entries, want 1 (its STOP)", subscriber, len(ev.Entries))
	}

	var buf bytes.Buffer
	if err := f.e.ExportCSV(context.Background(), "beta", &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows[1:] {
		if row[1] == consent.StateOptedIn.String() {
			t.Errorf("beta's export lists an opt-in: %v", row)
		}
	}
	if len(rows) != 3 {
		t.Errorf("beta's export has %d rows, want a header and 2", len(rows))
	}
}

// TestEvidenceCompleteLifecycle follows one number through every kind of
// event and checks that its evidence holds each one with the facts a
// dispute needs.
func TestEvidenceCompleteLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	step := func() { f.clock.Set(f.clock.Now().Add(time.Minute)) }

	req1, err := f.e.RequestOptIn(ctx, consent.OptInRequest{Account: acme, To: subscriber,
		Source: consent.SourceSIP, MessageID: "call-1"})
	if err != nil {
		t.Fatal(err)
	}
	step()
	req2, err := f.e.RequestOptIn(ctx, consent.OptInRequest{Account: acme, TollFree: tfAcme2,
		To: subscriber, Source: consent.SourceHTTP, MessageID: "api-2"})
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		from, to, text string
		ids            []string
	}
	mos := []sent{
		{subscriber, tfAcme2, "Yes please", []string{"seg-1", "seg-2"}},
		{subscriber, tfAcme, "HELP", []string{"h-1"}},
		{subscriber, tfAcme, "Stop\u2026", []string{"s-1"}},
		{subscriber, tfAcme, "YES", []string{"y-2"}},
		{subscriber, tfAcme, "UNSTOP", []string{"u-1"}},
	}
	var results []consent.MOResult
	for _, mo := range mos {
		step()
		res, err := f.e.HandleMO(ctx, consent.MO{From: mo.from, To: mo.to, Text: mo.text,
			MessageIDs: mo.ids, Source: consent.SourceSMPP})
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, res)
	}

	ev, err := f.e.Evidence(ctx, acme, subscriber)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Entries) != 2+len(mos) {
		t.Fatalf("evidence has %d entries, want %d", len(ev.Entries), 2+len(mos))
	}
	start := noon
	for i, e := range ev.Entries {
		if e.Seq != uint32(i+1) || e.Account != acme || e.Number != subscriber {
			t.Errorf("entry %d: seq %d pair %s/%s", i, e.Seq, e.Account, e.Number)
		}
		if want := start.Add(time.Duration(i) * time.Minute); !e.Time.Equal(want) {
			t.Errorf("entry %d time %v, want %v", i, e.Time, want)
		}
	}
	r1, r2 := ev.Entries[0], ev.Entries[1]
	if r1.Text != req1.Text || r1.Source != consent.SourceSIP || !slices.Equal(r1.MessageIDs, []string{"call-1"}) ||
		r1.TollFree != tfAcme {
		t.Errorf("first request entry %+v", r1)
	}
	if r2.Text != req2.Text || r2.Source != consent.SourceHTTP || !slices.Equal(r2.MessageIDs, []string{"api-2"}) ||
		r2.TollFree != tfAcme2 {
		t.Errorf("second request entry %+v", r2)
	}
	for i, mo := range mos {
		e := ev.Entries[2+i]
		if e.Text != mo.text || !slices.Equal(e.MessageIDs, mo.ids) || e.TollFree != mo.to ||
			e.Source != consent.SourceSMPP {
			t.Errorf("MO entry %d = %+v, want text %q ids %v to %s", i, e, mo.text, mo.ids, mo.to)
		}
		res := results[i]
		wantReply := ""
		if len(res.Replies) == 1 {
			wantReply = res.Replies[0].Text
		}
		if e.ReplyText != wantReply {
			t.Errorf("MO entry %d reply text %q, want the sent reply %q", i, e.ReplyText, wantReply)
		}
	}
	yes := ev.Entries[2]
	if yes.RequestSeq != 2 || yes.RequestText != req2.Text || !yes.FreeText {
		t.Errorf("YES entry answers %d %q free text %v, want 2 %q true", yes.RequestSeq, yes.RequestText,
			yes.FreeText, req2.Text)
	}
	if late := ev.Entries[5]; late.Skip != consent.SkipOptedOut || late.RequestText != "" {
		t.Errorf("YES while opted out: %+v, want skipped as opted_out without a request text", late)
	}
	if ev.State != consent.StateOptedIn || ev.Requests != 2 {
		t.Errorf("evidence state %s with %d requests, want opted_in with 2", ev.State, ev.Requests)
	}
}
