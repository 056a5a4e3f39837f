package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// target is a line server that replies "echo: <line>" to each line and
// records it. At end of input it writes "bye" and closes.
type target struct {
	l     net.Listener
	mu    sync.Mutex
	lines []string
	wg    sync.WaitGroup
}

func startTarget(t *testing.T) *target {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{l: l}
	tg.wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			tg.wg.Go(func() { tg.serve(c) })
		}
	})
	t.Cleanup(func() {
		_ = l.Close()
		tg.wg.Wait()
	})
	return tg
}

func (tg *target) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewScanner(c)
	for r.Scan() {
		tg.mu.Lock()
		tg.lines = append(tg.lines, r.Text())
		tg.mu.Unlock()
		if _, err := io.WriteString(c, "echo: "+r.Text()+"\n"); err != nil {
			return
		}
	}
	_, _ = io.WriteString(c, "bye\n")
}

func (tg *target) received() []string {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]string(nil), tg.lines...)
}

func startProxy(t *testing.T, tg *target) *Proxy {
	t.Helper()
	p, err := Start(tg.l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// client is one connection through the proxy.
type client struct {
	t *testing.T
	c *net.TCPConn
	r *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c.(*net.TCPConn), r: bufio.NewReader(c)}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := io.WriteString(c.c, line+"\n"); err != nil {
		c.t.Fatalf("write %q: %v", line, err)
	}
}

// read returns the next line, or the read error within wait.
func (c *client) read(wait time.Duration) (string, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(wait))
	line, err := c.r.ReadString('\n')
	return strings.TrimSuffix(line, "\n"), err
}

func (c *client) expect(want string) {
	c.t.Helper()
	got, err := c.read(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read, want %q: %v", want, err)
	}
	if got != want {
		c.t.Fatalf("read %q, want %q", got, want)
	}
}

func TestStartRejectsOtherHosts(t *testing.T) {
	for _, target := range []string{"10.0.0.1:6379", "169.254.169.254:80", "example.com:80", "localhost:6379", "127.0.0.1"} {
		if p, err := Start(target); err == nil {
			_ = p.Close()
			t.Errorf("Start(%q) succeeded, want an error", target)
		}
	}
}

func TestProxyForwardsBothWays(t *testing.T) {
	p := startProxy(t, startTarget(t))
	c := dial(t, p)
	c.send("hello")
	c.expect("echo: hello")
	if n := p.Open(); n != 1 {
		t.Errorf("Open() = %d, want 1", n)
	}
}

func TestProxyDelayAddsLatency(t *testing.T) {
	const delay = 150 * time.Millisecond
	p := startProxy(t, startTarget(t))
	c := dial(t, p)
	p.SetDelay(Downstream, delay)
	begin := time.Now()
	c.send("slow")
	c.expect("echo: slow")
	if took := time.Since(begin); took < delay {
		t.Errorf("the reply took %v, want at least the %v delay", took, delay)
	}
	p.Resume()
	c.send("fast")
	c.expect("echo: fast")
}

func TestProxyDropKeepsConnection(t *testing.T) {
	tg := startTarget(t)
	p := startProxy(t, tg)
	c := dial(t, p)
	p.Drop(Upstream)
	c.send("lost")
	if line, err := c.read(200 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the drop returned %q, %v; want a timeout", line, err)
	}
	p.Resume()
	c.send("kept")
	c.expect("echo: kept")
	if got := tg.received(); len(got) != 1 || got[0] != "kept" {
		t.Errorf("target received %q, want only \"kept\"", got)
	}
}

func TestProxyDropDownstream(t *testing.T) {
	tg := startTarget(t)
	p := startProxy(t, tg)
	c := dial(t, p)
	p.Drop(Downstream)
	c.send("one")
	if line, err := c.read(200 * time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read during the drop returned %q, %v; want a timeout", line, err)
	}
	if got := tg.received(); len(got) != 1 || got[0] != "one" {
		t.Errorf("target received %q, want \"one\" despite the downstream drop", got)
	}
}

func TestProxyHalfCloseUpstream(t *testing.T) {
	p := startProxy(t, startTarget(t))
	c := dial(t, p)
	c.send("first")
	c.expect("echo: first")
	if n := p.HalfClose(Upstream); n != 1 {
		t.Fatalf("HalfClose half-closed %d connections, want 1", n)
	}
	// The target reads end of input but can still write.
	c.expect("bye")
	if line, err := c.read(5 * time.Second); err != io.EOF {
		t.Errorf("after bye: read %q, %v; want EOF", line, err)
	}
}

func TestProxyHalfCloseDownstream(t *testing.T) {
	tg := startTarget(t)
	p := startProxy(t, tg)
	c := dial(t, p)
	c.send("first")
	c.expect("echo: first")
	if n := p.HalfClose(Downstream); n != 1 {
		t.Fatalf("HalfClose half-closed %d connections, want 1", n)
	}
	if line, err := c.read(5 * time.Second); err != io.EOF {
		t.Fatalf("read %q, %v; want EOF", line, err)
	}
	c.send("still sent")
	waitFor(t, "the target to read the line", func() bool { return len(tg.received()) == 2 })
}

func TestProxyResetSendsRST(t *testing.T) {
	p := startProxy(t, startTarget(t))
	c := dial(t, p)
	c.send("first")
	c.expect("echo: first")
	if n := p.Reset(); n != 1 {
		t.Fatalf("Reset reset %d connections, want 1", n)
	}
	if line, err := c.read(5 * time.Second); !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("read after Reset returned %q, %v; want ECONNRESET", line, err)
	}
	waitFor(t, "the connection to be forgotten", func() bool { return p.Open() == 0 })
}

func TestProxyRejectThenResume(t *testing.T) {
	p := startProxy(t, startTarget(t))
	open := dial(t, p)
	open.send("before")
	open.expect("echo: before")
	p.Reject()
	expectRejected(t, p)
	open.send("old connection")
	open.expect("echo: old connection")
	p.Resume()
	c := dial(t, p)
	c.send("new")
	c.expect("echo: new")
	if n := p.Accepted(); n != 2 {
		t.Errorf("Accepted() = %d, want 2 (the rejected one not counted)", n)
	}
}

func TestProxyTargetDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	p, err := Start(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	expectRejected(t, p)
}

func TestCloseTwice(t *testing.T) {
	p, err := Start(startTarget(t).l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	dial(t, p).send("x")
	if err := p.Close(); err != nil {
		t.Errorf("first Close: %v", err)
	}
	if err := p.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v, want ErrClosed", err)
	}
}

// expectRejected connects through p and fails the test unless the
// connection is reset or closed without data.
func expectRejected(t *testing.T, p *Proxy) {
	t.Helper()
	conn, err := net.Dial("tcp", p.Addr())
	if err != nil {
		return // the reset reached the connect already
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read on a connection the proxy should reject returned %d bytes, %v; want a reset or EOF", n, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
