package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

// BenchmarkHTTPSendMessage measures POST /v1/messages through the whole
// handler: token check (cached after the first request), strict JSON
// decoding, the consent check on the bbolt store, one submit to a fake
// carrier and the id map write.
func BenchmarkHTTPSendMessage(b *testing.B) {
	f := newAPIFixture(b, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	body := messageBody(apiAcmeTF, apiSubscriber, "Your cleaning is at 3pm.")
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+apiAcmeToken)
		w := httptest.NewRecorder()
		f.api.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkHTTPBlockedMessage measures a text the consent rules block,
// which never reaches the carrier or the id map.
func BenchmarkHTTPBlockedMessage(b *testing.B) {
	f := newAPIFixture(b, apiOptions{})
	body := messageBody(apiAcmeTF, apiSubscriber2, "Your cleaning is at 3pm.")
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/v1/messages", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+apiAcmeToken)
		w := httptest.NewRecorder()
		f.api.ServeHTTP(w, r)
		if w.Code != http.StatusForbidden {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
}

// BenchmarkHTTPMessageStatus measures GET /v1/messages/{id} for a
// delivered message: the token check (cached), one read of the id map
// and the JSON response.
func BenchmarkHTTPMessageStatus(b *testing.B) {
	f := newAPIFixture(b, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	id := f.sendForStatus("hi")
	f.carrierReceipt("id:C0001 stat:DELIVRD err:000")
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "/v1/messages/"+id, nil)
		r.Header.Set("Authorization", "Bearer "+apiAcmeToken)
		w := httptest.NewRecorder()
		f.api.ServeHTTP(w, r)
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"state":"delivered"`) {
			b.Fatalf("status %d: %s", w.Code, w.Body.String())
		}
	}
}
