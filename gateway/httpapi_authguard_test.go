package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestHTTPFailedAuthSlowsAddress(t *testing.T) {
	const base = 40 * time.Millisecond
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		c.FailedAuthDelay, c.MaxFailedAuthDelay = base, 4*base
	}})
	request := func(remote, token string) (int, time.Duration) {
		r := httptest.NewRequestWithContext(f.ctx, http.MethodGet, "/v1/consent/+12015550101", nil)
		r.RemoteAddr = remote
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		begin := time.Now()
		f.api.ServeHTTP(w, r)
		return w.Code, time.Since(begin)
	}

	for range 3 {
		if code, _ := request("192.0.2.7:4000", "wrong"); code != http.StatusUnauthorized {
			t.Fatalf("wrong token: status %d, want 401", code)
		}
	}
	if got, want := f.api.authGuard.delay("192.0.2.7"), 4*base; got != want {
		t.Errorf("wait after 3 failures = %v, want %v", got, want)
	}
	if got := f.api.authGuard.delay("198.51.100.9"); got != 0 {
		t.Errorf("another address waits %v, want 0", got)
	}

	// The next request from the address waits, even with a valid token,
	// and its success clears the address.
	code, took := request("192.0.2.7:4001", apiAcmeToken)
	if code != http.StatusOK {
		t.Errorf("valid token: status %d, want 200", code)
	}
	if took < 4*base {
		t.Errorf("the request after 3 failures took %v, want at least %v", took, 4*base)
	}
	if got := f.api.authGuard.delay("192.0.2.7"); got != 0 {
		t.Errorf("wait after a success = %v, want 0", got)
	}
}

func TestHTTPFailedAuthOffByDefault(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	if f.api.authGuard != nil {
		t.Fatal("the API slows failed authentications without FailedAuthDelay")
	}
	if w := f.get("/v1/consent/+12015550101", "wrong"); w.Code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", w.Code)
	}
}
