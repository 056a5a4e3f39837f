package gateway

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestAccountTokenSkipsOperatorCheck checks that the operator's token,
// whose check may run bcrypt, is tried for an account token only on the
// endpoints the operator may call first.
func TestAccountTokenSkipsOperatorCheck(t *testing.T) {
	var checks atomic.Int32
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		operator := c.Operator
		c.Operator = func(token string) bool {
			checks.Add(1)
			return operator(token)
		}
	}})
	steps := []struct {
		name       string
		send       func() *httptest.ResponseRecorder
		status     int
		wantChecks int32
	}{
		{"account token reads", func() *httptest.ResponseRecorder {
			return f.get("/v1/consent/+12015550101", apiAcmeToken)
		}, http.StatusOK, 0},
		{"account token sends", func() *httptest.ResponseRecorder {
			return f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, apiSubscriber, "hi"))
		}, -1, 0},
		{"operator token reads", func() *httptest.ResponseRecorder {
			return f.get("/v1/consent/+12015550101?account=acme", apiOperatorToken)
		}, http.StatusOK, 1},
		{"account token on an operator endpoint", func() *httptest.ResponseRecorder {
			return f.post("/v1/reload", apiAcmeToken, "")
		}, http.StatusForbidden, 1},
		{"unknown token reads", func() *httptest.ResponseRecorder {
			return f.get("/v1/consent/+12015550101", "not-a-token")
		}, http.StatusUnauthorized, 1},
	}
	for _, s := range steps {
		before := checks.Load()
		w := s.send()
		if s.status > 0 && w.Code != s.status {
			t.Errorf("%s: status %d, want %d; body %s", s.name, w.Code, s.status, w.Body.String())
		}
		if got := checks.Load() - before; got != s.wantChecks {
			t.Errorf("%s: %d operator checks, want %d", s.name, got, s.wantChecks)
		}
	}
}

// TestOperatorBcryptTakesSharedSlot checks that the operator token's
// bcrypt run waits for a free slot of the ones account tokens use.
func TestOperatorBcryptTakesSharedSlot(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("op-secret-7f3a"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	check := OperatorTokenHash(string(hash))
	reached := make(chan struct{}, 1)
	compareHook = func() {
		select {
		case reached <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { compareHook = nil })

	for range cap(bcryptSlots) {
		bcryptSlots <- struct{}{}
	}
	done := make(chan bool, 1)
	go func() { done <- check("op-secret-7f3a") }()
	<-reached
	select {
	case <-done:
		t.Fatal("the operator check ran bcrypt while every slot was taken")
	case <-time.After(100 * time.Millisecond):
	}
	for range cap(bcryptSlots) {
		<-bcryptSlots
	}
	select {
	case ok := <-done:
		if !ok {
			t.Error("the operator's own token was rejected")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the operator check did not finish after the slots were freed")
	}
}

func TestBcryptParallelLeavesCPUs(t *testing.T) {
	for _, tc := range []struct{ cpus, want int }{{1, 1}, {2, 1}, {3, 1}, {8, 4}} {
		if got := bcryptParallel(tc.cpus); got != tc.want {
			t.Errorf("bcryptParallel(%d) = %d, want %d", tc.cpus, got, tc.want)
		}
	}
}

// TestHTTPFailedAuthBurstWaits checks that wrong tokens sent at once from
// one address are each answered only after a wait, although none of them
// found an earlier failure when it started.
func TestHTTPFailedAuthBurstWaits(t *testing.T) {
	const base = 50 * time.Millisecond
	f := newAPIFixture(t, apiOptions{config: func(c *HTTPAPIConfig) {
		c.FailedAuthDelay, c.MaxFailedAuthDelay = base, 8*base
	}})
	const burst = 4
	var wg sync.WaitGroup
	took := make([]time.Duration, burst)
	codes := make([]int, burst)
	for i := range burst {
		wg.Go(func() {
			r := httptest.NewRequestWithContext(f.ctx, http.MethodGet, "/v1/consent/+12015550101", nil)
			r.RemoteAddr = "192.0.2.8:5000"
			r.Header.Set("Authorization", "Bearer wrong-guess")
			w := httptest.NewRecorder()
			begin := time.Now()
			f.api.ServeHTTP(w, r)
			took[i], codes[i] = time.Since(begin), w.Code
		})
	}
	wg.Wait()
	for i := range burst {
		if codes[i] != http.StatusUnauthorized {
			t.Errorf("guess %d: status %d, want 401", i+1, codes[i])
		}
		if took[i] < base {
			t.Errorf("guess %d answered after %v, want at least %v", i+1, took[i], base)
		}
	}
}
