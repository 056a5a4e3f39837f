package consent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

func history(t *testing.T, s consent.Store, account, number string) []consent.AuditEntry {
	t.Helper()
	h, err := s.History(context.Background(), account, number)
	if err != nil {
		t.Fatalf("history: %v", err)
	}
	return h
}

// Smartphones switch to UCS2 when smart punctuation is typed, so STOP can
// arrive with an ellipsis or no-break spaces around it.
func TestHandleMOStopWithSmartPunctuation(t *testing.T) {
	f := newFixture(t)
	texts := map[string]string{subscriber: "Stop…", subscriber2: "\u00a0stop! "}
	for from, text := range texts {
		res := f.mo(from, tfAcme, text)
		if res.Event != consent.EventStop || res.Effect.Outcome != consent.OutcomeOptedOut {
			t.Errorf("%q: event %s outcome %s, want stop/opted_out", text, res.Event, res.Effect.Outcome)
		}
		if len(res.Replies) != 1 {
			t.Errorf("%q: %d replies, want 1 confirmation", text, len(res.Replies))
		}
		if d := f.check(acme, tfAcme, from); d.Reason != consent.ReasonOptedOut {
			t.Errorf("%q: MT reason %q, want opted_out", text, d.Reason)
		}
		h := history(t, f.store, acme, from)
		if len(h) != 1 || h[0].Text != text {
			t.Errorf("%q: audit %+v, want one entry with the verbatim text", text, h)
		}
	}
}

// Matching is on the whole message: STOP inside a sentence is an ordinary
// message for the business, and a repeated STOP sends no second reply.
func TestHandleMOWholeMessageStop(t *testing.T) {
	f := newFixture(t)
	steps := []struct {
		text    string
		event   consent.EventKind
		replies int
		forward consent.Forward
	}{
		{"  stop \r\n", consent.EventStop, 1, consent.ForwardMarked},
		{"Stop!", consent.EventStop, 0, consent.ForwardMarked},
		{"We have got to STOP this bill", 0, 0, consent.ForwardPlain},
		{"STOP", consent.EventStop, 0, consent.ForwardMarked},
	}
	for _, s := range steps {
		res := f.mo(subscriber, tfAcme, s.text)
		if res.Event != s.event || len(res.Replies) != s.replies || res.Forward != s.forward {
			t.Errorf("%q: event %s, %d replies, forward %d; want %s, %d, %d", s.text, res.Event,
				len(res.Replies), res.Forward, s.event, s.replies, s.forward)
		}
	}
	if h := history(t, f.store, acme, subscriber); len(h) != 3 {
		t.Errorf("audit has %d entries, want 3 (the ordinary message is not a consent event)", len(h))
	}
	if d := f.check(acme, tfAcme, subscriber); d.Reason != consent.ReasonOptedOut {
		t.Errorf("MT reason %q, want opted_out", d.Reason)
	}
}

