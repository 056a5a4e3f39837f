package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAuthDelaysDefaults(t *testing.T) {
	c, err := parse([]byte("logging: {level: info}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	s, h, p := c.Listeners.SMPP, c.Listeners.HTTP, c.Listeners.SIP
	if s.FailedBindDelay != 250*time.Millisecond || s.MaxFailedBindDelay != 8*time.Second ||
		s.FailedBindMemory != 10*time.Minute {
		t.Errorf("smpp: got %s, %s, %s; want 250ms, 8s, 10m",
			s.FailedBindDelay, s.MaxFailedBindDelay, s.FailedBindMemory)
	}
	if h.FailedAuthDelay != 250*time.Millisecond || h.MaxFailedAuthDelay != 8*time.Second {
		t.Errorf("http: got %s, %s; want 250ms, 8s", h.FailedAuthDelay, h.MaxFailedAuthDelay)
	}
	if p.DigestFailuresAllowed != 5 || p.DigestLockout != time.Second || p.MaxDigestLockout != 5*time.Minute {
		t.Errorf("sip: got %d, %s, %s; want 5, 1s, 5m", p.DigestFailuresAllowed, p.DigestLockout, p.MaxDigestLockout)
	}
}

func TestAuthDelaysOverride(t *testing.T) {
	c, err := parse([]byte(`listeners:
  smpp: {failed_bind_delay: 100ms, max_failed_bind_delay: 2s, failed_bind_memory: 1m}
  http: {failed_auth_delay: 0s, max_failed_auth_delay: 0s}
  sip: {digest_failures_allowed: 0, digest_lockout: 3s, max_digest_lockout: 3s}
`), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	s, h, p := c.Listeners.SMPP, c.Listeners.HTTP, c.Listeners.SIP
	if s.FailedBindDelay != 100*time.Millisecond || s.MaxFailedBindDelay != 2*time.Second ||
		s.FailedBindMemory != time.Minute {
		t.Errorf("smpp: got %s, %s, %s; want 100ms, 2s, 1m",
			s.FailedBindDelay, s.MaxFailedBindDelay, s.FailedBindMemory)
	}
	if h.FailedAuthDelay != 0 || h.MaxFailedAuthDelay != 0 {
		t.Errorf("http: got %s, %s; want 0s, 0s", h.FailedAuthDelay, h.MaxFailedAuthDelay)
	}
	if p.DigestFailuresAllowed != 0 || p.DigestLockout != 3*time.Second || p.MaxDigestLockout != 3*time.Second {
		t.Errorf("sip: got %d, %s, %s; want 0, 3s, 3s", p.DigestFailuresAllowed, p.DigestLockout, p.MaxDigestLockout)
	}
}

func TestAuthDelaysInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, path, message string
	}{
		{"negative bind delay", "smpp: {failed_bind_delay: -1s}", "listeners.smpp.failed_bind_delay", "positive duration"},
		{"zero bind delay", "smpp: {failed_bind_delay: 0s}", "listeners.smpp.failed_bind_delay", "positive duration"},
		{"bind cap below first", "smpp: {failed_bind_delay: 2s, max_failed_bind_delay: 1s}",
			"listeners.smpp.max_failed_bind_delay", "below failed_bind_delay 2s"},
		{"zero bind memory", "smpp: {failed_bind_memory: 0s}", "listeners.smpp.failed_bind_memory", "positive duration"},
		{"negative auth delay", "http: {failed_auth_delay: -5ms}", "listeners.http.failed_auth_delay", "must not be negative"},
		{"auth cap below first", "http: {failed_auth_delay: 1s, max_failed_auth_delay: 500ms}",
			"listeners.http.max_failed_auth_delay", "below failed_auth_delay 1s"},
		{"negative auth cap", "http: {max_failed_auth_delay: -1s}", "listeners.http.max_failed_auth_delay", "must not be negative"},
		{"negative digest failures", "sip: {digest_failures_allowed: -1}", "listeners.sip.digest_failures_allowed", "must not be negative"},
		{"zero digest lockout", "sip: {digest_lockout: 0s}", "listeners.sip.digest_lockout", "positive duration"},
		{"digest cap below first", "sip: {digest_lockout: 10s, max_digest_lockout: 5s}",
			"listeners.sip.max_digest_lockout", "below digest_lockout 10s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte("listeners:\n  "+tc.yaml+"\n"), "t.yaml", lookupTestEnv)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("parse error %v, want a *FieldError", err)
			}
			if fe.Path != tc.path {
				t.Errorf("error path = %q, want %q (%v)", fe.Path, tc.path, err)
			}
			if !strings.Contains(fe.Message, tc.message) {
				t.Errorf("error message = %q, want it to contain %q", fe.Message, tc.message)
			}
		})
	}
}

func TestOperatorTokenHash(t *testing.T) {
	const hash = "$2a$10$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq."
	c, err := parse([]byte("operator: {token_hash: \""+hash+"\"}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Operator.TokenHash != hash {
		t.Errorf("operator.token_hash = %q, want the hash", c.Operator.TokenHash)
	}
	for _, bad := range []string{"operator-token-5d0c44", "$2a$03$" + hash[7:]} {
		_, err := parse([]byte("operator: {token_hash: \""+bad+"\"}\n"), "t.yaml", lookupTestEnv)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Path != "operator.token_hash" {
			t.Errorf("token_hash %.10q: error %v, want one on operator.token_hash", bad, err)
			continue
		}
		if strings.Contains(fe.Error(), bad) {
			t.Errorf("the error quotes the rejected value: %v", fe)
		}
	}
}
