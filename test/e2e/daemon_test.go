package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/testredis"
)

const (
	// readyTimeout bounds the wait for /readyz after `optgate run` starts.
	readyTimeout = 20 * time.Second
	// stopTimeout bounds the graceful stop after SIGTERM. optgate gets a
	// shorter -shutdown-timeout, so a slow stop shows as its own error.
	stopTimeout = 20 * time.Second
	// startAttempts is how often the daemon is started on new ports when
	// another process took one of the free ports first.
	startAttempts = 3
	// logTailLines is how much of optgate's log a failed test prints.
	logTailLines = 80
)

// account is the demo-like account of the test configuration. Its
// secrets are hashed at the lowest bcrypt cost, which optgate accepts with
// a warning, so the test spends no time on bcrypt.
type account struct {
	ID           string
	BusinessName string
	TollFree     string
	SystemID     string
	Password     string
	APIToken     string
}

var storyAccount = account{
	ID:           "demo",
	BusinessName: "Demo Coffee Co.",
	TollFree:     "+18005550100",
	SystemID:     "demo",
	Password:     "story01",
	APIToken:     "e2e-story-token",
}

// redisKeyPrefix starts every key optgate writes to the test's Redis.
const redisKeyPrefix = "e2e-story:"

// ports are the loopback ports one daemon listens on.
type ports struct {
	SMPP, HTTP, Simulator, Control int
}

func freePorts(t *testing.T) ports {
	t.Helper()
	var p [4]int
	for i := range p {
		n, err := testredis.FreePort()
		if err != nil {
			t.Fatalf("pick a free port: %v", err)
		}
		p[i] = n
	}
	return ports{SMPP: p[0], HTTP: p[1], Simulator: p[2], Control: p[3]}
}

// daemon is a running `optgate run` process.
type daemon struct {
	t       *testing.T
	cmd     *exec.Cmd
	logPath string
	ports   ports
	exited  chan struct{} // closed when the process has exited
	exitErr error         // the result of cmd.Wait, set before exited closes
}

func (d *daemon) smppPort() int      { return d.ports.SMPP }
func (d *daemon) httpURL() string    { return "http://127.0.0.1:" + strconv.Itoa(d.ports.HTTP) }
func (d *daemon) controlURL() string { return "http://127.0.0.1:" + strconv.Itoa(d.ports.Control) }

// moduleRoot returns the directory of optgate's go.mod, two levels above
// this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("optgate's go.mod not found in %s: %v", root, err)
	}
	return root
}

