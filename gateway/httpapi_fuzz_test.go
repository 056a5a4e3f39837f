package gateway

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

// FuzzHTTPMessageBody sends arbitrary bodies to POST /v1/messages. Every
// response must be 202 with a message id or a JSON error with a code, and
// the handler must never panic.
func FuzzHTTPMessageBody(f *testing.F) {
	for _, seed := range []string{
		`{"from":"+18885550100","to":"+12015550101","text":"hi"}`,
		`{"from":"+18885550100","to":"+12015550101","text":"hi","registered_delivery":17,"client_ref":"a"}`,
		`{"from":"+18885550100","to":"+12015550101","text":"hi","x":1}`,
		`{"to":5}`, `[1]`, `null`, `{"text":"\u0000"}`, `{"from":"","to":"","text":""}`, `{`, ``,
		`{"from":"+18885550100","to":"+12015550101","text":"hi"} {}`,
		`{"from":"8885550100","to":"(201) 555-0101","text":"€ and ✓"}`,
	} {
		f.Add(seed)
	}
	fx := newAPIFixture(f, apiOptions{})
	fx.setState("acme", apiSubscriber, consent.StateOptedIn)
	f.Fuzz(func(t *testing.T, body string) {
		// fx.do would call the F's Helper, which a fuzz target must not.
		r := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+apiAcmeToken)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		fx.api.ServeHTTP(w, r)
		if w.Code == http.StatusAccepted {
			var res messageResponse
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.MessageID == "" {
				t.Fatalf("202 without a message id: %s", w.Body.String())
			}
			return
		}
		var e apiErrorBody
		if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("status %d without a JSON error: %s", w.Code, w.Body.String())
		}
		if w.Code < 400 {
			t.Fatalf("error %s with status %d", e.Error.Code, w.Code)
		}
	})
}
