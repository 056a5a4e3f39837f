package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

func TestHTTPConsentInvalidNumberDetailSaysItOnce(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for _, path := range []string{"/v1/consent/+44abc", "/v1/consent/+44abc/evidence"} {
		body := wantAPIError(t, f.get(path, apiAcmeToken), http.StatusBadRequest, CodeInvalidNumber)
		d := body.Error.Detail
		if !strings.HasPrefix(d, `"+44abc" is not a valid phone number: `) {
			t.Errorf("%s: detail %q, want it to start with the number", path, d)
		}
		for _, layer := range []string{"read evidence", "consent:", "ton ", "npi "} {
			if strings.Contains(d, layer) {
				t.Errorf("%s: detail %q names %q, want only the cause", path, d, layer)
			}
		}
		if n := strings.Count(d, "invalid"); n > 0 {
			t.Errorf("%s: detail %q says invalid %d times, want the cause once", path, d, n)
		}
	}
}

func TestHTTPConsentExportIsNotCached(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	w := f.get("/v1/consent/export", apiAcmeToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body.String())
	}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
}