// build is the optgate binary that the tests of one test process share,
// so that -count=N runs every story on the same build.
var build struct {
	once sync.Once
	dir  string // removed by TestMain
	bin  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		_ = os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// buildOptgate builds cmd/optgate once per test process, with the race
// detector when the test runs with -race, and returns the binary's path.
func buildOptgate(t *testing.T) string {
	t.Helper()
	root := moduleRoot(t)
	build.once.Do(func() {
		begin := time.Now()
		build.bin, build.err = goBuild(root)
		if build.err == nil {
			t.Logf("built optgate (race detector %v) in %v", raceEnabled, time.Since(begin).Round(time.Millisecond))
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

// goBuild builds ./cmd/optgate of the module at root into a new temporary
// directory.
func goBuild(root string) (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go not found on PATH (%w): the test builds optgate with the go command", err)
	}
	if build.dir, err = os.MkdirTemp("", "optgate-e2e-"); err != nil {
		return "", err
	}
	bin := filepath.Join(build.dir, "optgate")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "./cmd/optgate")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(cmd.Args[1:], " "), err, out)
	}
	return bin, nil
}

// configTemplate is the test's optgate.yaml. writeConfig fills its indexed
// fmt verbs.
const configTemplate = `# optgate configuration written by the end-to-end test.
listeners:
  smpp:
    addr: 127.0.0.1:%[1]d
  http:
    addr: 127.0.0.1:%[2]d
  sip:
    enabled: false
  simulator:
    enabled: true
    addr: 127.0.0.1:%[3]d
    control_addr: 127.0.0.1:%[4]d
    system_id: optgate
    password: simpass
    receipt_delay: 0s
store:
  type: redis
  embedded:
    # Only the gateway's own bbolt file (id map, queues) lives next to it.
    path: %[5]q
  redis:
    addr: %[6]q
    key_prefix: %[7]q
logging:
  level: debug
  format: json
  mask_numbers: true
accounts:
  - id: %[8]s
    business_name: %[9]q
    toll_free:
      - number: %[10]q
        greeting: builtin:demo
        voicemail:
          enabled: true
    esme:
      - system_id: %[11]s
        password_hash: '%[12]s'
    api_tokens:
      - name: story
        hash: '%[13]s'
carriers:
  - name: sim
    address: 127.0.0.1:%[3]d
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// writeConfig writes the configuration of one daemon into dir and returns
// its path.
func writeConfig(t *testing.T, dir string, p ports, redisAddr string) string {
	t.Helper()
	a := storyAccount
	text := fmt.Sprintf(configTemplate, p.SMPP, p.HTTP, p.Simulator, p.Control,
		filepath.Join(dir, "data", "optgate.db"), redisAddr, redisKeyPrefix,
		a.ID, a.BusinessName, a.TollFree, a.SystemID,
		daemontest.Hash(t, a.Password), daemontest.Hash(t, a.APIToken))
	path := filepath.Join(dir, "optgate.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkConfig runs `optgate config check` on path and fails the test
// unless it accepts the file.
func checkConfig(t *testing.T, bin, path string) {
	t.Helper()
	out, err := exec.Command(bin, "config", "check", path).CombinedOutput()
	if err != nil {
		t.Fatalf("optgate config check %s: %v\n%s", path, err, out)
	}
	if !strings.HasPrefix(string(out), "ok") {
		t.Fatalf("optgate config check %s printed %q, want a first line starting with ok", path, out)
	}
}

// errPortTaken reports a daemon that could not listen because another
// process took one of its ports after freePorts picked them.
var errPortTaken = errors.New("a listener port was taken")

// startDaemon writes and checks a configuration, runs `optgate run` with
// it on free ports and waits until /readyz reports every part up. The
// daemon is killed at the end of the test if the test has not stopped it.
func startDaemon(t *testing.T, bin, redisAddr string) *daemon {
	t.Helper()
	for attempt := 1; ; attempt++ {
		begin := time.Now()
		d := launchDaemon(t, bin, redisAddr)
		err := d.waitReady()
		if err == nil {
			t.Logf("optgate ready in %v", time.Since(begin).Round(time.Millisecond))
			return d
		}
		if errors.Is(err, errPortTaken) && attempt < startAttempts {
			t.Logf("attempt %d: %v; starting again on other ports", attempt, err)
			continue
		}
		t.Fatalf("optgate did not become ready: %v\n%s", err, d.logTail())
	}
}

func launchDaemon(t *testing.T, bin, redisAddr string) *daemon {
	t.Helper()
	dir := t.TempDir()
	p := freePorts(t)
	path := writeConfig(t, dir, p, redisAddr)
	checkConfig(t, bin, path)

	logPath := filepath.Join(dir, "optgate.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", path, "-shutdown-timeout", "10s")
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start optgate run: %v", err)
	}
	d := &daemon{t: t, cmd: cmd, logPath: logPath, ports: p, exited: make(chan struct{})}
	go func() {
		d.exitErr = cmd.Wait()
		_ = logFile.Close()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			_ = cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("optgate log (%s):\n%s", logPath, d.logTail())
		}
	})
	return d
}

// waitReady polls /readyz until it returns 200, which needs the carrier
// bound to the simulator and the consent store responding.
func (d *daemon) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(d.httpURL() + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-d.exited:
			if strings.Contains(d.readLog(), "address already in use") {
				return fmt.Errorf("%w: optgate exited with %v", errPortTaken, d.exitErr)
			}
			return fmt.Errorf("optgate exited before it was ready: %v", d.exitErr)
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /readyz did not return 200 within %v (last error: %v)", readyTimeout, err)
		}
	}
}

// stop sends SIGTERM and checks that optgate stops gracefully: exit code
// 0, and no data race reported by a race-enabled build.
func (d *daemon) stop() {
	d.t.Helper()
	begin := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatalf("send SIGTERM to optgate: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(stopTimeout):
		d.t.Fatalf("optgate still running %v after SIGTERM", stopTimeout)
	}
	d.t.Logf("optgate stopped in %v", time.Since(begin).Round(time.Millisecond))
	if d.exitErr != nil {
		d.t.Errorf("optgate exited with %v after SIGTERM, want exit code 0", d.exitErr)
	}
	log := d.readLog()
	if i := strings.Index(log, "WARNING: DATA RACE"); i >= 0 {
		report := log[i:]
		if end := strings.Index(report, "\n=================="); end >= 0 {
			report = report[:end]
		}
		d.t.Errorf("the race detector reported a data race in optgate:\n%s", report)
	}
}

func (d *daemon) readLog() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(log not readable: %v)", err)
	}
	return string(b)
}

// logTail returns the last logTailLines lines of optgate's log, leaving
// out the debug lines of the test's own /metrics and /readyz polling.
func (d *daemon) logTail() string {
	var lines [][]byte
	for _, line := range bytes.Split(bytes.TrimRight([]byte(d.readLog()), "\n"), []byte("\n")) {
		if !bytes.Contains(line, []byte(`"route":"GET /metrics"`)) &&
			!bytes.Contains(line, []byte(`"route":"GET /readyz"`)) {
			lines = append(lines, line)
		}
	}
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
