package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

const (
	cliAcmeToken     = "tok-acme"
	cliGlobexToken   = "tok-globex"
	cliOperatorToken = "op-secret"
	cliSubscriber    = "+12015550101"
	cliSubscriber2   = "+12015550102"
)

// cliLink is a fake carrier that accepts every segment.
type cliLink struct {
	mu   sync.Mutex
	pdus []*smpp.SubmitSM
}

func (l *cliLink) Submit(_ context.Context, pdu *smpp.SubmitSM) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pdus = append(l.pdus, pdu)
	return fmt.Sprintf("C%04d", len(l.pdus)), nil
}

func (l *cliLink) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pdus)
}

// cliServer is optgate's HTTP API over the real MT service and consent
// engine in a temporary directory, served by httptest.
type cliServer struct {
	url    string
	engine *consent.Engine
	link   *cliLink
	// closeConsent closes the consent store, so later calls fail.
	closeConsent func() error
}

func cliHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func newCLIServer(t *testing.T) *cliServer {
	t.Helper()
	dir := t.TempDir()
	ready := func(n string) config.TollFreeNumber {
		return config.TollFreeNumber{Number: n, Greeting: "greeting.wav", Voicemail: config.Voicemail{Enabled: true}}
	}
	accounts := []config.Account{{
		ID: "acme", BusinessName: "Acme Dental", TollFree: []config.TollFreeNumber{ready("+18885550100")},
		ESMEs:     []config.ESME{{SystemID: "acme01", PasswordHash: cliHash(t, "secret1"), MaxBinds: 1}},
		APITokens: []config.APIToken{{Name: "main", Hash: cliHash(t, cliAcmeToken)}},
	}, {
		ID: "globex", BusinessName: "Globex Clinic", TollFree: []config.TollFreeNumber{ready("+18005550100")},
		APITokens: []config.APIToken{{Name: "main", Hash: cliHash(t, cliGlobexToken)}},
	}}

	registry, err := gateway.NewRegistry(accounts, gateway.RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router, err := gateway.NewRouter([]config.Carrier{{Name: "sim", Address: "127.0.0.1:2776", SystemID: "optgate",
		Routes: []string{"+1"}, DataCoding0: config.DataCodingGSM7, LongMessages: config.LongUDH}})
	if err != nil {
		t.Fatal(err)
	}
	store, err := gateway.OpenBoltStore(filepath.Join(dir, "gateway.db"), gateway.BoltStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	cs, err := consent.OpenBolt(filepath.Join(dir, "consent.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	engine, err := consent.NewEngine(cs, registry, consent.Options{})
	if err != nil {
		t.Fatal(err)
	}

	link := &cliLink{}
	mt, err := gateway.NewMTService(gateway.MTConfig{Registry: registry, Router: router,
		Links: gateway.StaticLinks{"sim": link}, Engine: engine, Store: store})
	if err != nil {
		t.Fatal(err)
	}

	api, err := gateway.NewHTTPAPI(gateway.HTTPAPIConfig{
		Services: gateway.HTTPServices{Registry: registry, MT: mt, Engine: engine, Router: router},
		Operator: gateway.OperatorToken(cliOperatorToken),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return &cliServer{url: srv.URL, engine: engine, link: link, closeConsent: cs.Close}
}

// optIn records an opt-in the way an operator import does.
func (s *cliServer) optIn(t *testing.T, account, number string) {
	t.Helper()
	_, err := s.engine.ImportCSV(context.Background(), account, strings.NewReader(number+",opted_in\n"))
	if err != nil {
		t.Fatal(err)
	}
}

// runAPI runs an API command against the server with a token.
func (s *cliServer) runAPI(t *testing.T, token string, args ...string) (int, string, string) {
	t.Helper()
	return run(t, append(args, "-api", s.url, "-token", token)...)
}

func TestCLISend(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "send", "--from", "+18885550100", "--to", cliSubscriber,
		"--text", "Your cleaning is at 3pm.", "-receipt", "-client-ref", "appt-17")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !regexpMatch(`^sent message [0-9a-f]{16} in 1 segment\n$`, stdout) {
		t.Errorf("stdout = %q", stdout)
	}
	if s.link.count() != 1 {
		t.Errorf("carrier got %d PDUs, want 1", s.link.count())
	}
}

func TestCLISendBlocked(t *testing.T) {
	s := newCLIServer(t)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "send", "-from", "+18885550100", "-to", cliSubscriber,
		"-text", "hi")
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
	want := "optgate send: no_consent (HTTP 403): " + gateway.StatusFor(gateway.CodeNoConsent).Message
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
	if s.link.count() != 0 {
		t.Errorf("carrier got %d PDUs for a blocked text", s.link.count())
	}
}

func TestCLISendJSON(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "send", "-json", "-from", "+18885550100", "-to",
		cliSubscriber, "-text", "hi")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var res sendResponse
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.MessageID == "" || res.Segments != 1 {
		t.Errorf("stdout %q: %+v, %v", stdout, res, err)
	}

	code, stdout, _ = s.runAPI(t, cliAcmeToken, "send", "-json", "-from", "+18885550100", "-to",
		cliSubscriber2, "-text", "hi")
	var body struct {
		Error struct{ Code string } `json:"error"`
	}
	if code != exitFailure || json.Unmarshal([]byte(stdout), &body) != nil || body.Error.Code != "no_consent" {
		t.Errorf("blocked with -json: exit %d stdout %q", code, stdout)
	}
}

func TestCLIUsageErrors(t *testing.T) {
	s := newCLIServer(t)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"send without text", []string{"send", "-from", "+18885550100", "-to", cliSubscriber},
			"-from, -to and -text are required"},
		{"send with an argument", []string{"send", "-from", "+18885550100", "-to", cliSubscriber, "-text", "a",
			"extra"}, `unexpected argument "extra"`},
		{"send with a bad flag", []string{"send", "-sender", "x"}, "flag provided but not defined"},
		{"optin without to", []string{"optin"}, "-to is required"},
		{"explain without to", []string{"explain"}, "-to is required"},
		{"consent get without number", []string{"consent", "get"}, "want exactly one NUMBER"},
		{"consent import missing file", []string{"consent", "import", "/nonexistent/file.csv"}, "no such file"},
		{"consent import bad kind", []string{"consent", "import", "f.csv", "-kind", "optin"}, `-kind "optin"`},
		{"consent export argument", []string{"consent", "export", "acme"}, `unexpected argument "acme"`},
		{"consent unknown subcommand", []string{"consent", "delete"}, `unknown subcommand "delete"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := s.runAPI(t, cliAcmeToken, tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.stderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.stderr)
			}
		})
	}
}

func TestCLITokenSources(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	args := []string{"consent", "get", cliSubscriber, "-api", s.url}

	t.Setenv("OPTGATE_TOKEN", "")
	code, _, stderr := run(t, args...)
	if code != exitUsage || !strings.Contains(stderr, "OPTGATE_TOKEN") {
		t.Errorf("no token: exit %d stderr %q", code, stderr)
	}

	t.Setenv("OPTGATE_TOKEN", cliAcmeToken)
	code, stdout, stderr := run(t, args...)
	if code != exitOK || !strings.Contains(stdout, "opted_in") {
		t.Errorf("token from the environment: exit %d stdout %q stderr %q", code, stdout, stderr)
	}

	code, _, stderr = run(t, append(args, "-token", "tok-wrong")...)
	if code != exitFailure || !strings.Contains(stderr, "unauthorized (HTTP 401)") {
		t.Errorf("wrong token: exit %d stderr %q", code, stderr)
	}
}

func TestCLIBadAPIAddress(t *testing.T) {
	code, _, stderr := run(t, "consent", "get", cliSubscriber, "-api", "127.0.0.1:8080", "-token", "t")
	if code != exitUsage || !strings.Contains(stderr, "not an http or https URL") {
		t.Errorf("exit %d stderr %q", code, stderr)
	}

	// A closed server fails the call, not the usage.
	srv := httptest.NewServer(nil)
	addr := srv.URL
	srv.Close()
	code, _, stderr = run(t, "consent", "get", cliSubscriber, "-api", addr, "-token", "t")
	if code != exitFailure || !strings.Contains(stderr, "optgate consent get: GET") {
		t.Errorf("closed server: exit %d stderr %q", code, stderr)
	}
}

func TestCLIOptIn(t *testing.T) {
	s := newCLIServer(t)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "optin", "--to", cliSubscriber)
	if code != exitOK {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "sent opt-in request 1 of 2 to +12015550101 from +18885550100 as message ") ||
		!strings.Contains(stdout, "Acme Dental") {
		t.Errorf("stdout = %q", stdout)
	}
	s.runAPI(t, cliAcmeToken, "optin", "-to", cliSubscriber)
	code, _, stderr = s.runAPI(t, cliAcmeToken, "optin", "-to", cliSubscriber)
	if code != exitFailure || !strings.Contains(stderr, "request_limit (HTTP 403)") {
		t.Errorf("third request: exit %d stderr %q", code, stderr)
	}
}

func TestCLIConsentGetAndEvidence(t *testing.T) {
	s := newCLIServer(t)
	if code, _, stderr := s.runAPI(t, cliAcmeToken, "optin", "-to", cliSubscriber); code != exitOK {
		t.Fatalf("optin: %s", stderr)
	}

	// Flags after the number work as well as before it.
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "consent", "get", cliSubscriber)
	if code != exitOK {
		t.Fatalf("get: exit %d stderr %q", code, stderr)
	}
	for _, want := range []string{"+12015550101 with acme: requested", "1 opt-in request of 2 sent", "updated "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("get output lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, _ = s.runAPI(t, cliAcmeToken, "consent", "evidence", cliSubscriber)
	for _, want := range []string{"1 event", "#1 ", "request via http: none -> requested",
		"toll-free number: +18885550100", `text: "Acme Dental`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("evidence output lacks %q:\n%s", want, stdout)
		}
	}
	if code != exitOK {
		t.Errorf("evidence: exit %d", code)
	}

	_, stdout, _ = s.runAPI(t, cliAcmeToken, "consent", "evidence", cliSubscriber, "-json")
	var ev consent.Evidence
	if err := json.Unmarshal([]byte(stdout), &ev); err != nil || len(ev.Entries) != 1 {
		t.Errorf("evidence -json: %v, %d entries", err, len(ev.Entries))
	}

	// globex's token reads globex's record of the number.
	_, stdout, _ = s.runAPI(t, cliGlobexToken, "consent", "get", cliSubscriber)
	if !strings.Contains(stdout, "with globex: none") {
		t.Errorf("globex get = %q", stdout)
	}
	code, _, stderr = s.runAPI(t, cliGlobexToken, "consent", "get", cliSubscriber, "-account", "acme")
	if code != exitFailure || !strings.Contains(stderr, "forbidden (HTTP 403)") {
		t.Errorf("globex reading acme: exit %d stderr %q", code, stderr)
	}
}

func writeCSV(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "numbers.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCLIConsentImport(t *testing.T) {
	s := newCLIServer(t)
	file := writeCSV(t, "number,state\n+12015550101,opted_in\nnope,opted_in\n+12015550102,opted_out\n")

	code, _, stderr := s.runAPI(t, cliAcmeToken, "consent", "import", file)
	if code != exitFailure || !strings.Contains(stderr, "forbidden (HTTP 403)") {
		t.Errorf("account token: exit %d stderr %q", code, stderr)
	}

	code, stdout, stderr := s.runAPI(t, cliOperatorToken, "consent", "import", file, "-account", "acme")
	if code != exitFailure {
		t.Errorf("exit %d, want %d for a file with an invalid line; stderr %q", code, exitFailure, stderr)
	}
	if !strings.HasPrefix(stdout, "read 3 rows: 2 applied, 0 skipped, 1 invalid\nline 3: ") {
		t.Errorf("stdout = %q", stdout)
	}
	_, stdout, _ = s.runAPI(t, cliAcmeToken, "consent", "get", cliSubscriber)
	if !strings.Contains(stdout, ": opted_in") {
		t.Errorf("after import: %q", stdout)
	}

	clean := writeCSV(t, "+12015550101\n")
	code, stdout, stderr = s.runAPI(t, cliAcmeToken, "consent", "import", clean, "--kind", "reassigned")
	if code != exitOK || stdout != "read 1 row: 1 applied, 0 skipped, 0 invalid\n" {
		t.Errorf("reassigned: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	_, stdout, _ = s.runAPI(t, cliAcmeToken, "consent", "get", cliSubscriber)
	if !strings.Contains(stdout, ": voided") {
		t.Errorf("after reassigned import: %q", stdout)
	}
}

func TestCLIConsentImportStoreDown(t *testing.T) {
	s := newCLIServer(t)
	if err := s.closeConsent(); err != nil {
		t.Fatal(err)
	}
	file := writeCSV(t, "+12015550101,opted_in\n")
	code, stdout, stderr := s.runAPI(t, cliOperatorToken, "consent", "import", file, "-account", "acme")
	if code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if stdout != "read 1 row: 0 applied, 0 skipped, 0 invalid, 1 not applied because the import stopped\n" {
		t.Errorf("stdout = %q, want the partial result", stdout)
	}
	if !strings.Contains(stderr, "store_unavailable (HTTP 503)") || !strings.Contains(stderr, "retry after 5s") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestCLIConsentExport(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "consent", "export")
	if code != exitOK {
		t.Fatalf("exit %d stderr %q", code, stderr)
	}
	if !strings.HasPrefix(stdout, "number,state,time,source,requests,request_from\n+12015550101,opted_in,") {
		t.Errorf("stdout = %q", stdout)
	}

	out := filepath.Join(t.TempDir(), "acme.csv")
	code, stdout, stderr = s.runAPI(t, cliAcmeToken, "consent", "export", "-o", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("-o: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(b), "+12015550101,opted_in,") {
		t.Errorf("file: %q, %v", b, err)
	}
	if matches, _ := filepath.Glob(out + ".*.tmp"); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestCLIExplain(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "explain", "--to", cliSubscriber)
	if code != exitOK {
		t.Fatalf("allowed: exit %d stderr %q", code, stderr)
	}
	for _, want := range []string{"allowed: ", "from +18885550100 to +12015550101", "consent: opted_in", "carrier: sim"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("allowed output lacks %q:\n%s", want, stdout)
		}
	}

	code, stdout, _ = s.runAPI(t, cliAcmeToken, "explain", "-to", cliSubscriber2)
	if code != exitFailure {
		t.Errorf("blocked: exit %d, want %d", code, exitFailure)
	}
	for _, want := range []string{"blocked: no_consent: ", "HTTP 403, SMPP command_status 0x00000400, SIP 403"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("blocked output lacks %q:\n%s", want, stdout)
		}
	}
	if s.link.count() != 0 {
		t.Errorf("explain sent %d PDUs", s.link.count())
	}
}

func regexpMatch(pattern, s string) bool {
	return regexp.MustCompile(pattern).MatchString(s)
}
