package config

import "time"

// authDelays checks the waits and lockouts that slow down password and
// token guessing on the SMPP, HTTP and SIP listeners.
func (v *validator) authDelays(l *Listeners) {
	s := &l.SMPP
	// The SMPP delay cannot be turned off, unlike the HTTP one: a bind
	// password has at most 8 characters (SMPP 3.4 section 4.1.1), so it
	// is far easier to guess than an API token.
	if s.FailedBindDelay <= 0 {
		v.errorf("listeners.smpp.failed_bind_delay", "must be a positive duration, such as 250ms; "+
			"the SMPP bind delay cannot be turned off, because bind passwords have at most 8 characters")
	}
	v.atLeast("listeners.smpp.max_failed_bind_delay", s.MaxFailedBindDelay,
		"failed_bind_delay", s.FailedBindDelay)
	// A bind held back past bind_timeout would be closed unanswered, so
	// every bind from the address, the right one too, would fail until
	// failed_bind_memory ran out.
	if s.BindTimeout > 0 && s.MaxFailedBindDelay >= s.BindTimeout {
		v.errorf("listeners.smpp.max_failed_bind_delay", "is %s, not below listeners.smpp.bind_timeout %s; "+
			"a held-back bind must still be answered before bind_timeout closes the connection",
			s.MaxFailedBindDelay, s.BindTimeout)
	}
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
	if p.MaxDigestLockout > maxDigestLockoutLimit {
		v.errorf("listeners.sip.max_digest_lockout", "must be at most %s, got %s, because a longer lockout "+
			"keeps a PBX with a mistyped password out too long", maxDigestLockoutLimit, p.MaxDigestLockout)
	}
}

// maxDigestLockoutLimit is the longest listeners.sip.max_digest_lockout
// accepted. Failures are counted per source address, so a lockout also
// stops the legitimate PBX at that address until it ends.
const maxDigestLockoutLimit = time.Hour

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
