package gateway

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

func TestHTTPConsentGet(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.get("/v1/consent/+12015550101", apiAcmeToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	if got := decodeAPIBody[consentResponse](t, w); got.State != consent.StateNone || got.Requests != 0 ||
		!got.Updated.IsZero() {
		t.Errorf("never contacted number = %+v, want state none", got)
	}

	if w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101"}`); w.Code != http.StatusAccepted {
		t.Fatalf("opt-in request: %d %s", w.Code, w.Body.String())
	}
	// The number in national format reads the same record.
	w = f.get("/v1/consent/2015550101", apiAcmeToken)
	got := decodeAPIBody[consentResponse](t, w)
	if got.State != consent.StateRequested || got.Requests != 1 || got.Number != apiSubscriber {
		t.Errorf("after one request = %+v, want requested with 1 request for %s", got, apiSubscriber)
	}
	if !got.Updated.Equal(f.clock()) {
		t.Errorf("updated = %v, want %v", got.Updated, f.clock())
	}
	if !strings.Contains(w.Body.String(), `"state":"requested"`) {
		t.Errorf("body %s does not spell the state by name", w.Body.String())
	}
}

func TestHTTPConsentGetErrors(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	body := wantAPIError(t, f.get("/v1/consent/abc", apiAcmeToken), http.StatusBadRequest, CodeInvalidNumber)
	if body.Error.Field != "number" || body.Error.Detail == "" {
		t.Errorf("field %q detail %q, want the number and the cause", body.Error.Field, body.Error.Detail)
	}
	f.consent.fail.Store(true)
	wantAPIError(t, f.get("/v1/consent/+12015550101", apiAcmeToken), http.StatusServiceUnavailable,
		CodeStoreUnavailable)
	wantAPIError(t, f.get("/v1/consent/+12015550101/evidence", apiAcmeToken), http.StatusServiceUnavailable,
		CodeStoreUnavailable)
}

func TestHTTPEvidence(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	if w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101"}`); w.Code != http.StatusAccepted {
		t.Fatalf("opt-in request: %d %s", w.Code, w.Body.String())
	}
	w := f.get("/v1/consent/+12015550101/evidence", apiAcmeToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	ev := decodeAPIBody[consent.Evidence](t, w)
	if ev.Account != "acme" || ev.Number != apiSubscriber || ev.State != consent.StateRequested {
		t.Errorf("evidence = %+v", ev)
	}
	if len(ev.Entries) != 1 {
		t.Fatalf("entries = %d, want 1", len(ev.Entries))
	}
	e := ev.Entries[0]
	if e.Event != consent.EventRequest || e.Source != consent.SourceHTTP || !strings.Contains(e.Text, "Acme Dental") {
		t.Errorf("entry = %+v, want the request sent over http with its text", e)
	}
	if len(e.MessageIDs) != 1 || !apiMessageID.MatchString(e.MessageIDs[0]) {
		t.Errorf("message ids = %v, want optgate's id", e.MessageIDs)
	}
}

func TestHTTPAccountIsolation(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)

	// globex reads its own record of the number, which does not exist.
	w := f.get("/v1/consent/+12015550101", apiGlobexToken)
	if got := decodeAPIBody[consentResponse](t, w); got.Account != "globex" || got.State != consent.StateNone {
		t.Errorf("globex read = %+v, want globex's empty record", got)
	}
	ev := decodeAPIBody[consent.Evidence](t, f.get("/v1/consent/+12015550101/evidence", apiGlobexToken))
	if ev.Account != "globex" || len(ev.Entries) != 0 {
		t.Errorf("globex evidence = %+v, want no entries", ev)
	}

	// Naming acme's account with globex's token is refused.
	for _, path := range []string{
		"/v1/consent/+12015550101?account=acme", "/v1/consent/+12015550101/evidence?account=acme",
		"/v1/consent/export?account=acme", "/v1/explain?to=%2B12015550101&account=acme",
	} {
		wantAPIError(t, f.get(path, apiGlobexToken), http.StatusForbidden, codeForbidden)
	}

	// globex's export does not list acme's number, acme's does.
	if body := f.get("/v1/consent/export", apiGlobexToken).Body.String(); strings.Contains(body, apiSubscriber) {
		t.Errorf("globex export lists acme's number:\n%s", body)
	}
	if body := f.get("/v1/consent/export", apiAcmeToken).Body.String(); !strings.Contains(body, apiSubscriber) {
		t.Errorf("acme export lacks its number:\n%s", body)
	}

	// acme's consent does not let globex text the number.
	w = f.post("/v1/messages", apiGlobexToken, messageBody(apiGlobexTF, apiSubscriber, "hi"))
	wantAPIError(t, w, http.StatusForbidden, CodeNoConsent)
	x := decodeAPIBody[explainResponse](t, f.get("/v1/explain?to=%2B12015550101", apiGlobexToken))
	if x.Allowed || x.Code != CodeNoConsent {
		t.Errorf("globex explain = %+v, want no_consent", x)
	}
}