func TestHandleMOReplies(t *testing.T) {
	f := newFixture(t)
	res := f.mo(subscriber, tfAcme2, "HELP")
	if len(res.Replies) != 1 {
		t.Fatalf("HELP gave %d replies, want 1", len(res.Replies))
	}
	r := res.Replies[0]
	if r.From != tfAcme2 || r.To != subscriber {
		t.Errorf("HELP reply from %s to %s, want from %s to %s", r.From, r.To, tfAcme2, subscriber)
	}
	for _, want := range []string{"Acme Dental", "(800) 555-0100", "STOP"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("HELP reply %q lacks %q", r.Text, want)
		}
	}
	if res.Account != acme || res.Match.Keyword != consent.KeywordHelp {
		t.Errorf("HELP result account %q keyword %s", res.Account, res.Match.Keyword)
	}

	stop := f.mo(subscriber, tfAcme, "STOP")
	if len(stop.Replies) != 1 || !strings.Contains(stop.Replies[0].Text, "Acme Dental") {
		t.Fatalf("STOP replies %+v, want one confirmation naming the business", stop.Replies)
	}
	if stop.Match.Keyword != consent.KeywordOptOut || stop.Forward != consent.ForwardMarked {
		t.Errorf("STOP forwarded as %d with keyword %s, want marked opt_out", stop.Forward, stop.Match.Keyword)
	}
	if help := f.mo(subscriber, tfAcme, "INFO"); len(help.Replies) != 1 {
		t.Errorf("INFO while opted out gave %d replies, want 1", len(help.Replies))
	}
	if yes := f.mo(subscriber, tfAcme, "YES"); len(yes.Replies) != 0 {
		t.Errorf("YES while opted out gave %d replies, want none", len(yes.Replies))
	}
	resume := f.mo(subscriber, tfAcme, "UNSTOP")
	if len(resume.Replies) != 1 || resume.Effect.Outcome != consent.OutcomeResumed {
		t.Errorf("UNSTOP: %d replies, outcome %s; want 1 and resumed", len(resume.Replies), resume.Effect.Outcome)
	}

	// The audit trail keeps each reply that was sent.
	h := history(t, f.store, acme, subscriber)
	if len(h) != 5 {
		t.Fatalf("audit has %d entries, want 5", len(h))
	}
	if h[1].Reply != consent.ReplyOptOut || h[1].ReplyText != stop.Replies[0].Text {
		t.Errorf("STOP entry reply %s %q, want opt_out %q", h[1].Reply, h[1].ReplyText, stop.Replies[0].Text)
	}
	if h[3].Reply != consent.ReplyNone || h[3].ReplyText != "" || h[3].Skip != consent.SkipOptedOut {
		t.Errorf("ignored YES entry: reply %s %q skip %q", h[3].Reply, h[3].ReplyText, h[3].Skip)
	}
	if !slices.Equal(h[1].MessageIDs, []string{"m-STOP"}) || h[1].Source != consent.SourceSMPP || h[1].TollFree != tfAcme {
		t.Errorf("STOP entry ids %v source %s toll-free %s", h[1].MessageIDs, h[1].Source, h[1].TollFree)
	}
}

func TestHandleMOFreeTextRevocation(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	res := f.mo(subscriber, tfAcme, "Please stop texting me")
	if res.Event != consent.EventStop || !res.Match.FreeText {
		t.Fatalf("revocation phrase: event %s free text %v, want stop and true", res.Event, res.Match.FreeText)
	}
	h := history(t, f.store, acme, subscriber)
	if last := h[len(h)-1]; !last.FreeText || last.Text != "Please stop texting me" {
		t.Errorf("audit entry free text %v text %q", last.FreeText, last.Text)
	}
	if d := f.check(acme, tfAcme, subscriber); d.Reason != consent.ReasonOptedOut {
		t.Errorf("MT reason %q, want opted_out", d.Reason)
	}
}

func TestHandleMOErrors(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, err := f.e.HandleMO(ctx, consent.MO{From: subscriber, To: "+18885550199", Text: "STOP"})
	if !errors.Is(err, consent.ErrUnknownTollFree) {
		t.Errorf("MO to an unknown toll-free number: %v, want ErrUnknownTollFree", err)
	}
	_, err = f.e.HandleMO(ctx, consent.MO{From: "ACME", To: tfAcme, Text: "STOP"})
	if !errors.Is(err, consent.ErrInvalidNumber) {
		t.Errorf("MO from an alphanumeric sender: %v, want ErrInvalidNumber", err)
	}
	_, err = f.e.HandleMO(ctx, consent.MO{From: subscriber, To: "", Text: "STOP"})
	if !errors.Is(err, consent.ErrInvalidNumber) {
		t.Errorf("MO without a recipient: %v, want ErrInvalidNumber", err)
	}
}

