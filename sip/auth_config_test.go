package sip

import (
	"net/netip"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
)

// TestDigestLockoutConfig checks that the lockout settings of Config
// reach the failure counter, and that their zero values take the
// defaults.
func TestDigestLockoutConfig(t *testing.T) {
	listener := config.SIPListener{TCPAddr: "127.0.0.1:0"}
	tests := []struct {
		name     string
		cfg      Config
		free     int
		min, max time.Duration
	}{
		{"defaults", Config{}, authFailuresFree, authLockoutMin, authLockoutMax},
		{"set", Config{DigestFailuresAllowed: 2, DigestLockout: 3 * time.Second, MaxDigestLockout: 9 * time.Second},
			2, 3 * time.Second, 9 * time.Second},
		{"none allowed", Config{DigestFailuresAllowed: -1}, 0, authLockoutMin, authLockoutMax},
		{"cap below the first", Config{DigestLockout: 10 * time.Minute}, authFailuresFree, 10 * time.Minute, 10 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Listener = listener
			s, err := NewServer(tc.cfg, Deps{MT: &lateMT{}})
			if err != nil {
				t.Fatal(err)
			}
			f := s.failures
			if f.free != tc.free || f.lockoutMin != tc.min || f.lockoutMax != tc.max {
				t.Errorf("got %d failures allowed, lockout %v up to %v; want %d, %v, %v",
					f.free, f.lockoutMin, f.lockoutMax, tc.free, tc.min, tc.max)
			}
		})
	}
}

// TestNoDigestFailureAllowed checks that with no failure allowed the
// first failure locks the source out for the first lockout.
func TestNoDigestFailureAllowed(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	a := newAuthFailures(func() time.Time { return now })
	a.free, a.lockoutMin, a.lockoutMax = 0, 2*time.Second, 3*time.Second
	src := netip.MustParseAddr("127.0.0.1")
	if d := a.fail(src); d != 2*time.Second {
		t.Errorf("first failure: lockout %v, want 2s", d)
	}
	if d := a.fail(src); d != 3*time.Second {
		t.Errorf("second failure: lockout %v, want the 3s cap", d)
	}
}

// TestLongDigestLockoutCapped checks that doubling a long lockout stops at
// the cap instead of overflowing.
func TestLongDigestLockoutCapped(t *testing.T) {
	a := newAuthFailures(time.Now)
	a.free, a.lockoutMin, a.lockoutMax = 0, 24*time.Hour, 48*time.Hour
	src := netip.MustParseAddr("127.0.0.1")
	for i := range 25 {
		if d := a.fail(src); d < 24*time.Hour || d > 48*time.Hour {
			t.Fatalf("failure %d: lockout %v, want between 24h and 48h", i+1, d)
		}
	}
}
