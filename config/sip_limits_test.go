package config

import (
	"strings"
	"testing"
)

func TestSIPLimitsDefaultsAndOverride(t *testing.T) {
	c, err := parse([]byte("logging: {level: info}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Listeners.SIP; l.MaxCalls != 32 || l.MaxRequests != 512 {
		t.Errorf("defaults: max_calls %d, max_requests %d; want 32, 512", l.MaxCalls, l.MaxRequests)
	}

	c, err = parse([]byte("listeners:\n  sip: {max_calls: 5, max_requests: 40}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Listeners.SIP; l.MaxCalls != 5 || l.MaxRequests != 40 {
		t.Errorf("override: max_calls %d, max_requests %d; want 5, 40", l.MaxCalls, l.MaxRequests)
	}
}

func TestSIPLimitsInvalid(t *testing.T) {
	for _, field := range []string{"max_calls", "max_requests"} {
		t.Run(field, func(t *testing.T) {
			_, err := parse([]byte("listeners:\n  sip: {"+field+": 0}\n"), "t.yaml", lookupTestEnv)
			if err == nil {
				t.Fatalf("%s: 0 was accepted", field)
			}
			if !strings.Contains(err.Error(), "listeners.sip."+field) || !strings.Contains(err.Error(), "at least 1") {
				t.Errorf("error %q does not name listeners.sip.%s and its limit", err, field)
			}
		})
	}
}
