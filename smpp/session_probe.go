package smpp

import (
	"errors"
	"fmt"
)

// probeLink checks the link after a request got no response: it sends an
// enquire_link at once instead of at the next interval, and closes the
// session as dead (ErrLinkDead) when that gets no response either (SMPP
// 3.4 section 4.11). The close fails the other requests still waiting for
// a response, so that they do not each wait out their own timeout on a
// silent connection, and the client binds again. The probe waits the
// enquire_link timeout, but at most half the response timeout, so that a
// request written behind the one that timed out is failed before its own
// response timeout ends. One probe runs at a time, and it ends when the
// session closes. A session that is unbinding is closing anyway, so it
// gets no probe.
func (s *session) probeLink() {
	if !s.State().Bound() {
		return
	}
	timeout := s.cfg.enquireTimeout
	if half := s.cfg.responseTimeout / 2; half > 0 && half < timeout {
		timeout = half
	}
	if timeout <= 0 || !s.probing.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer s.probing.Store(false)
		_, err := s.request(s.ctx, new(EnquireLink), timeout, false)
		if errors.Is(err, ErrResponseTimeout) {
			s.close(fmt.Errorf("%w within %v after a request timed out", ErrLinkDead, timeout))
		}
	}()
}
