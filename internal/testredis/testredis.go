// Package testredis starts real redis-server processes for tests: a single
// server (Start), a Redis Cluster of masters (StartCluster) and a Sentinel
// group of one master, one replica and three sentinels (StartSentinel).
//
// Each server listens on a free loopback port, keeps nothing on disk
// unless the test's directives turn persistence on, and is killed when the
// test ends. Tests that need Redis fail, rather than skip,
// when redis-server is missing, so a machine without it cannot pass by
// accident. Install it with `apt-get install redis-server` (Debian) or run
// .ci/run, which does.
package testredis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is the host:port the server listens on, always on 127.0.0.1.
	Addr string
	t    testing.TB
	path string
	args []string
	dir  string

	mu  sync.Mutex
	cmd *exec.Cmd // nil while the server is stopped
	// exited is closed when the process of cmd has exited.
	exited chan struct{}
}

// errExited reports a redis-server that exited before it responded to
// PING, most often because another process took its port after FreePort
// picked it.
var errExited = errors.New("redis-server exited")

// startAttempts is how many times Start picks new ports for a server that
// exited at start.
const startAttempts = 3

// URL returns the redis:// URL of the server, for code that takes a URL.
func (s *Server) URL() string {
	return "redis://" + s.Addr + "/0"
}

// Start launches redis-server on a free loopback port with the extra
// configuration directives given as "name value" strings, waits until it
// responds to PING, and registers its shutdown with t.Cleanup.
func Start(t testing.TB, directives ...string) *Server {
	t.Helper()
	s, err := start(t, directives)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// start is Start returning its error. It picks a new port and starts
// again, up to startAttempts times, when the server exits at start.
func start(t testing.TB, directives []string) (*Server, error) {
	t.Helper()
	var err error
	for range startAttempts {
		var port int
		port, err = FreePort()
		if err != nil {
			return nil, fmt.Errorf("pick a free port for redis-server: %w", err)
		}
		dir := t.TempDir()
		args := []string{
			"--bind", "127.0.0.1",
			"--port", strconv.Itoa(port),
			"--dir", dir,
			"--save", "",
			"--appendonly", "no",
			"--protected-mode", "yes",
		}
		args = append(args, directiveArgs(directives)...)
		var s *Server
		if s, err = launch(t, port, dir, args); !errors.Is(err, errExited) {
			return s, err
		}
	}
	return nil, err
}

// directiveArgs turns "name value" directives into command-line arguments.
func directiveArgs(directives []string) []string {
	var args []string
	for _, d := range directives {
		name, value, _ := strings.Cut(d, " ")
		args = append(args, "--"+name)
		if value != "" {
			args = append(args, strings.Fields(value)...)
		}
	}
	return args
}

// launch starts redis-server with args, logging to dir/redis.log, and
// waits until it responds to PING on port.
func launch(t testing.TB, port int, dir string, args []string) (*Server, error) {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New("redis-server not found in PATH: install it with `apt-get install redis-server` or run .ci/run")
	}
	s := &Server{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		t:    t,
		path: path,
		args: args,
		dir:  dir,
	}
	t.Cleanup(s.Stop)
	if err := s.run(); err != nil {
		return nil, err
	}
	return s, nil
}

// run starts the process with the server's arguments and extra, and
// waits until it responds to PING.
func (s *Server) run(extra ...string) error {
	logFile, err := os.OpenFile(s.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create redis log: %w", err)
	}
	cmd := exec.Command(s.path, append(slices.Clone(s.args), extra...)...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return fmt.Errorf("start redis-server: %w", err)
	}
	// The child keeps its own copy of the descriptor.
	_ = logFile.Close()
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitForPing(ctx, s.Addr, exited); err != nil {
		s.Stop()
		log, _ := os.ReadFile(s.LogPath())
		return fmt.Errorf("redis-server on %s did not respond to PING: %w\nserver log:\n%s", s.Addr, err, log)
	}
	return nil
}

// LogPath returns the file that receives the server's log.
func (s *Server) LogPath() string {
	return filepath.Join(s.dir, "redis.log")
}

// Stop kills the server at once, as a crash would. Tests use it to check
// how callers behave when Redis disappears. Stopping a stopped server does
// nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Running reports whether the server's process runs: it was started and
// not stopped since.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Restart stops the server if it runs and starts it again with the same
// port, directory and directives, plus the extra directives for this run
// only, as a supervisor restarts a crashed server. A server started with
// --save "" and no append-only file comes back empty. Call it from the
// test's goroutine: it fails the test when the server does not come back.
func (s *Server) Restart(extra ...string) {
	s.t.Helper()
	s.Stop()
	if err := s.run(directiveArgs(extra)...); err != nil {
		s.t.Fatal(err)
	}
}

// RestartReplicaOf restarts the server as a replica of master, as an
// operator brings a failed Sentinel master back into the group. Sentinel
// would turn a restarted old master into a replica by itself, but only
// after observing it for several seconds.
func (s *Server) RestartReplicaOf(master *Server) {
	s.t.Helper()
	s.Restart("replicaof " + strings.Replace(master.Addr, ":", " ", 1))
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitForPing(ctx context.Context, addr string, exited <-chan struct{}) error {
	var lastErr error
	for {
		if err := ping(addr); err == nil {
			return nil
		} else {
			lastErr = err
		}
		select {
		case <-exited:
			return errExited
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func ping(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("unexpected reply %q", strings.TrimSpace(line))
	}
	return nil
}
