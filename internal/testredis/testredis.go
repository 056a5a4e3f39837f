// Package testredis starts a real redis-server for tests that need one.
//
// Each server listens on a free loopback port, keeps nothing on disk and is
// stopped when the test ends. Tests that need Redis fail, rather than skip,
// when redis-server is missing, so a machine without it cannot pass by
// accident. Install it with `apt-get install redis-server` (Debian) or run
// .ci/run, which does.
package testredis

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is the host:port the server listens on, always on 127.0.0.1.
	Addr string
	cmd  *exec.Cmd
}

// URL returns the redis:// URL of the server, for code that takes a URL.
func (s *Server) URL() string {
	return "redis://" + s.Addr + "/0"
}

// Start launches redis-server on a free loopback port with the extra
// configuration directives given as "name value" strings, waits until it
// responds to PING, and registers its shutdown with t.Cleanup.
func Start(t testing.TB, directives ...string) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found in PATH: install it with `apt-get install redis-server` or run .ci/run")
	}

	port, err := FreePort()
	if err != nil {
		t.Fatalf("pick a free port for redis-server: %v", err)
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
	for _, d := range directives {
		name, value, _ := strings.Cut(d, " ")
		args = append(args, "--"+name)
		if value != "" {
			args = append(args, strings.Fields(value)...)
		}
	}

	cmd := exec.Command(path, args...)
	logFile, err := os.Create(dir + "/redis.log")
	if err != nil {
		t.Fatalf("create redis log: %v", err)
	}
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	s := &Server{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), cmd: cmd}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = logFile.Close()
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := waitForPing(ctx, s.Addr); err != nil {
		log, _ := os.ReadFile(dir + "/redis.log")
		t.Fatalf("redis-server on %s did not respond to PING: %v\nserver log:\n%s", s.Addr, err, log)
	}
	return s
}

// Stop kills the server at once, as a crash would. Tests use it to check
// how callers behave when Redis disappears.
func (s *Server) Stop() {
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
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

func waitForPing(ctx context.Context, addr string) error {
	var lastErr error
	for {
		if err := ping(addr); err == nil {
			return nil
		} else {
			lastErr = err
		}
		select {
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
