package sip

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

func TestMessageAllowedReachesCarrier(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)

	res := exchangeUDP(t, f.addr("udp"), message(tfReady, customer, "text/plain;charset=UTF-8", "Your cleaning is at 3pm"))
	if res.StatusCode != 202 {
		t.Fatalf("status = %d %s (%s), want 202", res.StatusCode, res.Reason, header(res, "Warning"))
	}
	if id := header(res, HeaderMessageID); len(id) != 16 {
		t.Errorf("%s = %q, want optgate's 16-digit id", HeaderMessageID, id)
	}
	msgs := f.waitMessages(1)
	if got := msgs[0].Text; got != "Your cleaning is at 3pm" {
		t.Errorf("carrier text = %q", got)
	}
	if msgs[0].Source != "18885550100" || msgs[0].Destination != "12015550101" {
		t.Errorf("carrier addresses = %s -> %s, want 18885550100 -> 12015550101", msgs[0].Source, msgs[0].Destination)
	}
	if got := f.counter("optgate_sip_requests_total", map[string]string{"method": "MESSAGE"}); got != 1 {
		t.Errorf("requests_total{method=MESSAGE} = %v, want 1", got)
	}
	// The response leaves before the counter moves, so the test waits.
	waitFor(t, "responses_total{code=202} to be 1", func() bool {
		return f.counter("optgate_sip_responses_total", map[string]string{"code": "202"}) == 1
	})
}

func TestMessageBlockedHasWarning(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer2, consent.StateOptedOut)
	cases := []struct {
		name       string
		from, to   string
		wantStatus int
		wantCode   string
	}{
		{"no consent", tfReady, customer, 403, "no_consent"},
		{"opted out", tfReady, customer2, 403, "opted_out"},
		{"sender without voicemail", tfNotReady, customer, 403, "sender_not_ready"},
		{"sender of no account", tfNobody, customer, 403, "sender_not_owned"},
		{"sender not toll-free", customer2, customer, 403, "sender_not_toll_free"},
		{"recipient not a number", tfReady, "alice", 404, "invalid_number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := exchangeUDP(t, f.addr("udp"), message(tc.from, tc.to, "text/plain", "Hello"))
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d %s, want %d", res.StatusCode, res.Reason, tc.wantStatus)
			}
			w := header(res, "Warning")
			if !strings.HasPrefix(w, `399 optgate "`+tc.wantCode+":") {
				t.Errorf("Warning = %q, want warn-code 399 naming %s", w, tc.wantCode)
			}
			if ra := header(res, "Retry-After"); ra != "" {
				t.Errorf("Retry-After = %q on a permanent block", ra)
			}
		})
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

func TestMessageContentTypes(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	cases := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantText    string
	}{
		{"charset parameter", "text/plain;charset=UTF-8", "Hello", 202, "Hello"},
		{"mixed case and quoted charset", `Text/Plain; charset="utf-8"`, "Hi there", 202, "Hi there"},
		{"upper-case parameter name", "TEXT/PLAIN; CHARSET=UTF-8", "Upper", 202, "Upper"},
		{"no parameters", "text/plain", "Plain", 202, "Plain"},
		{"two-byte character counted in bytes", "text/plain;charset=UTF-8", "Café", 202, "Café"},
		{"latin-1 charset", "text/plain; charset=ISO-8859-1", "Caf\xe9 au lait", 202, "Café au lait"},
		{"3gpp binary sms", "application/vnd.3gpp.sms", "\x00\x01\x02", 415, ""},
		{"html", "text/html", "<p>Hi</p>", 415, ""},
		{"unknown charset", "text/plain; charset=x-no-such", "Hi", 415, ""},
		{"malformed content-type", "text/plain; charset", "Hi", 400, ""},
		{"invalid UTF-8", "text/plain;charset=UTF-8", "Caf\xc3", 488, ""},
	}
	sent := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := exchangeUDP(t, f.addr("udp"), message(tfReady, customer, tc.contentType, tc.body))
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d %s (%s), want %d", res.StatusCode, res.Reason, header(res, "Warning"), tc.wantStatus)
			}
			if tc.wantStatus == 415 {
				// RFC 3261 section 21.4.13: the response lists what is accepted.
				if a := header(res, "Accept"); !strings.HasPrefix(a, "text/plain") {
					t.Errorf("Accept = %q, want text/plain", a)
				}
			}
			if tc.wantStatus != 202 {
				return
			}
			sent++
			msgs := f.waitMessages(sent)
			if got := msgs[sent-1].Text; got != tc.wantText {
				t.Errorf("carrier text = %q, want %q", got, tc.wantText)
			}
		})
	}
	if n := len(f.sim.Messages()); n != sent {
		t.Errorf("simulator got %d messages, want %d", n, sent)
	}
	if rec := f.consentRecord("acme", customer); rec.State != consent.StateOptedIn {
		t.Errorf("consent state = %v after refused bodies, want opted_in", rec.State)
	}
}