func importRequest(path, token, csvBody string) apiRequest {
	return apiRequest{method: http.MethodPost, path: path, token: token, body: csvBody, contentType: "text/csv"}
}

func TestHTTPImportConsent(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber2, consent.StateOptedOut)
	file := "number,state,time,source\n" +
		"+12015550101,opted_in,2025-06-01T14:00:00Z,web form 2025\n" + // line 2: applied
		"+12015550102,opted_in,,web form\n" + // line 3: skipped, opted out
		"not-a-number,opted_in,,\n" + // line 4: invalid number
		"+12015550103,requested,,\n" + // line 5: state not importable
		"+12015550104,opted_in,yesterday,\n" + // line 6: invalid time
		"+12015550105\n" // line 7: missing state

	w := f.do(importRequest("/v1/consent/import?account=acme", apiOperatorToken, file))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	res := decodeAPIBody[importResponse](t, w)
	if res.Kind != "consent" || res.Account != "acme" {
		t.Errorf("kind %q account %q", res.Kind, res.Account)
	}
	if res.Rows != 6 || res.Applied != 1 || res.Skipped != 1 || res.Invalid != 4 {
		t.Errorf("rows %d applied %d skipped %d invalid %d, want 6/1/1/4", res.Rows, res.Applied, res.Skipped, res.Invalid)
	}
	if len(res.SkippedLines) != 1 || res.SkippedLines[0].Line != 3 || res.SkippedLines[0].Reason != consent.SkipOptedOut {
		t.Errorf("skipped lines = %+v, want line 3 opted_out", res.SkippedLines)
	}
	wantLines := map[int]string{4: "invalid", 5: "requested", 6: "yesterday", 7: "missing state"}
	if len(res.Errors) != len(wantLines) {
		t.Fatalf("errors = %+v, want lines 4 to 7", res.Errors)
	}
	for _, e := range res.Errors {
		if want, ok := wantLines[e.Line]; !ok || !strings.Contains(e.Message, want) {
			t.Errorf("line %d: %q, want a message containing %q", e.Line, e.Message, want)
		}
	}

	got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiAcmeToken))
	if got.State != consent.StateOptedIn {
		t.Errorf("imported number state = %s, want opted_in", got.State)
	}
	if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiGlobexToken)); got.State != consent.StateNone {
		t.Errorf("globex state = %s, want none: the import went to acme only", got.State)
	}
}

func TestHTTPImportAccess(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	file := "+12015550101,opted_in\n"
	body := wantAPIError(t, f.do(importRequest("/v1/consent/import", apiAcmeToken, file)),
		http.StatusForbidden, codeForbidden)
	if !strings.Contains(body.Error.Message, "operator") {
		t.Errorf("message = %q, want it to name the operator token", body.Error.Message)
	}
	body = wantAPIError(t, f.do(importRequest("/v1/consent/import", apiOperatorToken, file)),
		http.StatusBadRequest, codeInvalidRequest)
	if body.Error.Field != "account" {
		t.Errorf("field = %q, want account", body.Error.Field)
	}
	wantAPIError(t, f.do(importRequest("/v1/consent/import?account=ghost", apiOperatorToken, file)),
		http.StatusForbidden, CodeUnknownAccount)
	wantAPIError(t, f.do(importRequest("/v1/consent/import?kind=optin", apiOperatorToken, file)),
		http.StatusBadRequest, codeInvalidRequest)
	wantAPIError(t, f.do(apiRequest{method: http.MethodPost, path: "/v1/consent/import?account=acme",
		token: apiOperatorToken, body: file, contentType: "application/json"}),
		http.StatusUnsupportedMediaType, codeUnsupportedMediaType)
	if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiAcmeToken)); got.State != consent.StateNone {
		t.Errorf("state = %s after refused imports, want none", got.State)
	}
}

