package config

import (
	"strings"
	"testing"
)

func TestExpandEnv(t *testing.T) {
	env := map[string]string{"PW": "p@ss", "EMPTY": "", "HOST": "redis.example"}
	lookup := func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
	tests := []struct {
		in, want string
	}{
		{"plain", "plain"},
		{"${PW}", "p@ss"},
		{"redis://:${PW}@${HOST}:6379/0", "redis://:p@ss@redis.example:6379/0"},
		{"${EMPTY}", ""},
		{"$${PW}", "${PW}"},
		{"a$${PW}b${PW}", "a${PW}bp@ss"},
		{"$2a$10$abc", "$2a$10$abc"},
		{"cost $5 {x}", "cost $5 {x}"},
		{"$$", "$$"},
	}
	for _, tt := range tests {
		got, err := expandEnv(tt.in, lookup)
		if err != nil {
			t.Errorf("expandEnv(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("expandEnv(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestExpandEnvErrors(t *testing.T) {
	lookup := func(string) (string, bool) { return "", false }
	tests := []struct {
		in, want string
	}{
		{"${MISSING}", "environment variable MISSING is not set"},
		{"x${PW", "unterminated ${"},
		{"${}", `invalid environment variable name ""`},
		{"${1ABC}", `invalid environment variable name "1ABC"`},
		{"${A-B}", `invalid environment variable name "A-B"`},
	}
	for _, tt := range tests {
		_, err := expandEnv(tt.in, lookup)
		if err == nil {
			t.Errorf("expandEnv(%q): no error", tt.in)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("expandEnv(%q) error %q does not contain %q", tt.in, err, tt.want)
		}
	}
}

// TestParseReadsProcessEnvironment checks the exported Parse against the
// real environment, including typed fields written as ${NAME}.
func TestParseReadsProcessEnvironment(t *testing.T) {
	t.Setenv("OPTGATE_TEST_WINDOW", "25")
	t.Setenv("OPTGATE_TEST_CARRIER_PASSWORD", "envpass")
	t.Setenv("OPTGATE_TEST_PPROF", "true")
	c, err := Parse([]byte(`
listeners:
  http: {pprof: "${OPTGATE_TEST_PPROF}"}
carriers:
  - name: a
    address: smsc.example:2775
    system_id: optgate
    password: ${OPTGATE_TEST_CARRIER_PASSWORD}
    window: ${OPTGATE_TEST_WINDOW}
    routes: ["+1"]
`), "env.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Carriers[0].Password; got != "envpass" {
		t.Errorf("password: got %q, want envpass", got)
	}
	if got := c.Carriers[0].Window; got != 25 {
		t.Errorf("window: got %d, want 25", got)
	}
	if !c.Listeners.HTTP.Pprof {
		t.Errorf("pprof: got false, want true from the environment")
	}
}

func TestParseUnsetVariableNamesLine(t *testing.T) {
	_, err := Parse([]byte("store:\n  redis:\n    password: ${OPTGATE_TEST_SURELY_UNSET}\n"), "o.yaml")
	want := "o.yaml:3: store.redis.password: environment variable OPTGATE_TEST_SURELY_UNSET is not set"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}

// TestSecretFromEnvironmentNotInErrors sets a secret that breaks a rule and
// checks that the error names the field but not the value.
func TestSecretFromEnvironmentNotInErrors(t *testing.T) {
	t.Setenv("OPTGATE_TEST_LONG_PASSWORD", "far-too-long-secret")
	_, err := Parse([]byte(`
carriers:
  - name: a
    address: smsc.example:2775
    system_id: optgate
    password: ${OPTGATE_TEST_LONG_PASSWORD}
    routes: ["+1"]
`), "s.yaml")
	if err == nil {
		t.Fatal("an over-long carrier password was accepted")
	}
	if !strings.Contains(err.Error(), "carriers[0].password") {
		t.Errorf("error does not name the field: %v", err)
	}
	if strings.Contains(err.Error(), "far-too-long-secret") {
		t.Errorf("error contains the secret: %v", err)
	}
}