func TestRequestOptIn(t *testing.T) {
	f := newFixture(t)
	first, err := f.request(acme, subscriber)
	if err != nil {
		t.Fatalf("first request: %v", err)
	}
	if first.From != tfAcme || first.To != subscriber || first.Sequence != 1 || first.Segments < 1 {
		t.Errorf("first request = %+v, want from %s to %s, sequence 1", first, tfAcme, subscriber)
	}
	for _, want := range []string{"Acme Dental", "(888) 555-0100", "YES", "STOP", "rates"} {
		if !strings.Contains(first.Text, want) {
			t.Errorf("request text %q lacks %q", first.Text, want)
		}
	}
	second, err := f.e.RequestOptIn(context.Background(), consent.OptInRequest{
		Account: acme, TollFree: tfAcme2, To: "(201) 555-0101", Source: consent.SourceSIP, MessageID: "call-7",
	})
	if err != nil {
		t.Fatalf("second request: %v", err)
	}
	if second.Sequence != 2 || second.From != tfAcme2 || !strings.Contains(second.Text, "(800) 555-0100") {
		t.Errorf("second request = %+v", second)
	}
	if _, err := f.request(acme, subscriber); !errors.Is(err, consent.ErrRequestLimit) {
		t.Errorf("third request: %v, want ErrRequestLimit", err)
	}

	h := history(t, f.store, acme, subscriber)
	if len(h) != 3 || h[0].Text != first.Text || h[1].Text != second.Text {
		t.Fatalf("audit does not hold the request texts: %+v", h)
	}
	if h[1].Source != consent.SourceSIP || !slices.Equal(h[1].MessageIDs, []string{"call-7"}) {
		t.Errorf("second request entry source %s ids %v", h[1].Source, h[1].MessageIDs)
	}
	if h[2].Skip != consent.SkipRequestLimit {
		t.Errorf("refused request entry skip %q, want request_limit", h[2].Skip)
	}

	// A YES to the second sender replies to the second request.
	f.mo(subscriber, tfAcme2, "YES")
	h = history(t, f.store, acme, subscriber)
	if yes := h[len(h)-1]; yes.RequestText != second.Text || yes.RequestSeq != 2 {
		t.Errorf("YES entry answers request %d %q, want 2 %q", yes.RequestSeq, yes.RequestText, second.Text)
	}
	if _, err := f.request(acme, subscriber); !errors.Is(err, consent.ErrAlreadyOptedIn) {
		t.Errorf("request to an opted-in number: %v, want ErrAlreadyOptedIn", err)
	}
	st := f.e.Stats()
	if st.RequestsSent != 2 || st.RequestsRefused != 2 {
		t.Errorf("requests sent/refused = %d/%d, want 2/2", st.RequestsSent, st.RequestsRefused)
	}
}

func TestRequestOptInRefused(t *testing.T) {
	f := newFixture(t)
	f.mo(subscriber2, tfAcme, "STOP")
	tests := []struct {
		name string
		req  consent.OptInRequest
		want error
	}{
		{"opted out", consent.OptInRequest{Account: acme, To: subscriber2}, consent.ErrOptedOut},
		{"unknown account", consent.OptInRequest{Account: "nobody", To: subscriber}, consent.ErrUnknownAccount},
		{"invalid number", consent.OptInRequest{Account: acme, To: "12"}, consent.ErrInvalidNumber},
		{"sender not ready", consent.OptInRequest{Account: acme, TollFree: tfNotReady, To: subscriber}, consent.ErrSenderNotReady},
		{"sender of another account", consent.OptInRequest{Account: acme, TollFree: tfBeta, To: subscriber}, consent.ErrSenderNotOwned},
		{"sender not toll-free", consent.OptInRequest{Account: acme, TollFree: "+12015550150", To: subscriber}, consent.ErrSenderNotTollFree},
		{"no ready sender", consent.OptInRequest{Account: "idle", To: subscriber}, consent.ErrSenderNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.e.RequestOptIn(context.Background(), tc.req)
			if !errors.Is(err, tc.want) {
				t.Errorf("error = %v, want %v", err, tc.want)
			}
		})
	}
	if r, _ := f.store.Get(context.Background(), acme, subscriber); !r.IsZero() {
		t.Errorf("refused requests left a record for %s: %+v", subscriber, r)
	}
}
