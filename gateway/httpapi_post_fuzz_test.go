package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fuzzAPIPost sends body to a POST endpoint and fails unless the response
// is a 2xx or a JSON error with a code, a message and a 4xx or 503 status.
// A 500 means a body reached a state the handler did not expect.
func fuzzAPIPost(t *testing.T, fx *apiFixture, path, token, contentType, body string) {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	r.Header.Set("Authorization", "Bearer "+token)
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	fx.api.ServeHTTP(w, r)
	if w.Code >= 200 && w.Code < 300 {
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %s", w.Code, w.Body.String())
		}
		return
	}
	var e apiErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("status %d without a JSON error: %s", w.Code, w.Body.String())
	}
	if w.Code < 400 || w.Code == http.StatusInternalServerError {
		t.Fatalf("error %s with status %d", e.Error.Code, w.Code)
	}
}

// FuzzHTTPOptInRequestBody sends arbitrary bodies to POST
// /v1/optin-requests.
func FuzzHTTPOptInRequestBody(f *testing.F) {
	for _, seed := range []string{
		`{"to":"+12015550101"}`,
		`{"to":"+12015550101","from":"+18885550100"}`,
		`{"to":"(201) 555-0102","from":"8885550100","client_ref":"x"}`,
		`{"to":"+12015550101","text":"hi"}`, `{"to":null}`, `{"to":["a"]}`, `{}`, `[]`, `"x"`, `{`, ``,
		`{"to":"+12015550101"} {"to":"+12015550102"}`, `{"to":"\u0000"}`,
	} {
		f.Add(seed)
	}
	fx := newAPIFixture(f, apiOptions{})
	f.Fuzz(func(t *testing.T, body string) {
		fuzzAPIPost(t, fx, "/v1/optin-requests", apiAcmeToken, "application/json", body)
	})
}

// FuzzHTTPConsentImport sends arbitrary CSV files to POST
// /v1/consent/import with the operator's token.
func FuzzHTTPConsentImport(f *testing.F) {
	for _, seed := range []string{
		"number,state,time,source\n+12015550101,opted_in,2025-06-01T14:00:00Z,web form\n",
		"+12015550102,opted_out\r\n+12015550103,voided,,\n",
		"not-a-number,opted_in,,\n+12015550104,requested\n+12015550105\n",
		`+12015550106,"opted_in` + "\n", "\xff\xfe+\x001\x00", "\ufeff+12015550107,opted_in\n", "",
	} {
		f.Add(seed)
	}
	fx := newAPIFixture(f, apiOptions{})
	f.Fuzz(func(t *testing.T, file string) {
		fuzzAPIPost(t, fx, "/v1/consent/import?account=acme", apiOperatorToken, "text/csv", file)
	})
}