func TestMessageContentEncodingRefused(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	m := message(tfReady, customer, "text/plain", "Hello").with("Content-Encoding", "Content-Encoding: gzip")
	res := exchangeUDP(t, f.addr("udp"), m)
	if res.StatusCode != 415 {
		t.Fatalf("status = %d, want 415", res.StatusCode)
	}
	if got := header(res, "Accept-Encoding"); got != "identity" {
		t.Errorf("Accept-Encoding = %q, want identity", got)
	}
}

func TestMessageCompactHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer2, consent.StateOptedIn)
	// RFC 3261 section 7.3.3 compact forms: v, f, t, i, c and l.
	m := rawMessage{lines: []string{
		"v: SIP/2.0/UDP %ADDR%;branch=z9hG4bK-b28",
		"f: <sip:" + tfReady + "@127.0.0.1>;tag=b28f",
		"t: <sip:" + customer2 + "@127.0.0.1>",
		"i: b28-1@127.0.0.1",
		"CSeq: 7 MESSAGE",
		"Max-Forwards: 70",
		"c: text/plain",
		"l: 4",
	}, body: "HELP"}
	res := exchangeUDP(t, f.addr("udp"), m)
	if res.StatusCode != 202 {
		t.Fatalf("status = %d %s (%s), want 202", res.StatusCode, res.Reason, header(res, "Warning"))
	}
	if got := res.CallID().Value(); got != "b28-1@127.0.0.1" {
		t.Errorf("Call-ID = %q, want the request's", got)
	}
	if got := res.CSeq(); got.SeqNo != 7 || got.MethodName != "MESSAGE" {
		t.Errorf("CSeq = %v, want 7 MESSAGE", got)
	}
	if got, _ := res.From().Params.Get("tag"); got != "b28f" {
		t.Errorf("From tag = %q, want b28f", got)
	}
	if got, ok := res.To().Params.Get("tag"); !ok || got == "" {
		t.Error("To has no tag; RFC 3261 section 8.2.6.2 requires one")
	}
	if got := f.waitMessages(1)[0].Text; got != "HELP" {
		t.Errorf("carrier text = %q, want HELP", got)
	}
}

func TestMessageContentLengthOverUDP(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	cases := []struct {
		name   string
		body   string
		length string
	}{
		{"characters instead of bytes", "Café", "4"},
		{"longer than the body", "STOP", "9"},
		{"zero with a body", "Hi", "0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := message(tfReady, customer, "text/plain;charset=UTF-8", tc.body).
				with("Content-Length", "Content-Length: "+tc.length)
			res := exchangeUDP(t, f.addr("udp"), m)
			if res.StatusCode != 400 {
				t.Fatalf("status = %d %s, want 400", res.StatusCode, res.Reason)
			}
			if w := header(res, "Warning"); !strings.Contains(w, "Content-Length is "+tc.length) {
				t.Errorf("Warning = %q, want it to name the Content-Length", w)
			}
		})
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
	if got := f.counter("optgate_sip_responses_total", map[string]string{"code": "400"}); got != 3 {
		t.Errorf("responses_total{code=400} = %v, want 3", got)
	}
}

func TestMessageOverTCPFramedByContentLength(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	conn := dialTCP(t, f.addr("tcp"))
	// Two messages in one write: the first body must end at its
	// Content-Length and leave the second message whole.
	first := message(tfReady, customer, "text/plain;charset=UTF-8", "Café")
	second := message(tfReady, customer, "text/plain;charset=UTF-8", "Second text")
	conn.send(first, second)
	for i := range 2 {
		if res := conn.final(); res.StatusCode != 202 {
			t.Fatalf("response %d: status = %d %s, want 202", i+1, res.StatusCode, res.Reason)
		}
	}
	msgs := f.waitMessages(2)
	texts := []string{msgs[0].Text, msgs[1].Text}
	if !(texts[0] == "Café" && texts[1] == "Second text") && !(texts[1] == "Café" && texts[0] == "Second text") {
		t.Errorf("carrier texts = %q, want Café and Second text", texts)
	}
}

