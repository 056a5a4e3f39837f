package config

import (
	"strings"
	"testing"
	"time"
)

// carrierYAML is one carrier with the given extra keys.
const carrierYAML = `carriers:
  - name: sim
    address: "127.0.0.1:2775"
    system_id: optgate
    routes: ["+1"]
%s`

func TestCarrierResponseTimeoutDefault(t *testing.T) {
	c, err := parse([]byte(strings.ReplaceAll(carrierYAML, "%s", "")), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Carriers[0].ResponseTimeout; got != 5*time.Second {
		t.Errorf("response_timeout default %v, want 5s", got)
	}
}

func TestCarrierResponseTimeoutWarnsAtESMETimeout(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		warn  bool
	}{
		{"2s", 2 * time.Second, false},
		{"9s", 9 * time.Second, false},
		{"10s", 10 * time.Second, true},
		{"30s", 30 * time.Second, true},
	}
	for _, tt := range tests {
		text := strings.ReplaceAll(carrierYAML, "%s", "    response_timeout: "+tt.value+"\n")
		c, err := parse([]byte(text), "t.yaml", lookupTestEnv)
		if err != nil {
			t.Fatalf("%s: %v", tt.value, err)
		}
		if got := c.Carriers[0].ResponseTimeout; got != tt.want {
			t.Errorf("%s: parsed %v", tt.value, got)
		}
		warned := strings.Contains(ErrorList(c.Warnings()).Error(), "carriers[0].response_timeout")
		if warned != tt.warn {
			t.Errorf("%s: warning %v, want %v (warnings %v)", tt.value, warned, tt.warn, c.Warnings())
		}
	}
}