func TestHTTPImportReassigned(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, account := range []string{"acme", "globex"} {
		f.setState(account, apiSubscriber, consent.StateOptedIn)
		f.setState(account, apiSubscriber2, consent.StateOptedIn)
	}

	// An account token voids the number for its own account only.
	w := f.do(importRequest("/v1/consent/import?kind=reassigned", apiAcmeToken,
		"number,time,reason\n+12015550101,,reassigned\n+12015550109\nbad\n"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	res := decodeAPIBody[importResponse](t, w)
	if res.Rows != 3 || res.Applied != 1 || res.Skipped != 1 || res.Invalid != 1 {
		t.Errorf("rows %d applied %d skipped %d invalid %d, want 3/1/1/1", res.Rows, res.Applied, res.Skipped, res.Invalid)
	}
	if len(res.Errors) != 1 || res.Errors[0].Line != 4 {
		t.Errorf("errors = %+v, want line 4", res.Errors)
	}
	if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiAcmeToken)); got.State != consent.StateVoided {
		t.Errorf("acme state = %s, want voided", got.State)
	}
	if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiGlobexToken)); got.State != consent.StateOptedIn {
		t.Errorf("globex state = %s, want opted_in: acme's import must not reach globex", got.State)
	}

	// The operator's list without an account voids every account's record.
	w = f.do(importRequest("/v1/consent/import?kind=reassigned", apiOperatorToken, "+12015550102\n"))
	if w.Code != http.StatusOK {
		t.Fatalf("operator: status = %d; body %s", w.Code, w.Body.String())
	}
	for _, token := range []string{apiAcmeToken, apiGlobexToken} {
		if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550102", token)); got.State != consent.StateVoided {
			t.Errorf("%s: state = %s, want voided", token, got.State)
		}
	}
}

func TestHTTPImportLimits(t *testing.T) {
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) { c.MaxImportBytes = 64 }})
	file := strings.Repeat("+12015550101,opted_in\n", 10)
	wantAPIError(t, f.do(importRequest("/v1/consent/import?account=acme", apiOperatorToken, file)),
		http.StatusRequestEntityTooLarge, codeBodyTooLarge)
	if got := decodeAPIBody[consentResponse](t, f.get("/v1/consent/+12015550101", apiAcmeToken)); got.State != consent.StateNone {
		t.Errorf("state = %s, want none: an oversize file is refused before any row", got.State)
	}
}

func TestHTTPImportStoreFailure(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.consent.fail.Store(true)
	w := f.do(importRequest("/v1/consent/import?account=acme", apiOperatorToken, "+12015550101,opted_in\n"))
	wantAPIError(t, w, http.StatusServiceUnavailable, CodeStoreUnavailable)
	body := decodeAPIBody[struct {
		Result importResponse `json:"result"`
	}](t, w)
	if body.Result.Rows != 1 || body.Result.Applied != 0 || body.Result.Invalid != 0 || body.Result.NotApplied != 1 {
		t.Errorf("partial result = %+v, want 1 row read and not applied", body.Result)
	}
}

func TestHTTPExport(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	f.setState("acme", apiSubscriber2, consent.StateOptedOut)
	w := f.get("/v1/consent/export", apiAcmeToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != `attachment; filename=consent-acme.csv` {
		t.Errorf("Content-Disposition = %q", cd)
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, row := range rows[1:] {
		states[row[0]] = row[1]
	}
	if strings.Join(rows[0], ",") != "number,state,time,source,requests,request_from" || len(states) != 2 ||
		states[apiSubscriber] != "opted_in" || states[apiSubscriber2] != "opted_out" {
		t.Errorf("export = %v", rows)
	}

	// The operator exports a named account.
	w = f.get("/v1/consent/export?account=acme", apiOperatorToken)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), apiSubscriber) {
		t.Errorf("operator export: %d %s", w.Code, w.Body.String())
	}
}

func TestHTTPExportStoreFailure(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.consent.fail.Store(true)
	wantAPIError(t, f.get("/v1/consent/export", apiAcmeToken), http.StatusServiceUnavailable, CodeStoreUnavailable)
}

