package security

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// TestLogsHoldNoSecretsOrNumbers runs binds, API calls, MT and MO through
// optgate with debug logging and masked numbers, then searches every log
// entry for the passwords, the tokens and the subscriber's number. The
// simulator's own logs are left out, because it is a test tool that logs
// numbers on purpose.
func TestLogsHoldNoSecretsOrNumbers(t *testing.T) {
	const wrongPassword = "wr0ngPw!"
	r := newRig(t, rigOptions{})
	r.optIn("acme", subscriber)
	acme := r.mustBind(acmeSystemID, acmePassword)
	if _, err := r.bind(acmeSystemID, wrongPassword, nil); err == nil {
		t.Fatal("a bind with a wrong password succeeded")
	}
	if st := submit(r.ctx, t, acme, acmeTollFree, subscriber, "appointment at 10"); st != smpp.StatusOK {
		t.Fatalf("MT: status %v", st)
	}
	body := `{"from":"` + acmeTollFree + `","to":"` + subscriber + `","text":"over http"}`
	if code, resp := r.do(http.MethodPost, "/v1/messages", acmeToken, "application/json", []byte(body)); code != http.StatusAccepted {
		t.Fatalf("POST /v1/messages: status %d; body %s", code, resp)
	}
	r.do(http.MethodGet, "/v1/consent/"+subscriber, "wrong-"+acmeToken, "", nil)
	for _, text := range []string{"see you then", "STOP"} {
		status, err := r.d.Simulator().Inject(r.ctx, smscsim.MO{From: subscriber, To: acmeTollFree, Text: text})
		if err != nil || status != smpp.StatusOK {
			t.Fatalf("inject %q: status %v, error %v", text, status, err)
		}
	}
	waitFor(t, "the STOP confirmation at the carrier", func() bool {
		for _, m := range r.d.Simulator().Messages() {
			if strings.Contains(strings.ToLower(m.Text), "unsubscribed") || strings.Contains(strings.ToLower(m.Text), "stop") {
				return true
			}
		}
		return false
	})
	time.Sleep(100 * time.Millisecond)

	secrets := map[string]string{
		"acme's password":         acmePassword,
		"the wrong password":      wrongPassword,
		"acme's token":            acmeToken,
		"the operator token":      operatorToken,
		"the subscriber's number": strings.TrimPrefix(subscriber, "+1"),
	}
	entries := 0
	for _, e := range r.logs.All() {
		if strings.HasPrefix(e.LoggerName, "smscsim") {
			continue
		}
		entries++
		line := fmt.Sprintf("%s %s %v %s", e.LoggerName, e.Message, e.ContextMap(), e.Stack)
		for name, secret := range secrets {
			if strings.Contains(line, secret) {
				t.Errorf("a log entry contains %s: %s", name, line)
			}
		}
	}
	if entries < 10 {
		t.Fatalf("only %d log entries observed; the test did not capture optgate's logs", entries)
	}
}

func TestPprofOffUnlessEnabled(t *testing.T) {
	off := newRig(t, rigOptions{})
	if code, _ := off.do(http.MethodGet, "/debug/pprof/", "", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/ with pprof off: status %d, want 404", code)
	}
	if code, _ := off.do(http.MethodGet, "/debug/pprof/cmdline", operatorToken, "", nil); code != http.StatusNotFound {
		t.Errorf("GET /debug/pprof/cmdline with pprof off: status %d, want 404", code)
	}
	on := newRig(t, rigOptions{pprof: true})
	if code, _ := on.do(http.MethodGet, "/debug/pprof/", "", "", nil); code != http.StatusOK {
		t.Errorf("GET /debug/pprof/ with pprof on: status %d, want 200", code)
	}
}
