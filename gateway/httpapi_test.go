package gateway

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
)

func TestHTTPBadRequestBodies(t *testing.T) {
	valid := messageBody(apiAcmeTF, apiSubscriber, "hi")
	tests := []struct {
		name        string
		body        string
		contentType string
		status      int
		code        Code
		field       string
		message     string
	}{
		{name: "invalid JSON", body: `{"to": "+12015550101",}`, status: 400, code: codeInvalidRequest,
			message: "invalid JSON at byte"},
		{name: "truncated JSON", body: `{"to": "+12015550101"`, status: 400, code: codeInvalidRequest,
			message: "ends before"},
		{name: "unknown field", body: `{"from":"+18885550100","to":"+12015550101","text":"hi","sender":"x"}`,
			status: 400, code: codeInvalidRequest, field: "sender", message: `unknown field "sender"`},
		{name: "wrong type", body: `{"from":"+18885550100","to":12015550101,"text":"hi"}`,
			status: 400, code: codeInvalidRequest, field: "to", message: "field to must be a string"},
		{name: "registered_delivery out of range",
			body:   `{"from":"+18885550100","to":"+12015550101","text":"hi","registered_delivery":300}`,
			status: 400, code: codeInvalidRequest, field: "registered_delivery", message: "0 to 255"},
		{name: "registered_delivery reserved bits",
			body:   `{"from":"+18885550100","to":"+12015550101","text":"hi","registered_delivery":3}`,
			status: 400, code: codeInvalidRequest, field: "registered_delivery", message: "reserved"},
		{name: "client_ref too long",
			body:   `{"from":"+18885550100","to":"+12015550101","text":"hi","client_ref":"` + strings.Repeat("r", 65) + `"}`,
			status: 400, code: codeInvalidRequest, field: "client_ref", message: "maximum is 64"},
		{name: "trailing data", body: valid + ` {}`, status: 400, code: codeInvalidRequest,
			message: "exactly one JSON object"},
		{name: "array", body: `[1,2]`, status: 400, code: codeInvalidRequest, message: "not a JSON array"},
		{name: "empty body", body: "", status: 400, code: codeInvalidRequest, message: "empty"},
		{name: "missing text", body: `{"from":"+18885550100","to":"+12015550101"}`, status: 400,
			code: codeInvalidRequest, field: "text", message: "missing field text"},
		{name: "null", body: `null`, status: 400, code: codeInvalidRequest, field: "from"},
		{name: "oversize body", body: `{"from":"+18885550100","to":"+12015550101","text":"` +
			strings.Repeat("x", 70<<10) + `"}`, status: 413, code: codeBodyTooLarge, message: "65536"},
		{name: "form content type", body: valid, contentType: "application/x-www-form-urlencoded",
			status: 415, code: codeUnsupportedMediaType, message: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			w := f.do(apiRequest{method: http.MethodPost, path: "/v1/messages", token: apiAcmeToken,
				body: tt.body, contentType: tt.contentType})
			body := wantAPIError(t, w, tt.status, tt.code)
			if body.Error.Field != tt.field {
				t.Errorf("field = %q, want %q", body.Error.Field, tt.field)
			}
			if !strings.Contains(body.Error.Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", body.Error.Message, tt.message)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs", n)
			}
		})
	}
}

func TestHTTPOversizeBodyWithoutLength(t *testing.T) {
	// A chunked body has no Content-Length, so the limit applies while
	// the body is read.
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) { c.MaxBodyBytes = 100 }})
	r := strings.NewReader(`{"from":"+18885550100","to":"+12015550101","text":"` + strings.Repeat("x", 200) + `"}`)
	req, err := http.NewRequest(http.MethodPost, "/v1/messages", struct{ *strings.Reader }{r})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiAcmeToken)
	if req.ContentLength != 0 {
		t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
	}
	w := httptest.NewRecorder()
	f.api.ServeHTTP(w, req)
	body := wantAPIError(t, w, http.StatusRequestEntityTooLarge, codeBodyTooLarge)
	if !strings.Contains(body.Error.Message, "100 bytes") {
		t.Errorf("message = %q, want the limit", body.Error.Message)
	}
}

