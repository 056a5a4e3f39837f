package security

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/smpp"
)

func TestSMPPWrongPasswordRejected(t *testing.T) {
	r := newRig(t, rigOptions{})
	cases := []struct{ name, systemID, password string }{
		{"wrong password", acmeSystemID, "acmeS3c2"},
		{"another account's password", acmeSystemID, globexPassword},
		{"unknown system_id", "nobody01", acmePassword},
		{"empty password", acmeSystemID, ""},
	}
	for _, c := range cases {
		_, err := r.bind(c.systemID, c.password, nil)
		if got := bindStatus(t, err); got != smpp.StatusInvalidPassword {
			t.Errorf("%s: bind status %v, want ESME_RINVPASWD", c.name, got)
		}
	}
	// The right password still binds, after the waits the failures earned.
	r.mustBind(acmeSystemID, acmePassword)
}

func TestHTTPWrongTokenRejected(t *testing.T) {
	r := newRig(t, rigOptions{})
	for _, token := range []string{"", "wrong-token", globexToken + "x", strings.Repeat("a", 4096)} {
		code, body := r.do(http.MethodGet, "/v1/consent/"+subscriber, token, "", nil)
		if code != http.StatusUnauthorized {
			t.Errorf("token %.12q: status %d, want 401; body %s", token, code, body)
		}
	}
	code, _ := r.do(http.MethodGet, "/v1/consent/"+subscriber, acmeToken, "", nil)
	if code != http.StatusOK {
		t.Errorf("the right token: status %d, want 200", code)
	}
	// An account token is not the operator's.
	code, _ = r.do(http.MethodPost, "/v1/consent/import?account=globex", acmeToken, "text/csv", []byte(subscriber+",opted_in\n"))
	if code != http.StatusForbidden {
		t.Errorf("import into another account with an account token: status %d, want 403", code)
	}
}

func TestSenderNotOwnedBlocked(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.optIn("acme", subscriber)
	r.optIn("globex", subscriber)
	acme := r.mustBind(acmeSystemID, acmePassword)

	if got, want := submit(r.ctx, t, acme, globexTollFree, subscriber, "as globex"), statusOf(gateway.CodeSenderNotOwned); got != want {
		t.Errorf("SMPP submit from globex's number: status %v, want %v (sender_not_owned)", got, want)
	}
	body := `{"from":"` + globexTollFree + `","to":"` + subscriber + `","text":"as globex"}`
	code, resp := r.do(http.MethodPost, "/v1/messages", acmeToken, "application/json", []byte(body))
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(resp), &e)
	if code != gateway.StatusFor(gateway.CodeSenderNotOwned).HTTP || e.Error.Code != string(gateway.CodeSenderNotOwned) {
		t.Errorf("HTTP send from globex's number: status %d code %q, want %d %s",
			code, e.Error.Code, gateway.StatusFor(gateway.CodeSenderNotOwned).HTTP, gateway.CodeSenderNotOwned)
	}
	for _, m := range r.d.Simulator().Messages() {
		t.Errorf("the carrier received %q from %s; a text from a number not owned must not go out", m.Text, m.Source)
	}

	// Its own number works.
	if got := submit(r.ctx, t, acme, acmeTollFree, subscriber, "as acme"); got != smpp.StatusOK {
		t.Errorf("submit from acme's own number: status %v, want ESME_ROK", got)
	}
}

// TestConfigNeedsBcryptHashes checks that the configuration takes ESME
// passwords and API tokens only as bcrypt hashes, never as plain text.
func TestConfigNeedsBcryptHashes(t *testing.T) {
	base := `
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo"}
    esme:
      - {system_id: acme01, password_hash: %s}
    api_tokens:
      - {name: main, hash: %s}
carriers:
  - {name: sim, address: "127.0.0.1:2775", system_id: optgate, password: simpass, routes: ["+1"]}
`
	good := daemontest.Hash(t, acmePassword)
	cases := map[string][2]string{
		"plain ESME password": {acmePassword, good},
		"plain API token":     {good, acmeToken},
		"md5-like hex":        {"5f4dcc3b5aa765d61d8327deb882cf99", good},
	}
	for name, c := range cases {
		if _, err := config.Parse([]byte(withSecrets(base, c[0], c[1])), "plain.yaml"); err == nil {
			t.Errorf("%s: the configuration was accepted, want an error naming the hash field", name)
		}
	}
	if _, err := config.Parse([]byte(withSecrets(base, good, good)), "hashed.yaml"); err != nil {
		t.Errorf("the configuration with bcrypt hashes was rejected: %v", err)
	}
}

// withSecrets fills the two %s of text with quoted values.
func withSecrets(text, esme, token string) string {
	text = strings.Replace(text, "%s", `"`+esme+`"`, 1)
	return strings.Replace(text, "%s", `"`+token+`"`, 1)
}

// TestOperatorTokenFromConfig gives the operator token as a bcrypt hash in
// operator.token_hash: the token reaches the operator endpoints, a wrong
// one gets 401 and an account token 403. A daemon given the token in its
// options as well does not start.
func TestOperatorTokenFromConfig(t *testing.T) {
	r := newRig(t, rigOptions{operatorHash: true})
	// optIn imports through the operator endpoint.
	r.optIn("globex", subscriber)
	if code, body := r.do(http.MethodGet, "/v1/consent/"+subscriber+"?account=globex", operatorToken, "", nil); code != http.StatusOK {
		t.Errorf("operator read with the configured token: status %d, want 200; body %s", code, body)
	}
	if code, _ := r.do(http.MethodGet, "/v1/consent/"+subscriber+"?account=globex", operatorToken+"x", "", nil); code != http.StatusUnauthorized {
		t.Errorf("operator read with a wrong token: status %d, want 401", code)
	}
	code, _ := r.do(http.MethodPost, "/v1/consent/import?account=acme", acmeToken, "text/csv", []byte(subscriber+",opted_in\n"))
	if code != http.StatusForbidden {
		t.Errorf("import with an account token: status %d, want 403", code)
	}

	cfg, err := config.Parse([]byte(`
operator: {token_hash: "`+daemontest.Hash(t, operatorToken)+`"}
listeners: {smpp: {addr: "127.0.0.1:0"}, http: {addr: "127.0.0.1:0"}, sip: {enabled: false}}
`), "both.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = gateway.NewDaemon(cfg, nil, gateway.DaemonOptions{OperatorToken: operatorToken})
	if err == nil || !strings.Contains(err.Error(), "operator.token_hash") {
		t.Errorf("a daemon with the operator token in both places: error %v, want one naming operator.token_hash", err)
	}
}
