package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSMPPLimitsDefaults(t *testing.T) {
	c, err := parse([]byte("logging: {level: info}\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners.SMPP
	if l.BindTimeout != 10*time.Second || l.MaxUnbound != 128 || l.MaxUnboundPerSource != 16 || l.Window != 10 {
		t.Errorf("got bind_timeout %s, max_unbound %d, max_unbound_per_source %d, window %d; "+
			"want 10s, 128, 16, 10", l.BindTimeout, l.MaxUnbound, l.MaxUnboundPerSource, l.Window)
	}
}

func TestSMPPLimitsOverride(t *testing.T) {
	c, err := parse([]byte(`listeners:
  smpp: {bind_timeout: 3s, max_failed_bind_delay: 2s, max_unbound: 40, max_unbound_per_source: 4, window: 25}
`), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	l := c.Listeners.SMPP
	if l.BindTimeout != 3*time.Second || l.MaxUnbound != 40 || l.MaxUnboundPerSource != 4 || l.Window != 25 {
		t.Errorf("got bind_timeout %s, max_unbound %d, max_unbound_per_source %d, window %d; "+
			"want 3s, 40, 4, 25", l.BindTimeout, l.MaxUnbound, l.MaxUnboundPerSource, l.Window)
	}
}

func TestSMPPLimitsInvalid(t *testing.T) {
	tests := []struct {
		name, yaml, path, message string
	}{
		{"zero bind timeout", "{bind_timeout: 0s}", "listeners.smpp.bind_timeout", "positive duration"},
		{"zero max unbound", "{max_unbound: 0}", "listeners.smpp.max_unbound", "at least 1"},
		{"zero per source", "{max_unbound_per_source: 0}", "listeners.smpp.max_unbound_per_source", "at least 1"},
		{"per source above total", "{max_unbound: 8, max_unbound_per_source: 9}",
			"listeners.smpp.max_unbound_per_source", "above max_unbound 8"},
		{"zero window", "{window: 0}", "listeners.smpp.window", "between 1 and 1000"},
		{"huge window", "{window: 5000}", "listeners.smpp.window", "between 1 and 1000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte("listeners:\n  smpp: "+tc.yaml+"\n"), "t.yaml", lookupTestEnv)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("parse error %v, want a *FieldError", err)
			}
			if fe.Path != tc.path {
				t.Errorf("error path = %q, want %q", fe.Path, tc.path)
			}
			if !strings.Contains(fe.Message, tc.message) {
				t.Errorf("error message = %q, want it to contain %q", fe.Message, tc.message)
			}
		})
	}
}