func TestHTTPAuthentication(t *testing.T) {
	tests := []struct {
		name      string
		header    string
		challenge string
	}{
		{name: "missing token", challenge: `Bearer realm="optgate"`},
		{name: "wrong token", header: "Bearer tok-wrong", challenge: `Bearer realm="optgate", error="invalid_token"`},
		{name: "basic scheme", header: "Basic YWNtZTpzZWNyZXQ=", challenge: `Bearer realm="optgate", error="invalid_token"`},
		{name: "empty bearer", header: "Bearer ", challenge: `Bearer realm="optgate", error="invalid_token"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			f.setState("acme", apiSubscriber, consent.StateOptedIn)
			req := apiRequest{method: http.MethodPost, path: "/v1/messages",
				body: messageBody(apiAcmeTF, apiSubscriber, "hi"), header: http.Header{}}
			if tt.header != "" {
				req.header.Set("Authorization", tt.header)
			}
			w := f.do(req)
			wantAPIError(t, w, http.StatusUnauthorized, codeUnauthorized)
			if got := w.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs without a valid token", n)
			}
		})
	}
}

func TestHTTPEveryAccountEndpointNeedsToken(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, route := range []struct{ method, path string }{
		{"POST", "/v1/messages"}, {"POST", "/v1/optin-requests"}, {"GET", "/v1/consent/+12015550101"},
		{"GET", "/v1/consent/+12015550101/evidence"}, {"POST", "/v1/consent/import"},
		{"GET", "/v1/consent/export"}, {"GET", "/v1/explain?to=%2B12015550101"}, {"POST", "/v1/reload"},
	} {
		w := f.do(apiRequest{method: route.method, path: route.path})
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: status %d, want 401", route.method, route.path, w.Code)
		}
	}
}

func TestHTTPOperatorAccess(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)

	w := f.post("/v1/messages", apiOperatorToken, messageBody(apiAcmeTF, apiSubscriber, "hi"))
	wantAPIError(t, w, http.StatusForbidden, codeForbidden)

	w = f.get("/v1/consent/+12015550101", apiOperatorToken)
	body := wantAPIError(t, w, http.StatusBadRequest, codeInvalidRequest)
	if body.Error.Field != "account" {
		t.Errorf("field = %q, want account", body.Error.Field)
	}

	w = f.get("/v1/consent/+12015550101?account=acme", apiOperatorToken)
	if w.Code != http.StatusOK {
		t.Fatalf("operator read: status %d; body %s", w.Code, w.Body.String())
	}
	if got := decodeAPIBody[consentResponse](t, w); got.State != consent.StateOptedIn || got.Account != "acme" {
		t.Errorf("operator read = %+v, want acme's opted_in record", got)
	}
}

func TestHTTPReload(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	wantAPIError(t, f.post("/v1/reload", apiAcmeToken, ""), http.StatusForbidden, codeForbidden)
	if f.reloads != 0 {
		t.Fatalf("an account token triggered %d reloads", f.reloads)
	}

	w := f.post("/v1/reload", apiOperatorToken, "")
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	if f.reloads != 1 {
		t.Errorf("reloads = %d, want 1", f.reloads)
	}

	f.reloadFn = func() error { return errors.New("accounts[0].id: missing") }
	body := wantAPIError(t, f.post("/v1/reload", apiOperatorToken, ""), http.StatusInternalServerError, codeReloadFailed)
	if !strings.Contains(body.Error.Message, "accounts[0].id: missing") {
		t.Errorf("message = %q, want the reload error", body.Error.Message)
	}
}

func TestHTTPReloadNotConfigured(t *testing.T) {
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) { c.Reload = nil }})
	wantAPIError(t, f.post("/v1/reload", apiOperatorToken, ""), http.StatusNotImplemented, codeNotImplemented)
}

func TestHTTPNoOperatorToken(t *testing.T) {
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) { c.Operator = nil }})
	wantAPIError(t, f.post("/v1/reload", apiOperatorToken, ""), http.StatusUnauthorized, codeUnauthorized)
}

func TestHTTPSetServices(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	accounts := apiAccounts(t)
	accounts[0].APITokens = []config.APIToken{{Name: "rotated", Hash: apiHash(t, "tok-acme-2")}}
	reg, err := NewRegistry(accounts, RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	old := *f.api.services.Load()
	next := old
	next.Registry = reg
	if err := f.api.SetServices(next); err != nil {
		t.Fatal(err)
	}
	wantAPIError(t, f.get("/v1/consent/+12015550101", apiAcmeToken), http.StatusUnauthorized, codeUnauthorized)
	if w := f.get("/v1/consent/+12015550101", "tok-acme-2"); w.Code != http.StatusOK {
		t.Errorf("new token: status %d; body %s", w.Code, w.Body.String())
	}
	if err := f.api.SetServices(HTTPServices{}); err == nil {
		t.Error("SetServices accepted empty services")
	}
}

func TestNewHTTPAPIRequiresServices(t *testing.T) {
	if _, err := NewHTTPAPI(HTTPAPIConfig{}); err == nil {
		t.Error("NewHTTPAPI accepted a config without services")
	}
}

func TestHTTPUnknownRoutes(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	body := wantAPIError(t, f.get("/v2/messages", apiAcmeToken), http.StatusNotFound, codeNotFound)
	if !strings.Contains(body.Error.Message, "/v2/messages") {
		t.Errorf("message = %q, want the path", body.Error.Message)
	}
	w := f.get("/v1/messages", apiAcmeToken)
	wantAPIError(t, w, http.StatusMethodNotAllowed, codeMethodNotAllowed)
	if allow := w.Header().Get("Allow"); allow != "POST" {
		t.Errorf("Allow = %q, want POST", allow)
	}
}

func TestOperatorToken(t *testing.T) {
	check := OperatorToken("s3cret")
	for token, want := range map[string]bool{"s3cret": true, "s3cre": false, "s3cret ": false, "": false} {
		if got := check(token); got != want {
			t.Errorf("OperatorToken(s3cret)(%q) = %v, want %v", token, got, want)
		}
	}
	if OperatorToken("")("") {
		t.Error("an empty operator secret accepted the empty token")
	}
}

func TestNewHTTPServerTimeouts(t *testing.T) {
	s := NewHTTPServer("127.0.0.1:0", http.NotFoundHandler(), nil)
	if s.ReadHeaderTimeout <= 0 || s.ReadTimeout <= 0 || s.WriteTimeout <= 0 || s.IdleTimeout <= 0 {
		t.Errorf("timeouts = %v/%v/%v/%v, want all set", s.ReadHeaderTimeout, s.ReadTimeout,
			s.WriteTimeout, s.IdleTimeout)
	}
	// A send waits for the carrier, up to the MT service's default segment
	// timeout of 30s for each later segment.
	if s.WriteTimeout <= 30*time.Second {
		t.Errorf("WriteTimeout %v is not longer than one segment's timeout", s.WriteTimeout)
	}
	if s.ErrorLog == nil {
		t.Error("server errors are not logged")
	}
}

func TestHTTPHealthAndReady(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.get("/healthz", "")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"ok"`) {
		t.Errorf("healthz: %d %s", w.Code, w.Body.String())
	}

	w = f.get("/readyz", "")
	if w.Code != http.StatusOK {
		t.Fatalf("readyz: %d %s", w.Code, w.Body.String())
	}
	ready := decodeAPIBody[readyResponse](t, w)
	if ready.Status != "ready" || ready.Checks["consent_store"] != "ok" || ready.Checks["carrier:sim"] != "ok" {
		t.Errorf("readyz = %+v", ready)
	}

	f.mu.Lock()
	f.ready["carrier:sim"] = errors.New("no bound session")
	f.mu.Unlock()
	w = f.get("/readyz", "")
	body := wantAPIError(t, w, http.StatusServiceUnavailable, codeNotReady)
	if !strings.Contains(body.Error.Message, "carrier:sim") || strings.Contains(body.Error.Message, "consent_store") {
		t.Errorf("message = %q, want only the failing part", body.Error.Message)
	}
	ready = decodeAPIBody[readyResponse](t, w)
	if ready.Checks["carrier:sim"] != "no bound session" || ready.Checks["consent_store"] != "ok" {
		t.Errorf("checks = %v", ready.Checks)
	}
}

func TestHTTPReadyWithoutProbe(t *testing.T) {
	f := newAPIFixture(t, apiOptions{noReady: true})
	if w := f.get("/readyz", ""); w.Code != http.StatusOK {
		t.Errorf("readyz without a probe: %d %s", w.Code, w.Body.String())
	}
}

func TestHTTPMetrics(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.get("/v1/consent/+12015550101", apiAcmeToken)
	f.get("/v1/consent/+12015550101", "tok-wrong")
	f.get("/nowhere", "")
	w := f.get("/metrics", "")
	if w.Code != http.StatusOK {
		t.Fatalf("metrics: %d", w.Code)
	}
	for _, want := range []string{
		`optgate_http_requests_total{route="GET /v1/consent/{number}",status="200"} 1`,
		`optgate_http_requests_total{route="GET /v1/consent/{number}",status="401"} 1`,
		`optgate_http_requests_total{route="unmatched",status="404"} 1`,
		`optgate_http_request_duration_seconds_count{route="GET /v1/consent/{number}"} 2`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestHTTPMetricsReusedOnRebuild(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	cfg := f.api.cfg
	if _, err := NewHTTPAPI(cfg); err != nil {
		t.Errorf("a second API on the same registry: %v", err)
	}
}

func TestHTTPPprof(t *testing.T) {
	off := newAPIFixture(t, apiOptions{})
	wantAPIError(t, off.get("/debug/pprof/cmdline", ""), http.StatusNotFound, codeNotFound)
	on := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) { c.Pprof = true }})
	if w := on.get("/debug/pprof/cmdline", ""); w.Code != http.StatusOK {
		t.Errorf("pprof enabled: status %d", w.Code)
	}
}