// partialStore passes the first rows of Records on and then fails.
type partialStore struct {
	consent.Store
	after int
}

var errExportBroke = errors.New("test: store failed during the export")

func (s *partialStore) Records(ctx context.Context, account string, fn func(string, consent.Record) error) error {
	n := 0
	return s.Store.Records(ctx, account, func(number string, rec consent.Record) error {
		if n == s.after {
			return errExportBroke
		}
		n++
		return fn(number, rec)
	})
}

func TestHTTPExportFailsPartWay(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	// 100 rows of about 50 bytes pass the CSV writer's 4 KiB buffer, so
	// the response has started when the store fails at row 95.
	var file strings.Builder
	for i := range 100 {
		fmt.Fprintf(&file, "+120155501%02d,opted_in\n", i)
	}
	if _, err := f.engine.ImportCSV(f.ctx, "acme", strings.NewReader(file.String())); err != nil {
		t.Fatal(err)
	}
	engine, err := consent.NewEngine(&partialStore{Store: f.consent, after: 95}, f.registry, consent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	services := *f.api.services.Load()
	services.Engine = engine
	if err := f.api.SetServices(services); err != nil {
		t.Fatal(err)
	}

	srv := httptest.NewServer(f.api)
	defer srv.Close()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/consent/export", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiAcmeToken)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200 with a broken body", resp.StatusCode)
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		t.Errorf("the body of a failed export read to the end without an error (%d bytes)", len(body))
	}
}

func TestHTTPExplain(t *testing.T) {
	tests := []struct {
		name    string
		opts    apiOptions
		setup   func(f *apiFixture)
		query   string
		allowed bool
		code    Code
		smpp    string
		http    int
		state   string
		carrier string
	}{
		{name: "allowed", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedIn) },
			query: "to=%2B12015550101", allowed: true, state: "opted_in", carrier: "sim"},
		{name: "opted out", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedOut) },
			query: "to=%2B12015550101", code: CodeOptedOut, smpp: "0x00000401", http: 403, state: "opted_out"},
		{name: "never contacted", query: "to=%2B12015550101", code: CodeNoConsent, smpp: "0x00000400", http: 403,
			state: "none"},
		{name: "sender not ready", query: "to=%2B12015550101&from=%2B18885550101", code: CodeSenderNotReady,
			smpp: "0x00000406", http: 403, state: "none"},
		{name: "invalid number", query: "to=12", code: CodeInvalidNumber, smpp: "0x00000408", http: 400},
		{name: "no route", opts: apiOptions{routes: []string{"+1415"}},
			setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedIn) },
			query: "to=%2B12015550101", code: CodeNoRoute, smpp: "0x0000040A", http: 422, state: "opted_in"},
		{name: "shadow mode", opts: apiOptions{acme: func(a *config.Account) { a.Shadow = true }},
			query: "to=%2B12015550101", allowed: true, code: CodeNoConsent, state: "none", carrier: "sim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, tt.opts)
			if tt.setup != nil {
				tt.setup(f)
			}
			w := f.get("/v1/explain?"+tt.query, apiAcmeToken)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
			}
			x := decodeAPIBody[explainResponse](t, w)
			if x.Allowed != tt.allowed || x.Code != tt.code {
				t.Errorf("allowed %v code %q, want %v %q", x.Allowed, x.Code, tt.allowed, tt.code)
			}
			if x.SMPPStatus != tt.smpp || x.HTTPStatus != tt.http {
				t.Errorf("smpp %q http %d, want %q %d", x.SMPPStatus, x.HTTPStatus, tt.smpp, tt.http)
			}
			if x.State != tt.state || x.Carrier != tt.carrier {
				t.Errorf("state %q carrier %q, want %q %q", x.State, x.Carrier, tt.state, tt.carrier)
			}
			if x.Message == "" {
				t.Error("no message")
			}
			if tt.code == "" && x.From != apiAcmeTF {
				t.Errorf("from = %q, want the default sender %s", x.From, apiAcmeTF)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("explain sent %d PDUs", n)
			}
		})
	}
}

func TestHTTPExplainMissingTo(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	body := wantAPIError(t, f.get("/v1/explain?from=%2B18885550100", apiAcmeToken), http.StatusBadRequest,
		codeInvalidRequest)
	if body.Error.Field != "to" {
		t.Errorf("field = %q, want to", body.Error.Field)
	}
}
