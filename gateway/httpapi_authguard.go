package gateway

import (
	"net"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// failedAuthMemory is how long a failed API authentication slows the
// requests from its address.
const failedAuthMemory = 10 * time.Minute

// newAuthGuard returns the guard that slows requests after failed
// authentications, or nil when cfg.FailedAuthDelay is 0.
func newAuthGuard(cfg HTTPAPIConfig) *bindGuard {
	if cfg.FailedAuthDelay <= 0 {
		return nil
	}
	return newBindGuard(cfg.FailedAuthDelay, max(cfg.MaxFailedAuthDelay, cfg.FailedAuthDelay), failedAuthMemory, time.Now)
}

// authenticateSlowed authenticates r for rule so that guessing tokens
// costs time per guess. A request from an address with recent failures
// waits before its check, and a failed check waits again before its
// answer, for the wait that failure earned. The second wait is what slows
// a burst of guesses sent at once: they all start before any of them
// failed, but each answer comes after the waits of the failures before
// it. A success clears the address's failures.
//
// TODO: the checks of a burst still run in parallel, so a right token in
// a burst is answered without waiting; serialising the checks of one
// address would close that.
func (a *HTTPAPI) authenticateSlowed(r *http.Request, rule access) (caller, *apiError) {
	if a.authGuard == nil {
		return a.authenticate(r, rule)
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	// A client that gives up during a wait gets no response anyway.
	if wait := a.authGuard.delay(host); wait > 0 {
		sleepContext(r.Context(), wait)
	}
	c, apiErr := a.authenticate(r, rule)
	switch {
	case apiErr == nil:
		a.authGuard.succeeded(host)
	case apiErr.Code == codeUnauthorized:
		a.authGuard.failed(host)
		wait := a.authGuard.delay(host)
		if ce := a.log.Check(zap.DebugLevel, "api authentication failed"); ce != nil {
			ce.Write(zap.String("remote_host", host), zap.Duration("wait", wait))
		}
		sleepContext(r.Context(), wait)
	}
	return c, apiErr
}
