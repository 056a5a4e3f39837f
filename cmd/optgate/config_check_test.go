package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "optgate.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

const validConfig = `
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - number: "+18005550101"
        greeting: builtin:demo
        voicemail: {enabled: true}
      - number: "+18005550102"
    esme:
      - system_id: acme01
        password_hash: $2a$10$Po9C.dIEP.RsQfRJvKqeIOK.wZWQjQqF8z2AwF4s8pFrQG3Q2FqdW
carriers:
  - name: carrier-a
    address: 127.0.0.1:2776
    system_id: optgate
    routes: ["+1"]
`

func TestConfigCheckValid(t *testing.T) {
	path := writeFile(t, validConfig)
	code, stdout, stderr := run(t, "config", "check", path)
	if code != exitOK {
		t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
	if lines[0] != "ok" {
		t.Errorf("first line: got %q, want ok", lines[0])
	}
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want ok and one warning:\n%s", len(lines), stdout)
	}
	want := "warning: " + path + ":9: accounts[0].toll_free[1]: +18005550102 is not ready"
	if !strings.HasPrefix(lines[1], want) {
		t.Errorf("warning line:\n got %q\nwant prefix %q", lines[1], want)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing", stderr)
	}
}

func TestConfigCheckInvalid(t *testing.T) {
	path := writeFile(t, `
logging:
  level: loud
carriers:
  - name: carrier-a
    adress: smsc.example:2775
    password: far-too-long
`)
	code, stdout, stderr := run(t, "config", "check", path)
	if code != exitUsage {
		t.Errorf("exit code: got %d, want %d", code, exitUsage)
	}
	if stdout != "" {
		t.Errorf("stdout: got %q, want nothing", stdout)
	}
	want := []string{
		path + `:3: logging.level: "loud" is not a log level; use debug, info, warn or error`,
		path + `:5: carriers[0].address: is required`,
		path + `:5: carriers[0].system_id: is required`,
		path + `:5: carriers[0].routes: at least one destination prefix is required, such as "+1"; "+" takes every destination`,
		path + `:6: carriers[0].adress: unknown field "adress"; did you mean "address"?`,
		path + `:7: carriers[0].password: is 12 characters long; SMPP 3.4 allows at most 8`,
	}
	got := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stderr lines:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Contains(stderr, "far-too-long") {
		t.Errorf("stderr contains the carrier password")
	}
}

func TestConfigCheckUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"config", "check"}, "expected exactly one FILE"},
		{"two files", []string{"config", "check", "a.yaml", "b.yaml"}, "expected exactly one FILE"},
		{"bad flag", []string{"config", "check", "-strict", "a.yaml"}, "flag provided but not defined"},
		{"missing file", []string{"config", "check", "/nonexistent/optgate.yaml"}, "file not found"},
		{"no subcommand", []string{"config"}, "Usage:"},
		{"unknown subcommand", []string{"config", "lint"}, `unknown subcommand "lint"`},
		{"print-default argument", []string{"config", "print-default", "x"}, "expected no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := run(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code: got %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}
}

func TestConfigCheckHelp(t *testing.T) {
	code, stdout, stderr := run(t, "config", "check", "-h")
	if code != exitOK {
		t.Errorf("exit code: got %d, want %d", code, exitOK)
	}
	if !strings.Contains(stdout, "Usage: optgate config check FILE") {
		t.Errorf("stdout: %q", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing", stderr)
	}
}

func TestConfigPrintDefault(t *testing.T) {
	code, stdout, stderr := run(t, "config", "print-default")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "# optgate configuration") {
		t.Errorf("output does not start with the header comment")
	}
	c, err := config.Parse([]byte(stdout), "default.yaml")
	if err != nil {
		t.Fatalf("printed default does not parse:\n%v", err)
	}
	if len(c.Warnings()) != 0 {
		t.Errorf("printed default has warnings: %v", config.ErrorList(c.Warnings()))
	}
	if c.Accounts[0].ID != config.DemoAccountID || !c.Listeners.Simulator.Enabled {
		t.Errorf("printed default lacks the demo account or the simulator")
	}

	// The same text passes config check.
	code, stdout, _ = run(t, "config", "check", writeFile(t, stdout))
	if code != exitOK || stdout != "ok\n" {
		t.Errorf("config check of the printed default: code %d, stdout %q", code, stdout)
	}
}

// hashPassword runs hash-password with the given stdin.
func hashPassword(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = hashPasswordCommand(strings.NewReader(stdin))(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHashPasswordBcrypt(t *testing.T) {
	code, stdout, stderr := hashPassword("demopass\n")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %s", code, stderr)
	}
	hash := strings.TrimSuffix(stdout, "\n")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("demopass")); err != nil {
		t.Errorf("printed hash does not match the password without its newline: %v", err)
	}
	if stderr != "" {
		t.Errorf("stderr: got %q, want nothing for an 8-character password", stderr)
	}
}

func TestHashPasswordLongNotesSMPPLimit(t *testing.T) {
	code, stdout, stderr := hashPassword("a-long-api-token\r\n")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	hash := strings.TrimSuffix(stdout, "\n")
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("a-long-api-token")); err != nil {
		t.Errorf("hash does not match the password without CR LF: %v", err)
	}
	if !strings.Contains(stderr, "at most 8 characters") {
		t.Errorf("no SMPP length note on stderr: %q", stderr)
	}
}

func TestHashPasswordDigest(t *testing.T) {
	code, stdout, _ := hashPassword("trunkpass", "-sip-user", "acme-pbx", "-realm", "optgate")
	if code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	// Checked with: printf 'acme-pbx:optgate:trunkpass' | md5sum
	if want := "a6af0fa7dfa0d5daf2bb2821dd7c0cf1\n"; stdout != want {
		t.Errorf("got %q, want %q", stdout, want)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("device gone") }

func TestHashPasswordErrors(t *testing.T) {
	tests := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"empty stdin", "", nil, exitUsage, "no password on stdin"},
		{"empty line", "\n", nil, exitUsage, "no password on stdin"},
		{"argument", "pw\n", []string{"pw"}, exitUsage, "expected no arguments"},
		{"algorithm", "pw\n", []string{"-sip-user", "u", "-algorithm", "SHA-1"}, exitUsage, "not supported"},
		{"too long for bcrypt", strings.Repeat("x", 80) + "\n", nil, exitUsage, "at most 72"},
		{"line too long", strings.Repeat("x", 5000), nil, exitFailure, "longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := hashPassword(tt.stdin, tt.args...)
			if code != tt.code {
				t.Errorf("exit code: got %d, want %d", code, tt.code)
			}
			if stdout != "" {
				t.Errorf("stdout: got %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tt.want)
			}
		})
	}

	var errOut bytes.Buffer
	code := hashPasswordCommand(failingReader{})(context.Background(), nil, &bytes.Buffer{}, &errOut)
	if code != exitFailure || !strings.Contains(errOut.String(), "device gone") {
		t.Errorf("read error: code %d, stderr %q", code, errOut.String())
	}
}
