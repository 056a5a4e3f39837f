package sip

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago/audio"

	"github.com/optgate/optgate/consent"
)

// scenarioDir holds the sipp scenarios, relative to this package.
const scenarioDir = "../test/sip"

// sippRun is one run of a sipp scenario.
type sippRun struct {
	scenario string
	// keys are passed with -key.
	keys map[string]string
	// files are written to the working directory first.
	files map[string][]byte
	// args are more sipp options.
	args []string
}

// runSipp runs one call of a sipp scenario against addr over UDP, from a
// copy in a temporary directory so that sipp's logs stay out of the
// repository. It fails the test with sipp's output and error log unless
// sipp exits with 0.
func runSipp(t *testing.T, addr string, run sippRun) {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatalf("sipp is not installed; install it with `apt-get install sipp` (Debian) and run the test again")
	}
	src, err := os.ReadFile(filepath.Join(scenarioDir, run.scenario))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, run.scenario)
	if err := os.WriteFile(path, src, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, data := range run.files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	args := []string{addr, "-sf", path, "-m", "1", "-l", "1", "-t", "u1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freePort(t, "udp")), "-mp", strconv.Itoa(freePort(t, "udp")),
		"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err"}
	for k, v := range run.keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, run.args...)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}

	logs, _ := filepath.Glob(filepath.Join(dir, "*errors.log"))
	var errLog []byte
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		errLog = append(errLog, b...)
	}
	t.Fatalf("sipp %s: %v\nerror log:\n%s\noutput (last 3000 bytes):\n%s", run.scenario, err, errLog,
		tail(out, 3000))
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// freePort returns a loopback port of network that was free a moment ago.
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func TestSippMessageAllowed(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	runSipp(t, f.addr("udp"), sippRun{scenario: "message_allowed.xml",
		keys: map[string]string{"from": tfReady, "to": customer}})
	// sipp ends a body with the line break of the scenario's last line,
	// and optgate sends the text as written.
	if got := f.waitMessages(1)[0].Text; got != "Your cleaning is on Friday at 3pm.\r\n" {
		t.Errorf("carrier text = %q", got)
	}
}

func TestSippMessageBlocked(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	runSipp(t, f.addr("udp"), sippRun{scenario: "message_blocked.xml",
		keys: map[string]string{"from": tfReady, "to": customer2}})
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("simulator got %d messages, want 0", n)
	}
}

func TestSippDigestChallengeAndRetry(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.setState("beta", customer, consent.StateOptedIn)
	runSipp(t, f.addr("udp"), sippRun{scenario: "message_digest.xml",
		keys: map[string]string{"from": tfBeta, "to": customer},
		args: []string{"-au", betaUser, "-ap", betaPassword}})
	if got := f.waitMessages(1)[0].Source; got != "18005550100" {
		t.Errorf("carrier source = %q, want beta's number", got)
	}
}

func TestSippCallLeavesVoicemail(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// The greeting goes to this socket, named in sipp's SDP offer.
	rtp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rtp.Close()

	var packets atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := rtp.ReadFrom(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()

	runSipp(t, f.addr("udp"), sippRun{scenario: "call_voicemail.xml",
		keys: map[string]string{"from": customer, "to": tfReady,
			"rtp_port": strconv.Itoa(rtp.LocalAddr().(*net.UDPAddr).Port)},
		files: map[string][]byte{"voice.ulaw": uLawTone(t, 2500*time.Millisecond)},
	})
	// 200 ms of greeting and the 500 ms beep are 35 packets of 20 ms.
	if n := packets.Load(); n < 30 {
		t.Errorf("got %d RTP packets of greeting and beep, want at least 30", n)
	}

	var vms []Voicemail
	waitFor(t, "the voicemail", func() bool {
		vms, err = f.voicemails.List(f.ctx, "acme")
		return err == nil && len(vms) == 1
	})
	if vms[0].From != customer || vms[0].To != tfReady {
		t.Errorf("voicemail from %s to %s, want %s to %s", vms[0].From, vms[0].To, customer, tfReady)
	}
	// The caller speaks for 2.5 s from the answer; the 200 ms greeting
	// and the 500 ms beep come first, so about 1.8 s is recorded.
	if d := vms[0].Duration; d < 1200*time.Millisecond || d > 2400*time.Millisecond {
		t.Errorf("voicemail length = %v, want about 1.8 s", d)
	}
}

// uLawTone returns raw G.711 µ-law audio of a 440 Hz tone, the format
// sipp's rtp_stream plays.
func uLawTone(t testing.TB, length time.Duration) []byte {
	t.Helper()
	pcm := tonePCM(length, 440, 8000)
	ulaw := make([]byte, len(pcm)/2)
	if _, err := audio.EncodeUlawTo(ulaw, pcm); err != nil {
		t.Fatal(err)
	}
	return ulaw
}
