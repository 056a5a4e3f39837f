package config

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden files in testdata/cases")

// testEnv is the environment the golden cases are parsed with.
var testEnv = map[string]string{
	"OPTGATE_TEST_PASSWORD": "s3cr3t!x",
}

func lookupTestEnv(name string) (string, bool) {
	v, ok := testEnv[name]
	return v, ok
}

// secretsInCases are values in testdata/cases that sit in secret fields or
// are mistakes a user could make with a secret. No output may contain them.
var secretsInCases = []string{"hunter2", "toolongpassword", "urlsecret", "s3cr3t!x", "demo-token"}

// renderResult formats a parse result the way `optgate config check` does.
func renderResult(c *Config, err error) string {
	var b strings.Builder
	if err != nil {
		var list ErrorList
		if !errors.As(err, &list) {
			return "unexpected error type: " + err.Error() + "\n"
		}
		for _, e := range list {
			b.WriteString(e.Error() + "\n")
		}
		return b.String()
	}
	b.WriteString("ok\n")
	for _, w := range c.Warnings() {
		b.WriteString("warning: " + w.Error() + "\n")
	}
	return b.String()
}

// TestParseGolden parses every testdata/cases/*.yaml file and compares the
// errors or warnings with the .golden file next to it. Files named valid-*
// must parse, files named invalid-* must fail. Run with -update to rewrite
// the golden files, then review the diff.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d cases in testdata/cases, expected at least 10", len(files))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			c, err := parse(data, file, lookupTestEnv)
			switch {
			case strings.HasPrefix(name, "valid-") && err != nil:
				t.Errorf("valid case failed:\n%v", err)
			case strings.HasPrefix(name, "invalid-") && err == nil:
				t.Errorf("invalid case parsed without error")
			case err != nil && c != nil:
				t.Errorf("parse returned a Config together with an error")
			}
			got := renderResult(c, err)
			for _, secret := range secretsInCases {
				if strings.Contains(got, secret) {
					t.Errorf("output contains the secret %q:\n%s", secret, got)
				}
			}

			golden := strings.TrimSuffix(file, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./config -run TestParseGolden -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s\n--- got:\n%s--- want:\n%s", golden, got, want)
			}
		})
	}
}

func TestParseMinimalValues(t *testing.T) {
	data, err := os.ReadFile("testdata/cases/valid-minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := parse(data, "minimal.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Accounts); got != 1 {
		t.Fatalf("accounts: got %d, want 1", got)
	}

	a := c.Accounts[0]
	if a.ContactNumber != "+18005550101" {
		t.Errorf("contact_number: got %q, want the first toll-free number", a.ContactNumber)
	}
	if a.Delivery.Type != DeliverySMPP {
		t.Errorf("delivery.type: got %q, want default smpp", a.Delivery.Type)
	}
	if a.ESMEs[0].MaxBinds != 1 {
		t.Errorf("esme max_binds: got %d, want default 1", a.ESMEs[0].MaxBinds)
	}
	if !a.TollFree[0].Ready() {
		t.Errorf("toll-free number with greeting and voicemail is not ready")
	}

	carrier := c.Carriers[0]
	if carrier.Password != "s3cr3t!x" {
		t.Errorf("carrier password: ${OPTGATE_TEST_PASSWORD} was not expanded")
	}
	if carrier.Window != 10 || carrier.Binds != 1 || carrier.BindType != BindTransceiver {
		t.Errorf("carrier defaults: got window %d, binds %d, bind_type %q",
			carrier.Window, carrier.Binds, carrier.BindType)
	}

	if c.Listeners.Simulator.Enabled {
		t.Errorf("simulator enabled in a file that does not enable it")
	}
	if !c.Logging.MaskNumbers {
		t.Errorf("logging.mask_numbers: got false, want default true")
	}
}

func TestParseOverridesDefaults(t *testing.T) {
	c, err := parse([]byte(`
logging: {mask_numbers: false, level: debug}
listeners:
  smpp: {enabled: false, addr: ""}
  sip: {udp_addr: ""}
store: {type: embedded, embedded: {path: /var/lib/optgate/consent.db}}
`), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Logging.MaskNumbers {
		t.Errorf("mask_numbers: false was not applied over the default true")
	}
	if c.Logging.Level != "debug" {
		t.Errorf("level: got %q, want debug", c.Logging.Level)
	}
	if c.Listeners.SMPP.Enabled {
		t.Errorf("smpp.enabled: false was not applied")
	}
	if c.Listeners.SIP.UDPAddr != "" || c.Listeners.SIP.TCPAddr != DefaultSIPAddr {
		t.Errorf("sip addresses: got udp %q tcp %q", c.Listeners.SIP.UDPAddr, c.Listeners.SIP.TCPAddr)
	}
	if c.Store.Embedded.Path != "/var/lib/optgate/consent.db" {
		t.Errorf("embedded path: got %q", c.Store.Embedded.Path)
	}
}

func TestParseNullKeepsDefault(t *testing.T) {
	c, err := parse([]byte("logging:\n  level:\n  format: ~\n"), "t.yaml", lookupTestEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Logging.Level != "info" || c.Logging.Format != LogFormatAuto {
		t.Errorf("null values: got level %q format %q, want the defaults", c.Logging.Level, c.Logging.Format)
	}
}

func TestParseErrorListMatchesFieldError(t *testing.T) {
	_, err := parse([]byte("logging:\n  level: loud\n"), "x.yaml", lookupTestEnv)
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("errors.As(*FieldError) failed on %v", err)
	}
	if fe.File != "x.yaml" || fe.Line != 2 || fe.Path != "logging.level" {
		t.Errorf("got file %q line %d path %q, want x.yaml 2 logging.level", fe.File, fe.Line, fe.Path)
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := Load(path)
	if err == nil {
		t.Fatal("Load of a missing file returned no error")
	}
	if want := path + ": file not found"; err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, make([]byte, maxFileBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Errorf("got %v, want a size error", err)
	}
}

func TestParseAliasExpansionLimit(t *testing.T) {
	// A lower limit keeps the test fast; the mechanism is the same.
	saved := maxNodes
	maxNodes = 50_000
	t.Cleanup(func() { maxNodes = saved })

	// Three nested lists of 1000 aliases each expand to 10^9 nodes.
	repeat := func(item string) string {
		return "[" + strings.TrimSuffix(strings.Repeat(item+", ", 1000), ", ") + "]"
	}
	doc := "x-cidrs: &c " + repeat("10.0.0.0/8") + "\n" +
		"x-trunk: &t {name: t, allowed_cidrs: *c}\n" +
		"x-trunks: &ts " + repeat("*t") + "\n" +
		"x-account: &a {id: a, business_name: A, sip_trunks: *ts}\n" +
		"accounts: " + repeat("*a") + "\n"
	_, err := parse([]byte(doc), "bomb.yaml", lookupTestEnv)
	if err == nil {
		t.Fatal("alias bomb parsed without error")
	}
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("got %d errors, want only the node limit error: %.300v", len(list), err)
	}
	if !strings.Contains(list[0].Message, "expands to more than") {
		t.Errorf("got %q, want the node limit error", list[0].Message)
	}
}

func TestValidateReportsWithoutFile(t *testing.T) {
	c := Default()
	c.Accounts[0].TollFree[0].Number = "+12015550101"
	err := c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a non-toll-free number")
	}
	want := `accounts[0].toll_free[0].number: "+12015550101" is not a US/CA toll-free number ` +
		`(+1 and area code 800, 833, 844, 855, 866, 877 or 888)`
	if err.Error() != want {
		t.Errorf("got %q, want %q", err, want)
	}
}
