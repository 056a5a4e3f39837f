package config

import "time"

// authDelays checks the waits and lockouts that slow down password and
// token guessing on the SMPP, HTTP and SIP listeners.
func (v *validator) authDelays(l *Listeners) {
	s := &l.SMPP
	v.positive("listeners.smpp.failed_bind_delay", s.FailedBindDelay)
	v.atLeast("listeners.smpp.max_failed_bind_delay", s.MaxFailedBindDelay,
		"failed_bind_delay", s.FailedBindDelay)
	v.positive("listeners.smpp.failed_bind_memory", s.FailedBindMemory)

	h := &l.HTTP
	if h.FailedAuthDelay < 0 {
		v.errorf("listeners.http.failed_auth_delay", "must not be negative; use 0s for no wait")
	}
	v.atLeast("listeners.http.max_failed_auth_delay", h.MaxFailedAuthDelay,
		"failed_auth_delay", h.FailedAuthDelay)

	p := &l.SIP
	if p.DigestFailuresAllowed < 0 {
		v.errorf("listeners.sip.digest_failures_allowed", "must not be negative, got %d",
			p.DigestFailuresAllowed)
	}
	v.positive("listeners.sip.digest_lockout", p.DigestLockout)
	v.atLeast("listeners.sip.max_digest_lockout", p.MaxDigestLockout, "digest_lockout", p.DigestLockout)
}

// atLeast checks that the cap d at path is not below the value first of
// the sibling key firstKey. A negative first is reported on its own key.
func (v *validator) atLeast(path string, d time.Duration, firstKey string, first time.Duration) {
	switch {
	case d < 0:
		v.errorf(path, "must not be negative")
	case first >= 0 && d < first:
		v.errorf(path, "is %s, below %s %s", d, firstKey, first)
	}
}
