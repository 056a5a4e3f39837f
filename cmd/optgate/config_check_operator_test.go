package main

import (
	"strings"
	"testing"
)

// TestConfigCheckOperatorTokenTwice checks that config check reports the
// clash that makes optgate run refuse to start.
func TestConfigCheckOperatorTokenTwice(t *testing.T) {
	const hash = "$2a$10$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq."
	withHash := writeFile(t, validConfig+"operator:\n  token_hash: \""+hash+"\"\n")
	tests := []struct {
		name, env, path string
		wantErr         bool
	}{
		{"hash and variable", "op-token-31c9", withHash, true},
		{"hash only", "", withHash, false},
		{"variable only", "op-token-31c9", writeFile(t, validConfig), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(operatorTokenEnv, tc.env)
			code, stdout, stderr := run(t, "config", "check", tc.path)
			if !tc.wantErr {
				if code != exitOK || !strings.HasPrefix(stdout, "ok") {
					t.Fatalf("exit %d, stdout %q, stderr %q; want ok", code, stdout, stderr)
				}
				return
			}
			if code != exitUsage {
				t.Errorf("exit code %d, want %d", code, exitUsage)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			for _, want := range []string{tc.path + ": operator.token_hash:", "set twice", operatorTokenEnv} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr %q, want it to contain %q", stderr, want)
				}
			}
			if strings.Contains(stderr, "op-token-31c9") {
				t.Errorf("stderr shows the token: %q", stderr)
			}
		})
	}
}

func TestRunHelpNamesTokenHash(t *testing.T) {
	code, stdout, _ := run(t, "run", "-h")
	if code != exitOK {
		t.Fatalf("exit code %d, want %d", code, exitOK)
	}
	for _, want := range []string{operatorTokenEnv, "operator.token_hash", "only one"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("run -h does not mention %q:\n%s", want, stdout)
		}
	}
}
