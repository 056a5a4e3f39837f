// Package sipptest runs sipp scenarios against an optgate SIP listener in
// tests. It fails a test with sipp's error log and output when a scenario
// does not pass.
package sipptest

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
)

// Run is one run of a sipp scenario.
type Run struct {
	// Dir is the directory of the scenario file.
	Dir string
	// Scenario is the scenario's file name in Dir.
	Scenario string
	// Keys are passed with -key.
	Keys map[string]string
	// Files are written to sipp's working directory first.
	Files map[string][]byte
	// Args are more sipp options.
	Args []string
}

// Path returns the sipp binary, failing the test with the install step
// when it is missing.
func Path(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		t.Fatal("sipp is not installed; install it with `apt-get install sipp` (Debian) and run the test again")
	}
	return bin
}

// RunUDP runs one call of a scenario against addr over UDP, from a copy in
// a temporary directory so that sipp's logs stay out of the repository.
// It fails the test with sipp's error log and output unless sipp exits
// with 0 within 45 seconds.
func RunUDP(t testing.TB, addr string, run Run) {
	t.Helper()
	bin := Path(t)
	dir := t.TempDir()
	path := CopyScenario(t, dir, filepath.Join(run.Dir, run.Scenario))
	for name, data := range run.Files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{addr, "-sf", path, "-m", "1", "-l", "1", "-t", "u1", "-i", "127.0.0.1",
		"-p", strconv.Itoa(freeUDPPort(t)), "-mp", strconv.Itoa(freeUDPPort(t)),
		"-timeout", "30s", "-timeout_error", "-nostdin", "-trace_err"}
	for k, v := range run.Keys {
		args = append(args, "-key", k, v)
	}
	args = append(args, run.Args...)

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sipp %s: %v\nerror log:\n%s\noutput (last 3000 bytes):\n%s", run.Scenario, err,
			ErrorLogs(dir), Tail(out, 3000))
	}
}

// CopyScenario copies the scenario file src into dir and returns the
// copy's path.
func CopyScenario(t testing.TB, dir, src string) string {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ErrorLogs returns the contents of sipp's error logs in dir.
func ErrorLogs(dir string) []byte {
	logs, _ := filepath.Glob(filepath.Join(dir, "*errors.log"))
	var out []byte
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		out = append(out, b...)
	}
	return out
}

// Tail returns the last n bytes of b, or all of b when it is shorter.
func Tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// RTPCounter is a loopback UDP socket that counts the packets sent to
// it, such as the RTP media a call plays to the port in sipp's SDP offer.
type RTPCounter struct {
	conn    net.PacketConn
	packets atomic.Int64
}

// ListenRTP opens an RTPCounter on a free loopback port. A test cleanup
// closes it.
func ListenRTP(t testing.TB) *RTPCounter {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen for RTP: %v", err)
	}
	c := &RTPCounter{conn: conn}
	t.Cleanup(func() { _ = conn.Close() })
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := conn.ReadFrom(buf); err != nil {
				return
			}
			c.packets.Add(1)
		}
	}()
	return c
}

// Port returns the counter's UDP port.
func (c *RTPCounter) Port() int { return c.conn.LocalAddr().(*net.UDPAddr).Port }

// Packets returns the number of packets received so far.
func (c *RTPCounter) Packets() int64 { return c.packets.Load() }

// freeUDPPort returns a loopback UDP port that was free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free UDP port: %v", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
