package faults

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// subprocessYAML is the configuration of `optgate run` in the SIGKILL
// test: the embedded store and the built-in simulator. The placeholders
// are the SMPP, HTTP, simulator and control ports, the data directory and
// the password hash.
const subprocessYAML = `
listeners:
  smpp: {addr: "127.0.0.1:%[1]d"}
  http: {addr: "127.0.0.1:%[2]d"}
  sip: {enabled: false}
  simulator:
    enabled: true
    addr: "127.0.0.1:%[3]d"
    control_addr: "127.0.0.1:%[4]d"
    system_id: optgate
    password: simpass
    receipt_delay: 0s
store:
  type: embedded
  embedded: {path: "%[5]s/consent.db"}
logging: {level: info, mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: %[6]q, max_binds: 4}
carriers:
  - name: sim
    address: "127.0.0.1:%[3]d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// process is one `optgate run`.
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

func startProcess(t *testing.T, bin, config, logPath string) *process {
	t.Helper()
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-config", config, "-shutdown-timeout", "10s")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start optgate run: %v", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// TestKillUnderMOLoad kills `optgate run` with SIGKILL twice while the
// carrier injects MO texts, each time starting it again on the same data
// directory. Every MO optgate acknowledged to the carrier must reach the
// business under one MO id, and every repeat under that id must carry
// the possible-resend bit.
func TestKillUnderMOLoad(t *testing.T) {
	const (
		kills     = 2
		injectors = 8
		killAfter = 150 // acknowledged MOs before each kill
	)
	bin := buildOptgate(t)
	dir := t.TempDir()
	var ports [4]int
	for i := range ports {
		n, err := testredis.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = n
	}
	config := filepath.Join(dir, "optgate.yaml")
	text := fmt.Sprintf(subprocessYAML, ports[0], ports[1], ports[2], ports[3], dir, daemontest.Hash(t, password))
	if err := os.WriteFile(config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "optgate.log")
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := os.ReadFile(logPath)
			t.Logf("optgate log:\n%s", tail(string(out), 60))
		}
	})
	httpURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	p := startProcess(t, bin, config, logPath)
	waitFor(t, "the first optgate to be ready", func() bool { return httpReady(httpURL) })
	b := bindBusiness(t, ctx, fmt.Sprintf("127.0.0.1:%d", ports[0]), smpp.BindTypeReceiver)
	control := &smscsim.ControlClient{BaseURL: fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
		HTTP: &http.Client{Timeout: 5 * time.Second}}
	load := &moLoad{control: control}
	for kill := 1; kill <= kills; kill++ {
		load.untilKilled(t, ctx, p, injectors, kill*killAfter)
		t.Logf("kill %d: the business had %d texts", kill, len(b.received()))
		p = startProcess(t, bin, config, logPath)
		waitFor(t, fmt.Sprintf("optgate to be ready after kill %d", kill), func() bool { return httpReady(httpURL) })
	}

	acked := load.acknowledgedTexts()
	waitFor(t, "every acknowledged MO at the business", func() bool {
		got := b.received()
		for _, text := range acked {
			if got[text] == 0 {
				return false
			}
		}
		return true
	})
	// Give a second delivery a chance to show before counting.
	time.Sleep(500 * time.Millisecond)

	got := b.received()
	c := tally{fault: fmt.Sprintf("optgate run killed with SIGKILL %d times under MO load", kills),
		sent: int(load.sent.Load()), acknowledged: len(acked)}
	for _, text := range acked {
		if got[text] > 0 {
			c.delivered++
		} else {
			c.lost++
		}
	}
	countRepeats(t, &c, b)
	t.Logf("the business had %d texts at the end", len(got))
	c.report(t)
}

// countRepeats counts the MO texts the business got more than once. A
// deliver_sm_resp can arrive just before a kill, while the removal of its
// item from the queue is not committed yet. The item then stays queued
// and goes out again after the restart under the same MO id, marked as a
// possible resend, and the business drops it by that id. A text under
// two MO ids means optgate accepted the same MO twice, and a repeat
// without the mark looks like a new text: the business cannot tell
// either from a new MO, so both count as duplicated.
func countRepeats(t *testing.T, c *tally, b *business) {
	t.Helper()
	bits := b.resendBits()
	for text, ids := range b.moIDs() {
		seen := map[string]bool{}
		for i, id := range ids {
			if id == "" {
				t.Errorf("%q arrived without an MO id (TLV 0x1400)", text)
			}
			if !seen[id] {
				seen[id] = true
				continue
			}
			c.redelivered++
			if !bits[text][i] {
				c.duplicated++
				t.Errorf("%q arrived again under MO id %s without the possible-resend bit (deliveries %v, bits %v)",
					text, id, ids, bits[text])
			}
		}
		if len(seen) > 1 {
			c.duplicated++
			t.Errorf("%q reached the business under %d MO ids: %v", text, len(seen), ids)
		}
	}
}

// moLoad injects MO texts through the simulator of `optgate run` and
// records the ones the simulator reports optgate acknowledged.
type moLoad struct {
	control *smscsim.ControlClient
	sent    atomic.Int32
	next    atomic.Int32

	mu           sync.Mutex
	acknowledged []string
}

// untilKilled runs injectors until acknowledged texts reach total, then
// kills p and waits for the injectors, which stop once the simulator dies
// with p.
func (l *moLoad) untilKilled(t *testing.T, ctx context.Context, p *process, injectors, total int) {
	t.Helper()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range injectors {
		wg.Go(func() {
			from := fmt.Sprintf("+1201555%04d", 100+w)
			for {
				select {
				case <-stop:
					return
				default:
				}
				text := fmt.Sprintf("mo %05d", l.next.Add(1))
				l.sent.Add(1)
				resp, err := l.control.Inject(ctx, smscsim.InjectRequest{From: from, To: tollFree, Text: text})
				if err != nil {
					return // the simulator died with the process
				}
				if resp.Status == smpp.StatusOK {
					l.mu.Lock()
					l.acknowledged = append(l.acknowledged, text)
					l.mu.Unlock()
				}
			}
		})
	}
	waitFor(t, fmt.Sprintf("%d acknowledged MOs", total), func() bool {
		return len(l.acknowledgedTexts()) >= total
	})
	p.kill()
	close(stop)
	wg.Wait()
}

func (l *moLoad) acknowledgedTexts() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acknowledged...)
}

func httpReady(base string) bool {
	client := &http.Client{Timeout: time.Second}
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// build is the optgate binary the tests of one test process share.
var build struct {
	once sync.Once
	dir  string
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

// buildOptgate builds ./cmd/optgate once per test process and returns
// the binary's path.
func buildOptgate(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		root, err := filepath.Abs(filepath.Join("..", ".."))
		if err != nil {
			build.err = err
			return
		}
		if build.dir, build.err = os.MkdirTemp("", "optgate-faults-"); build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "optgate")
		cmd := exec.Command("go", "build", "-o", build.bin, "./cmd/optgate")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build ./cmd/optgate (the go command must be on PATH): %w\n%s", err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}
