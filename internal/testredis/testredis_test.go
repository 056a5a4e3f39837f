package testredis

import (
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
