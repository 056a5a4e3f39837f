package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
)

// runLog is a bytes.Buffer safe for a process writing and a test
// reading at once.
type runLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *runLog) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *runLog) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeRunAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeRunConfig writes a configuration on free loopback ports with the
// built-in simulator as carrier and returns its path and HTTP address.
func writeRunConfig(t *testing.T, dir string) (path, httpAddr string) {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("secret1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	httpAddr, simAddr := freeRunAddr(t), freeRunAddr(t)
	yaml := fmt.Sprintf(`
listeners:
  smpp: {addr: %q}
  http: {addr: %q}
  sip: {enabled: false}
  simulator: {enabled: true, addr: %q}
store:
  embedded: {path: %q}
logging: {format: json, level: info}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: %q, voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: %q}
carriers:
  - {name: sim, address: %q, system_id: optgate, password: simpass, routes: ["+1"]}
`, freeRunAddr(t), httpAddr, simAddr, filepath.Join(dir, "data", "consent.db"), config.DemoGreeting, hash, simAddr)
	path = filepath.Join(dir, "optgate.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, httpAddr
}

// waitHTTP polls url until it responds with 200, failing after 15 seconds.
func waitHTTP(t *testing.T, url string, logs *runLog) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not respond with 200 within 15s (last error %v); log:\n%s", url, err, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits until the log holds a line with msg.
func waitLog(t *testing.T, logs *runLog, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"`+msg+`"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no %q in the log:\n%s", msg, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunSubprocess builds optgate, runs it on free ports with a
// configuration file, checks /healthz and /readyz, reloads with SIGHUP and
// stops it with SIGTERM.
func TestRunSubprocess(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "optgate")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfgPath, httpAddr := writeRunConfig(t, dir)

	logs := &runLog{}
	cmd := exec.Command(bin, "run", "-config", cfgPath)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	waitHTTP(t, "http://"+httpAddr+"/healthz", logs)
	waitHTTP(t, "http://"+httpAddr+"/readyz", logs)
	waitLog(t, logs, "ready")

	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "configuration reloaded")

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("optgate exited with %v after SIGTERM, want 0; log:\n%s", err, logs.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("optgate did not exit within 5s of SIGTERM; log:\n%s", logs.String())
	}
	for _, want := range []string{"listening", "stop phase done", "stopped"} {
		if !strings.Contains(logs.String(), `"msg":"`+want+`"`) {
			t.Errorf("no %q line in the log", want)
		}
	}
	checkJSONLines(t, logs.String())
}

// checkJSONLines checks that every log line is a JSON object with a level
// and a message.
func checkJSONLines(t *testing.T, logs string) {
	t.Helper()
	for line := range strings.SplitSeq(strings.TrimSpace(logs), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		if entry["level"] == nil || entry["msg"] == nil {
			t.Errorf("log line without level or msg: %q", line)
		}
	}
}

func TestRunBadConfigIsUsageError(t *testing.T) {
	code, _, stderr := run(t, "run", "-config", filepath.Join(t.TempDir(), "missing.yaml"))
	if code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr, "missing.yaml") {
		t.Errorf("stderr does not name the file: %q", stderr)
	}
}

func TestRunRejectsArguments(t *testing.T) {
	code, _, stderr := run(t, "run", "extra")
	if code != exitUsage || !strings.Contains(stderr, "expected no arguments") {
		t.Errorf("code %d stderr %q", code, stderr)
	}
}

func TestRunBusyPortIsFailure(t *testing.T) {
	dir := t.TempDir()
	cfgPath, httpAddr := writeRunConfig(t, dir)
	l, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, stderr := run(t, "run", "-config", cfgPath)
	if code != exitFailure {
		t.Errorf("exit code %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "start failed") {
		t.Errorf("stderr has no start failure:\n%s", stderr)
	}
}

func TestNewLoggerLevelAndFormat(t *testing.T) {
	var buf bytes.Buffer
	logger, err := newLogger(config.Logging{Level: "warn", Format: config.LogFormatAuto}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hidden")
	logger.Warn("shown")
	out := buf.String()
	if strings.Contains(out, "hidden") {
		t.Errorf("info line logged at level warn: %q", out)
	}
	if !strings.HasPrefix(out, "{") || !strings.Contains(out, `"msg":"shown"`) {
		t.Errorf("auto format off a terminal is not JSON: %q", out)
	}
	if _, err := newLogger(config.Logging{Level: "loud"}, &buf); err == nil {
		t.Error("an unknown level was accepted")
	}
}
