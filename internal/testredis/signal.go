//go:build unix

package testredis

import (
	"fmt"
	"syscall"
)

// Pause suspends the server's process with SIGSTOP, as a stalled host
// would: connections stay open, but the server sends no reply and no
// replication data until Resume. Stop and Restart also end a pause.
func (s *Server) Pause() error {
	return s.signal(syscall.SIGSTOP)
}

// Resume continues a process suspended by Pause.
func (s *Server) Resume() error {
	return s.signal(syscall.SIGCONT)
}

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return fmt.Errorf("redis-server %s is not running", s.Addr)
	}
	return s.cmd.Process.Signal(sig)
}
