package config

import (
	"errors"
	"strings"
	"testing"
)

// TestBindDelayBelowBindTimeout checks that a wait that would outlast
// bind_timeout, and so close every held-back bind unanswered, is refused.
func TestBindDelayBelowBindTimeout(t *testing.T) {
	tests := []struct {
		name, yaml string
		wantErr    bool
	}{
		{"cap above timeout", "{failed_bind_delay: 4s, max_failed_bind_delay: 60s, bind_timeout: 10s}", true},
		{"cap equal to timeout", "{max_failed_bind_delay: 10s, bind_timeout: 10s}", true},
		{"default cap, short timeout", "{bind_timeout: 5s}", true},
		{"cap below timeout", "{max_failed_bind_delay: 4s, bind_timeout: 5s}", false},
		{"defaults", "{}", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse([]byte("listeners:\n  smpp: "+tc.yaml+"\n"), "t.yaml", lookupTestEnv)
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("parse error %v, want a *FieldError", err)
			}
			if fe.Path != "listeners.smpp.max_failed_bind_delay" {
				t.Errorf("error path = %q, want listeners.smpp.max_failed_bind_delay (%v)", fe.Path, err)
			}
			if !strings.Contains(fe.Message, "listeners.smpp.bind_timeout") {
				t.Errorf("error message = %q, want it to name listeners.smpp.bind_timeout", fe.Message)
			}
		})
	}
}

// TestZeroBindDelayExplained checks that failed_bind_delay: 0s, which
// turns the HTTP delay off, is refused for SMPP with the reason.
func TestZeroBindDelayExplained(t *testing.T) {
	_, err := parse([]byte("listeners:\n  smpp: {failed_bind_delay: 0s}\n"), "t.yaml", lookupTestEnv)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "listeners.smpp.failed_bind_delay" {
		t.Fatalf("parse error %v, want one on listeners.smpp.failed_bind_delay", err)
	}
	if !strings.Contains(fe.Message, "cannot be turned off") {
		t.Errorf("error message = %q, want it to say the delay cannot be turned off", fe.Message)
	}
}

// TestOperatorHashSameAsAccountToken checks that the operator cannot share
// an account's token.
func TestOperatorHashSameAsAccountToken(t *testing.T) {
	const hash = "$2a$10$sEgKhmjOKtBZbs1zBs5dSOSztdP7UHk56cqlIBB950QsK3RRuCQq."
	const other = "$2a$10$WZ54mjQlKcadKORseHFalu5dpq0DJs6ovQX4nqnP/OXXifm9Fh506"
	yaml := func(operatorHash string) []byte {
		return []byte(`
accounts:
  - id: acme
    business_name: Acme
    toll_free: [{number: "+18005550101"}]
    delivery: {type: webhook, url: "https://acme.example/in"}
    api_tokens: [{name: main, hash: "` + hash + `"}]
operator: {token_hash: "` + operatorHash + `"}
`)
	}
	_, err := parse(yaml(hash), "t.yaml", lookupTestEnv)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Path != "operator.token_hash" {
		t.Fatalf("parse error %v, want one on operator.token_hash", err)
	}
	if !strings.Contains(fe.Message, `"acme"`) || !strings.Contains(fe.Message, `"main"`) {
		t.Errorf("error message = %q, want it to name account acme and token main", fe.Message)
	}
	if _, err := parse(yaml(other), "t.yaml", lookupTestEnv); err != nil {
		t.Errorf("a distinct operator hash: %v", err)
	}
}
