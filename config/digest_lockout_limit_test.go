package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestMaxDigestLockoutLimit checks that listeners.sip.max_digest_lockout
// is accepted up to one hour and rejected above it, naming the key.
func TestMaxDigestLockoutLimit(t *testing.T) {
	c, err := parse([]byte("listeners:\n  sip: {max_digest_lockout: 1h}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatalf("max_digest_lockout 1h: %v", err)
	}
	if got := c.Listeners.SIP.MaxDigestLockout; got != time.Hour {
		t.Errorf("max_digest_lockout = %s, want 1h", got)
	}
	for _, value := range []string{"61m", "87600h"} {
		_, err := parse([]byte("listeners:\n  sip: {max_digest_lockout: "+value+"}\n"), "t.yaml", lookupTestEnv)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("max_digest_lockout %s: error %v, want a *FieldError", value, err)
		}
		if fe.Path != "listeners.sip.max_digest_lockout" || !strings.Contains(fe.Message, "must be at most 1h0m0s") {
			t.Errorf("max_digest_lockout %s: error %q on %q, want one on listeners.sip.max_digest_lockout naming the 1h limit",
				value, fe.Message, fe.Path)
		}
	}
}
