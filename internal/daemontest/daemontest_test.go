package daemontest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// recordingTB records a fatal failure and ends the goroutine the way
// testing.T does, so a helper's failure path can be checked.
type recordingTB struct {
	testing.TB
	failure string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.failure = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// runHelper runs f with a recordingTB in its own goroutine and returns
// the fatal failure message, or "" when f returned.
func runHelper(t *testing.T, f func(tb testing.TB)) string {
	r := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r.failure
}

func TestFreePortBindable(t *testing.T) {
	tcp := FreePort(t, "tcp")
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tcp))
	if err != nil {
		t.Fatalf("listen on the free TCP port %d: %v", tcp, err)
	}
	_ = l.Close()
	udp := FreePort(t, "udp")
	pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", udp))
	if err != nil {
		t.Fatalf("listen on the free UDP port %d: %v", udp, err)
	}
	_ = pc.Close()
}

func TestFreePortInvalidNetwork(t *testing.T) {
	msg := runHelper(t, func(tb testing.TB) { FreePort(tb, "sctp") })
	if !strings.Contains(msg, `invalid network "sctp"`) {
		t.Errorf("failure = %q, want the invalid network named", msg)
	}
}

func TestWaitForTimesOut(t *testing.T) {
	calls := 0
	msg := runHelper(t, func(tb testing.TB) {
		WaitFor(tb, 30*time.Millisecond, "a condition that never holds", func() bool { calls++; return false })
	})
	if !strings.Contains(msg, "timed out after 30ms waiting for a condition that never holds") {
		t.Errorf("failure = %q, want the timeout and the condition named", msg)
	}
	if calls < 2 {
		t.Errorf("condition polled %d times, want at least 2", calls)
	}
}

func TestWaitForReturnsWhenTrue(t *testing.T) {
	calls := 0
	msg := runHelper(t, func(tb testing.TB) {
		WaitFor(tb, time.Second, "the third poll", func() bool { calls++; return calls == 3 })
	})
	if msg != "" {
		t.Errorf("unexpected failure %q", msg)
	}
	if calls != 3 {
		t.Errorf("condition polled %d times, want 3", calls)
	}
}

func TestHashMatchesSecret(t *testing.T) {
	h := Hash(t, "secret1")
	if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("secret1")); err != nil {
		t.Errorf("hash %q does not match its secret: %v", h, err)
	}
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != bcrypt.MinCost {
		t.Errorf("cost = %d (%v), want %d", cost, err, bcrypt.MinCost)
	}
}

func TestNewSubmitAddresses(t *testing.T) {
	sm, err := NewSubmit("+18885550100", "+12015550101", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if sm.SourceAddr != "18885550100" {
		t.Errorf("source_addr = %q, want 18885550100", sm.SourceAddr)
	}
	if sm.DestinationAddr != "12015550101" {
		t.Errorf("destination_addr = %q, want 12015550101", sm.DestinationAddr)
	}
	if string(sm.ShortMessage) != "hello" {
		t.Errorf("short_message = %q, want hello", sm.ShortMessage)
	}
}

func TestRequestSetsHeaders(t *testing.T) {
	var gotAuth, gotType, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		gotType = r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-Test", "yes")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("done"))
	}))
	defer srv.Close()

	res := Request(t, context.Background(), srv.Client(), http.MethodPost, srv.URL+"/v1/x", "tok", "text/csv",
		[]byte("a,b\n"))
	if res.Status != http.StatusAccepted {
		t.Errorf("status = %d, want 202", res.Status)
	}
	if string(res.Body) != "done" {
		t.Errorf("body = %q, want done", res.Body)
	}
	if res.Header.Get("X-Test") != "yes" {
		t.Errorf("header X-Test = %q, want yes", res.Header.Get("X-Test"))
	}
	if gotAuth != "Bearer tok" {
		t.Errorf("Authorization = %q, want Bearer tok", gotAuth)
	}
	if gotType != "text/csv" {
		t.Errorf("Content-Type = %q, want text/csv", gotType)
	}
	if gotBody != "a,b\n" {
		t.Errorf("request body = %q, want a,b", gotBody)
	}

	res = Request(t, context.Background(), srv.Client(), http.MethodGet, srv.URL+"/v1/x", "", "", nil)
	if gotAuth != "" {
		t.Errorf("Authorization = %q without a token, want none", gotAuth)
	}
	if gotType != "" {
		t.Errorf("Content-Type = %q without a type, want none", gotType)
	}
	if res.Status != http.StatusAccepted {
		t.Errorf("status = %d, want 202", res.Status)
	}
}