func TestMessageNumberForms(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	cases := []struct {
		name string
		to   string // the To line
	}{
		{"tel URI with separators", "To: <tel:+1-201-555-0101>"},
		{"national number", "To: <sip:2015550101@127.0.0.1>"},
		{"user=phone", "To: <sip:+12015550101@127.0.0.1;user=phone>"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := message(tfReady, customer, "text/plain", tc.name).with("To", tc.to)
			res := exchangeUDP(t, f.addr("udp"), m)
			if res.StatusCode != 202 {
				t.Fatalf("status = %d %s (%s), want 202", res.StatusCode, res.Reason, header(res, "Warning"))
			}
			msg := f.waitMessages(i + 1)[i]
			if msg.Destination != "12015550101" {
				t.Errorf("carrier destination = %q, want 12015550101", msg.Destination)
			}
		})
	}
}

func TestMessageTemporaryFailuresHaveRetryAfter(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)

	f.consent.fail.Store(true)
	res := exchangeUDP(t, f.addr("udp"), message(tfReady, customer, "text/plain", "Hello"))
	f.consent.fail.Store(false)
	if res.StatusCode != 503 || header(res, "Retry-After") != "5" {
		t.Errorf("store down: status = %d, Retry-After = %q; want 503 and 5", res.StatusCode, header(res, "Retry-After"))
	}
	if w := header(res, "Warning"); !strings.Contains(w, "store_unavailable") {
		t.Errorf("store down: Warning = %q, want store_unavailable", w)
	}

	if err := f.sim.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the carrier bind to drop", func() bool { return f.carriers.Pools()[0].BoundSessions() == 0 })
	res = exchangeUDP(t, f.addr("udp"), message(tfReady, customer, "text/plain", "Hello"))
	if res.StatusCode != 503 || header(res, "Retry-After") != "5" {
		t.Errorf("carrier down: status = %d, Retry-After = %q; want 503 and 5", res.StatusCode, header(res, "Retry-After"))
	}
	if w := header(res, "Warning"); !strings.Contains(w, "carrier_unavailable") {
		t.Errorf("carrier down: Warning = %q, want carrier_unavailable", w)
	}
}

func TestMessageFromUnknownAddressForbidden(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	accounts := append([]config.Account(nil), f.cfg.Accounts...)
	acme := accounts[0]
	acme.SIPTrunks = []config.SIPTrunk{{Name: "office", AllowedCIDRs: []string{"192.0.2.0/24"}}}
	accounts[0] = acme
	accounts = accounts[:1] // beta's digest trunk would allow any address
	if err := f.srv.UpdateAccounts(accounts); err != nil {
		t.Fatal(err)
	}
	res := exchangeUDP(t, f.addr("udp"), message(tfReady, customer, "text/plain", "Hello"))
	if res.StatusCode != 403 {
		t.Fatalf("status = %d, want 403", res.StatusCode)
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

func TestMessageClientRefAndReceiptHeaders(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	cases := []struct {
		name       string
		line       string
		wantStatus int
	}{
		{"unknown receipt value", HeaderReceipt + ": always", 400},
		{"client ref too long", HeaderClientRef + ": " + strings.Repeat("r", 65), 400},
		{"receipt on failure", HeaderReceipt + ": failure", 202},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := message(tfReady, customer, "text/plain", "Hello")
			m.lines = append(m.lines, tc.line)
			res := exchangeUDP(t, f.addr("udp"), m)
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d (%s), want %d", res.StatusCode, header(res, "Warning"), tc.wantStatus)
			}
		})
	}
	if got := f.waitMessages(1)[0].RegisteredDelivery; got != 2 {
		t.Errorf("registered_delivery = %d, want 2 for %s: failure", got, HeaderReceipt)
	}
}

func TestMessageWithoutFromRejected(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	m := message(tfReady, customer, "text/plain", "Hello").with("From", "")
	res := exchangeUDP(t, f.addr("udp"), m)
	if res.StatusCode != 400 {
		t.Errorf("status = %d %s, want 400", res.StatusCode, res.Reason)
	}
}
