package testredis

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

func TestStartAnswersPing(t *testing.T) {
	s := Start(t, "maxmemory 64mb")
	if err := ping(s.Addr); err != nil {
		t.Fatalf("ping %s: %v", s.Addr, err)
	}
	s.Stop()
	if err := ping(s.Addr); err == nil {
		t.Fatalf("ping %s succeeded after Stop", s.Addr)
	}
}

// TestStartRetriesTakenPort gives the server a port that another listener
// holds, so every attempt exits at once, and checks that start reports
// the exit rather than a PING timeout.
func TestStartRetriesTakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	takenPort := l.Addr().(*net.TCPAddr).Port
	_, err = start(t, []string{"port " + strconv.Itoa(takenPort)})
	if !errors.Is(err, errExited) {
		t.Fatalf("start on a taken port: %v, want errExited", err)
	}
}
