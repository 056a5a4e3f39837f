package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway/console"
)

type numbersBody struct {
	Numbers []numberView `json:"numbers"`
}

func numberList(nv []numberView) []string {
	var out []string
	for _, n := range nv {
		out = append(out, n.Account+":"+n.Number)
	}
	return out
}

func TestConsoleNumbersScopedToAccount(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, tc := range []struct {
		name, path, token string
		want              []string
	}{
		{"acme token", "/v1/numbers", apiAcmeToken, []string{"acme:" + apiAcmeTF, "acme:" + apiAcmeNotReady}},
		{"globex token", "/v1/numbers", apiGlobexToken, []string{"globex:" + apiGlobexTF}},
		{"acme naming itself", "/v1/numbers?account=acme", apiAcmeToken,
			[]string{"acme:" + apiAcmeTF, "acme:" + apiAcmeNotReady}},
		{"operator", "/v1/numbers", apiOperatorToken,
			[]string{"acme:" + apiAcmeTF, "acme:" + apiAcmeNotReady, "globex:" + apiGlobexTF}},
		{"operator one account", "/v1/numbers?account=globex", apiOperatorToken, []string{"globex:" + apiGlobexTF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.get(tc.path, tc.token)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d, body %s", w.Code, w.Body)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			got := numberList(decodeAPIBody[numbersBody](t, w).Numbers)
			if !slices.Equal(got, tc.want) {
				t.Errorf("numbers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConsoleNumbersOtherAccountForbidden(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.get("/v1/numbers?account=globex", apiAcmeToken)
	wantAPIError(t, w, http.StatusForbidden, codeForbidden)
	if strings.Contains(w.Body.String(), apiGlobexTF) {
		t.Errorf("forbidden response names globex's number: %s", w.Body)
	}
	wantAPIError(t, f.get("/v1/numbers", ""), http.StatusUnauthorized, codeUnauthorized)
	wantAPIError(t, f.get("/v1/numbers?account=nobody", apiOperatorToken), http.StatusBadRequest, codeInvalidRequest)
}

func TestConsoleNumbersReadiness(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	numbers := decodeAPIBody[numbersBody](t, f.get("/v1/numbers", apiAcmeToken)).Numbers
	if len(numbers) != 2 {
		t.Fatalf("got %d numbers, want 2", len(numbers))
	}
	ready, notReady := numbers[0], numbers[1]
	if !ready.Ready || !ready.Greeting || !ready.Voicemail || len(ready.Problems) != 0 {
		t.Errorf("ready number = %+v, want ready with no problems", ready)
	}
	if notReady.Ready || !notReady.Greeting || notReady.Voicemail {
		t.Errorf("number without voicemail = %+v, want greeting but not ready", notReady)
	}
	if len(notReady.Problems) != 1 || !strings.Contains(notReady.Problems[0], "voicemail") {
		t.Errorf("problems = %q, want one about voicemail", notReady.Problems)
	}
}

func TestConsolePreviewConfiguredTemplate(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.post("/v1/optin-requests/preview", apiAcmeToken, `{"to":"`+apiSubscriber+`"}`)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, body %s", w.Code, w.Body)
	}
	// A number never contacted still gets its state and count, which
	// the console adds one to.
	if body := w.Body.String(); !strings.Contains(body, `"state":"none"`) ||
		!strings.Contains(body, `"requests":0`) {
		t.Errorf("preview of a new number = %s, want state none and requests 0", body)
	}
	p := decodeAPIBody[previewResponse](t, w)

	want, err := consent.RenderRequest(consent.Template{BusinessName: "Acme Dental"}, apiAcmeTF)
	if err != nil {
		t.Fatal(err)
	}
	if p.Text != want.Text {
		t.Errorf("text = %q, want %q", p.Text, want.Text)
	}
	if p.Segments != 1 || p.Encoding != "gsm7" || p.Characters != len(want.Text) {
		t.Errorf("segments %d, encoding %q, characters %d; want 1, gsm7, %d",
			p.Segments, p.Encoding, p.Characters, len(want.Text))
	}
	if !p.Configured || p.BusinessName != "Acme Dental" || p.From != apiAcmeTF {
		t.Errorf("configured %v, business %q, from %s", p.Configured, p.BusinessName, p.From)
	}
	if p.Allowed == nil || !*p.Allowed || p.State != consent.StateNone {
		t.Errorf("allowed %v, state %v; want allowed for a new number", p.Allowed, p.State)
	}

	// A preview records nothing, so the number can still get two.
	ev, err := f.engine.Evidence(f.ctx, "acme", apiSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Requests != 0 || len(ev.Entries) != 0 {
		t.Errorf("preview changed the record: %d requests, %d entries", ev.Requests, len(ev.Entries))
	}
}

func TestConsolePreviewEditedFields(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	body := `{"business_name":"Acme Dental Ünïcode ✓","website":"acme.example",` +
		`"details":"Appointment reminders, about 2 texts a month. ` + strings.Repeat("More words here. ", 6) + `"}`
	p := decodeAPIBody[previewResponse](t, f.post("/v1/optin-requests/preview", apiAcmeToken, body))
	if p.Configured {
		t.Error("configured = true for edited fields")
	}
	if p.Encoding != "ucs2" || p.Segments < 3 {
		t.Errorf("encoding %q with %d segments, want ucs2 over 2 segments", p.Encoding, p.Segments)
	}
	if !strings.HasPrefix(p.Text, "Acme Dental Ünïcode ✓ wants") || !strings.HasSuffix(p.Text, "More at acme.example") {
		t.Errorf("text = %q", p.Text)
	}
	if p.Allowed != nil {
		t.Errorf("allowed = %v without a number, want it left out", *p.Allowed)
	}
}

func TestConsolePreviewRefusals(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for range consent.MaxRequests {
		if w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"`+apiSubscriber+`"}`); w.Code != http.StatusAccepted {
			t.Fatalf("opt-in request: status %d, body %s", w.Code, w.Body)
		}
	}
	f.setState("acme", apiSubscriber2, consent.StateOptedOut)
	for _, tc := range []struct {
		name, body string
		reason     Code
		requests   int
	}{
		{"limit reached", `{"to":"` + apiSubscriber + `"}`, CodeRequestLimit, 2},
		{"opted out", `{"to":"` + apiSubscriber2 + `"}`, CodeOptedOut, 0},
		{"sender not ready", `{"to":"+12015550103","from":"` + apiAcmeNotReady + `"}`, CodeSenderNotReady, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := decodeAPIBody[previewResponse](t, f.post("/v1/optin-requests/preview", apiAcmeToken, tc.body))
			if p.Allowed == nil || *p.Allowed {
				t.Fatalf("allowed = %v, want false", p.Allowed)
			}
			if p.Reason != tc.reason || p.Message == "" {
				t.Errorf("reason %q, message %q; want %q", p.Reason, p.Message, tc.reason)
			}
			if p.Requests != tc.requests {
				t.Errorf("requests = %d, want %d", p.Requests, tc.requests)
			}
			if p.Text == "" {
				t.Error("a refused preview still shows the text")
			}
		})
	}
}

func TestConsolePreviewInvalidInput(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              Code
		field             string
	}{
		{"website with spaces", apiAcmeToken, `{"website":"acme example"}`, 400, codeInvalidRequest, "website"},
		{"details too long", apiAcmeToken, `{"details":"` + strings.Repeat("x", 301) + `"}`, 400, codeInvalidRequest, "details"},
		{"control character", apiAcmeToken, `{"business_name":"Acme\u0007"}`, 400, codeInvalidRequest, "business_name"},
		{"invalid number", apiAcmeToken, `{"to":"12"}`, 400, CodeInvalidNumber, "to"},
		{"sender of another account", apiAcmeToken, `{"from":"` + apiGlobexTF + `"}`, 403, CodeSenderNotOwned, ""},
		{"unknown field", apiAcmeToken, `{"text":"hi"}`, 400, codeInvalidRequest, "text"},
		{"operator without account", apiOperatorToken, `{}`, 400, codeInvalidRequest, "account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.post("/v1/optin-requests/preview", tc.token, tc.body)
			e := wantAPIError(t, w, tc.status, tc.code)
			if e.Error.Field != tc.field {
				t.Errorf("field = %q, want %q", e.Error.Field, tc.field)
			}
		})
	}
}

func TestConsoleOperatorEndpoints(t *testing.T) {
	blocks := NewBlockLog(10)
	blocks.Record(Block{Time: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC), Account: "acme",
		Number: apiSubscriber, Direction: dirMT, Reason: CodeNoConsent})
	reg := prometheus.NewRegistry()
	metrics, err := NewMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		c.Console = ConsoleSources{Blocks: blocks, Traffic: NewTrafficRates(reg)}
	}})
	for _, path := range []string{"/v1/binds", "/v1/blocks/recent"} {
		wantAPIError(t, f.get(path, apiAcmeToken), http.StatusForbidden, codeForbidden)
	}

	w := f.get("/v1/binds", apiOperatorToken)
	if w.Code != http.StatusOK {
		t.Fatalf("binds: status %d, body %s", w.Code, w.Body)
	}
	binds := decodeAPIBody[bindsResponse](t, w)
	if binds.Carriers == nil || binds.Business == nil || binds.Traffic != nil {
		t.Errorf("binds without sources = %s, want empty lists and no traffic yet", w.Body)
	}

	metrics.message(dirMT, outcomeBlocked, CodeNoConsent)
	metrics.message(dirMT, outcomeSent, "")
	w = f.get("/v1/blocks/recent?limit=5", apiOperatorToken)
	if w.Code != http.StatusOK {
		t.Fatalf("blocks: status %d, body %s", w.Code, w.Body)
	}
	got := decodeAPIBody[struct {
		Recorded bool          `json:"recorded"`
		Blocks   []Block       `json:"blocks"`
		ByReason []reasonCount `json:"by_reason"`
	}](t, w)
	if !got.Recorded {
		t.Error("recorded = false with a block log")
	}
	if len(got.Blocks) != 1 || got.Blocks[0].Number != "+1******0101" || got.Blocks[0].Reason != CodeNoConsent {
		t.Errorf("blocks = %+v, want the one recorded, number masked", got.Blocks)
	}
	want := reasonCount{Direction: dirMT, Reason: CodeNoConsent, Count: 1}
	if len(got.ByReason) != 1 || got.ByReason[0] != want {
		t.Errorf("by_reason = %+v, want only %+v", got.ByReason, want)
	}
	wantAPIError(t, f.get("/v1/blocks/recent?limit=0", apiOperatorToken), http.StatusBadRequest, codeInvalidRequest)
}

func TestConsoleServedByAPI(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.get(console.Prefix, "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "optgate console") {
		t.Fatalf("GET %s: status %d", console.Prefix, w.Code)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != console.ContentSecurityPolicy {
		t.Errorf("Content-Security-Policy = %q", got)
	}
	if w := f.get("/console", ""); w.Code/100 != 3 || w.Header().Get("Location") != "/console/" {
		t.Errorf("GET /console: status %d, Location %q; want a redirect to /console/", w.Code, w.Header().Get("Location"))
	}
}

func TestBlockLogKeepsNewest(t *testing.T) {
	l := NewBlockLog(2)
	for _, n := range []string{"+12015550101", "+12015550102", "+12015550103"} {
		l.Record(Block{Number: n, Reason: CodeOptedOut})
	}
	got := l.Recent(10)
	if len(got) != 2 || got[0].Number != "+1******0103" || got[1].Number != "+1******0102" {
		t.Errorf("recent = %+v, want 0103 then 0102, masked", got)
	}
	if one := l.Recent(1); len(one) != 1 || one[0].Number != "+1******0103" {
		t.Errorf("recent(1) = %+v", one)
	}
	var none *BlockLog
	none.Record(Block{Number: "+12015550101"})
	if got := none.Recent(5); got != nil {
		t.Errorf("nil log recent = %+v", got)
	}
}

func TestTrafficRatesOverSamples(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	tr := NewTrafficRates(reg)
	tr.now = func() time.Time { return now }
	tr.Sample()
	if _, ok := tr.Rate(); ok {
		t.Fatal("rate reported over no time")
	}
	for range 30 {
		m.message(dirMT, outcomeSent, "")
	}
	m.message(dirMT, outcomeBlocked, CodeNoConsent)
	for range 10 {
		m.message(dirReceipt, outcomeMatched, "")
	}
	now = now.Add(10 * time.Second)
	rate, ok := tr.Rate()
	if !ok {
		t.Fatal("no rate 10 s after the first sample")
	}
	if rate.SentPerSecond != 3 || rate.ReceivedPerSecond != 1 || rate.Seconds != 10 {
		t.Errorf("rate = %+v, want 3 sent and 1 received per second over 10 s", rate)
	}

	// Samples older than a minute drop out once a newer one is that old.
	for range 13 {
		now = now.Add(5 * time.Second)
		tr.Sample()
	}
	rate, _ = tr.Rate()
	if rate.Seconds < 60 || rate.Seconds > 70 || rate.SentPerSecond != 0 {
		t.Errorf("rate after idle minute = %+v, want about 60 s with nothing sent", rate)
	}
}
