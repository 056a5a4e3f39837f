package sip

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/config"
)

// nonceRig is a Server whose digest checks the tests call directly, with
// a trunk "pbx" of password "pw" and a clock the tests move.
type nonceRig struct {
	s     *Server
	trunk *trunk
	clock *fakeClock
}

func newNonceRig(t *testing.T) *nonceRig {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}
	s, err := NewServer(Config{Listener: config.SIPListener{TCPAddr: "127.0.0.1:0"}},
		Deps{MT: &lateMT{}, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	tr := &trunk{name: "pbx", username: "pbx", realm: "optgate", ha1: ha1("pbx", "optgate", "pw"), algorithm: "MD5"}
	return &nonceRig{s: s, trunk: tr, clock: clock}
}

// challengeFor returns a challenge optgate issues to source.
func (r *nonceRig) challengeFor(source netip.Addr) string {
	return r.s.digest.challenge(r.trunk.realm, r.trunk.algorithm, false, source)
}

// send checks req as if it came from source and returns the response, or
// nil when the request is authenticated.
func (r *nonceRig) send(t *testing.T, req *sip.Request, source netip.Addr) *sip.Response {
	t.Helper()
	_, res := r.s.verifyDigest(req, credentials(t, req), r.trunk, source)
	return res
}

// failures returns the failed attempts counted against source.
func (r *nonceRig) failures(source netip.Addr) int {
	a := r.s.failures
	a.mu.Lock()
	defer a.mu.Unlock()
	if f, ok := a.sources[sourceKey(source)]; ok {
		return f.count
	}
	return 0
}

// wantFreshChallenge fails t unless res is 401 with a plain challenge
// whose nonce verifies from source.
func (r *nonceRig) wantFreshChallenge(t *testing.T, res *sip.Response, source netip.Addr, step string) {
	t.Helper()
	if res == nil || res.StatusCode != 401 {
		t.Fatalf("%s: response %v, want 401", step, res)
	}
	h := res.GetHeader("WWW-Authenticate")
	if h == nil || strings.Contains(h.Value(), "stale=true") {
		t.Fatalf("%s: WWW-Authenticate %v, want a plain challenge", step, h)
	}
	req := signedRequest(t, h.Value(), "pbx", "pw")
	if res := r.send(t, req, source); res != nil {
		t.Fatalf("%s: the new challenge does not authenticate the right password: %d", step, res.StatusCode)
	}
}

// TestForgedNonceNotCounted sends many requests with nonces optgate never
// issued, as anyone can from a spoofed UDP source: none counts as a failed
// attempt, each gets a fresh challenge, and the right password then works.
func TestForgedNonceNotCounted(t *testing.T) {
	r := newNonceRig(t)
	src := netip.MustParseAddr("192.0.2.10")
	for i := range 40 {
		chal := fmt.Sprintf(`Digest realm="optgate", nonce="%032x", algorithm=MD5, qop="auth"`, i+1)
		res := r.send(t, signedRequest(t, chal, "pbx", fmt.Sprintf("guess%d", i)), src)
		if res == nil || res.StatusCode != 401 {
			t.Fatalf("forged nonce %d: response %v, want 401", i, res)
		}
	}
	if n := r.failures(src); n != 0 {
		t.Fatalf("%d failures counted for forged nonces, want 0", n)
	}
	if d := r.s.failures.lockedFor(src); d != 0 {
		t.Fatalf("source locked out for %v by forged nonces", d)
	}
	chal := `Digest realm="optgate", nonce="0123456789abcdef0123456789abcdef", algorithm=MD5, qop="auth"`
	r.wantFreshChallenge(t, r.send(t, signedRequest(t, chal, "pbx", "pw"), src), src, "forged nonce with the right password")
}

// TestNonceOfAnotherSourceNotCounted uses nonces issued to one address
// from another: they are challenged again without a failure counted. An
// IPv6 nonce serves its whole /64, like the failure count.
func TestNonceOfAnotherSourceNotCounted(t *testing.T) {
	r := newNonceRig(t)
	issued := netip.MustParseAddr("192.0.2.20")
	src := netip.MustParseAddr("192.0.2.10")
	for i := range 3 * authFailuresFree {
		res := r.send(t, signedRequest(t, r.challengeFor(issued), "pbx", "wrong"), src)
		if res == nil || res.StatusCode != 401 {
			t.Fatalf("nonce %d of another address: response %v, want 401", i, res)
		}
	}
	if n := r.failures(src); n != 0 {
		t.Errorf("%d failures counted against the sender, want 0", n)
	}
	if n := r.failures(issued); n != 0 {
		t.Errorf("%d failures counted against the address the nonce was issued to, want 0", n)
	}
	if res := r.send(t, signedRequest(t, r.challengeFor(issued), "pbx", "pw"), src); res == nil || res.StatusCode != 401 {
		t.Errorf("right password with a nonce of another address: response %v, want 401", res)
	}

	v6 := netip.MustParseAddr("2001:db8::1")
	if res := r.send(t, signedRequest(t, r.challengeFor(v6), "pbx", "pw"), netip.MustParseAddr("2001:db8::2")); res != nil {
		t.Errorf("nonce used from another address of its /64: status %d, want authenticated", res.StatusCode)
	}
	other := netip.MustParseAddr("2001:db8:0:1::1")
	if res := r.send(t, signedRequest(t, r.challengeFor(v6), "pbx", "pw"), other); res == nil || res.StatusCode != 401 {
		t.Errorf("nonce used from another /64: response %v, want 401", res)
	}
	// An IPv4 source and its IPv4-mapped IPv6 form are one source.
	mapped := netip.MustParseAddr("::ffff:192.0.2.10")
	if res := r.send(t, signedRequest(t, r.challengeFor(src), "pbx", "pw"), mapped); res != nil {
		t.Errorf("nonce used from the IPv4-mapped form of its address: status %d, want authenticated", res.StatusCode)
	}
}

// TestReplayedNonceCountNotCounted replays an authenticated request many
// times: each replay is challenged again, none counts as a failure.
func TestReplayedNonceCountNotCounted(t *testing.T) {
	r := newNonceRig(t)
	src := netip.MustParseAddr("192.0.2.10")
	req := signedRequest(t, r.challengeFor(src), "pbx", "pw")
	if res := r.send(t, req, src); res != nil {
		t.Fatalf("first use: status %d, want authenticated", res.StatusCode)
	}
	var last *sip.Response
	for i := range 3 * authFailuresFree {
		last = r.send(t, req, src)
		if last == nil || last.StatusCode != 401 {
			t.Fatalf("replay %d: response %v, want 401", i, last)
		}
	}
	if n := r.failures(src); n != 0 {
		t.Errorf("%d failures counted for replays, want 0", n)
	}
	r.wantFreshChallenge(t, last, src, "replay")
}

// TestWrongPasswordWithOurNonceCounted checks that a wrong password for a
// nonce issued to the source counts, and locks the source out once the
// free failures are used up, while an expired nonce does not count.
func TestWrongPasswordWithOurNonceCounted(t *testing.T) {
	r := newNonceRig(t)
	src := netip.MustParseAddr("192.0.2.10")

	stale := signedRequest(t, r.challengeFor(src), "pbx", "wrong")
	r.clock.now = r.clock.now.Add(time.Hour)
	res := r.send(t, stale, src)
	if res == nil || res.StatusCode != 401 || !strings.Contains(header(res, "WWW-Authenticate"), "stale=true") {
		t.Fatalf("expired nonce: response %v, want 401 with stale=true", res)
	}
	if n := r.failures(src); n != 0 {
		t.Fatalf("%d failures counted for an expired nonce, want 0", n)
	}

	for i := range authFailuresFree + 1 {
		res := r.send(t, signedRequest(t, r.challengeFor(src), "pbx", "wrong"), src)
		if res == nil || res.StatusCode != 401 {
			t.Fatalf("wrong password %d: response %v, want 401", i+1, res)
		}
		if n := r.failures(src); n != i+1 {
			t.Fatalf("after wrong password %d: %d failures counted, want %d", i+1, n, i+1)
		}
	}
	if d := r.s.failures.lockedFor(src); d != authLockoutMin {
		t.Fatalf("locked out for %v after %d wrong passwords, want %v", d, authFailuresFree+1, authLockoutMin)
	}
	res = r.send(t, signedRequest(t, r.challengeFor(src), "pbx", "pw"), src)
	if res == nil || res.StatusCode != 403 {
		t.Errorf("right password while locked out: response %v, want 403", res)
	}
}