// TestHTTPCodesMatchDocs checks the table of HTTP-only codes in
// docs/api.md against httpOnlyStatus.
func TestHTTPCodesMatchDocs(t *testing.T) {
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[Code]bool{}
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		status, err := strconv.Atoi(strings.TrimSpace(cells[2]))
		if err != nil {
			continue // a table of fields, not of codes
		}
		code := Code(strings.Trim(strings.TrimSpace(cells[1]), "`"))
		want, ok := httpOnlyStatus[code]
		if !ok {
			t.Errorf("docs list unknown HTTP code %s", code)
			continue
		}
		documented[code] = true
		if status != want {
			t.Errorf("%s: docs say HTTP %d, code %d", code, status, want)
		}
	}
	for code := range httpOnlyStatus {
		if !documented[code] {
			t.Errorf("HTTP code %s is missing from docs/api.md", code)
		}
	}
}

func TestHTTPInvalidAccountParameter(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, account := range []string{"%00", "ACME", strings.Repeat("a", 65), "a%2Fb"} {
		w := f.get("/v1/consent/+12015550101?account="+account, apiOperatorToken)
		body := wantAPIError(t, w, http.StatusBadRequest, codeInvalidRequest)
		if body.Error.Field != "account" {
			t.Errorf("account %q: field = %q, want account", account, body.Error.Field)
		}
	}
}
