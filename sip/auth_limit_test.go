package sip

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"

	"github.com/optgate/optgate/consent"
)

func TestAuthFailuresLockOut(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)}
	a := newAuthFailures(clk.Now)
	src := netip.MustParseAddr("192.0.2.7")
	for i := range authFailuresFree {
		if d := a.fail(src); d != 0 {
			t.Fatalf("failure %d locked out for %v, want no lockout yet", i+1, d)
		}
	}
	if d := a.lockedFor(src); d != 0 {
		t.Fatalf("locked out for %v after %d failures, want 0", d, authFailuresFree)
	}
	// Each further failure doubles the lockout.
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if d := a.fail(src); d != want {
			t.Errorf("lockout = %v, want %v", d, want)
		}
	}
	if d := a.lockedFor(src); d != 4*time.Second {
		t.Errorf("lockedFor = %v, want 4s", d)
	}
	if d := a.lockedFor(netip.MustParseAddr("192.0.2.8")); d != 0 {
		t.Errorf("another address is locked out for %v", d)
	}
	clk.now = clk.now.Add(5 * time.Second)
	if d := a.lockedFor(src); d != 0 {
		t.Errorf("lockedFor after the lockout = %v, want 0", d)
	}
	for range 30 {
		a.fail(src)
	}
	if d := a.lockedFor(src); d != authLockoutMax {
		t.Errorf("lockout after many failures = %v, want the maximum %v", d, authLockoutMax)
	}
	a.succeed(src)
	if d := a.lockedFor(src); d != 0 {
		t.Errorf("lockedFor after a success = %v, want 0", d)
	}
}

func TestAuthFailuresPerIPv6Prefix(t *testing.T) {
	a := newAuthFailures(time.Now)
	for i := range authFailuresFree + 1 {
		// Every attempt from another address of the same /64.
		addr := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i + 1)})
		a.fail(addr)
	}
	if d := a.lockedFor(netip.MustParseAddr("2001:db8::99")); d == 0 {
		t.Error("the /64 is not locked out after failures from several of its addresses")
	}
	if d := a.lockedFor(netip.MustParseAddr("2001:db8:0:1::1")); d != 0 {
		t.Errorf("another /64 is locked out for %v", d)
	}
}

func TestAuthFailuresTableBounded(t *testing.T) {
	a := newAuthFailures(time.Now)
	for i := range maxAuthSources + 100 {
		a.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := len(a.sources); n > maxAuthSources {
		t.Errorf("table holds %d sources, want at most %d", n, maxAuthSources)
	}
}

func TestDigestGuessingLockedOut(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("beta", customer, consent.StateOptedIn)
	client := newClient(t)
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	attempt := func(password string) (int, string) {
		t.Helper()
		req := newMessage(t, f.addr("udp"), tfBeta, customer, "Hello")
		res, err := client.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode != 401 {
			return res.StatusCode, header(res, "Warning")
		}
		res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: betaUser, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, header(res, "Warning")
	}
	for i := range authFailuresFree + 1 {
		if status, _ := attempt("wrong"); status != 401 {
			t.Fatalf("wrong password %d: status %d, want 401", i+1, status)
		}
	}
	// Locked out now: even the right password gets 403 until the lockout
	// ends.
	status, warn := attempt(betaPassword)
	if status != 403 || !strings.Contains(warn, "too many failed authentication attempts") {
		t.Fatalf("right password while locked out: %d %q, want 403 naming the lockout", status, warn)
	}
	time.Sleep(authLockoutMin + 100*time.Millisecond)
	if status, warn := attempt(betaPassword); status != 202 {
		t.Fatalf("right password after the lockout: %d %q, want 202", status, warn)
	}
	f.waitMessages(1)
}
