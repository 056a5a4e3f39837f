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

// authenticateSlowed authenticates r after the wait its address earned by
// failed authentications, so guessing tokens costs time per guess. Every
// request from that address waits, because a guesser sends many at once.
// A success clears the address's failures.
func (a *HTTPAPI) authenticateSlowed(r *http.Request) (caller, *apiError) {
	if a.authGuard == nil {
		return a.authenticate(r)
	}
	host := r.RemoteAddr
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		host = h
	}
	if wait := a.authGuard.delay(host); wait > 0 {
		// A client that gives up during the wait gets no response anyway.
		sleepContext(r.Context(), wait)
	}
	c, apiErr := a.authenticate(r)
	switch {
	case apiErr == nil:
		a.authGuard.succeeded(host)
	case apiErr.Code == codeUnauthorized:
		a.authGuard.failed(host)
		if ce := a.log.Check(zap.DebugLevel, "api authentication failed"); ce != nil {
			ce.Write(zap.String("remote_host", host), zap.Duration("next_wait", a.authGuard.delay(host)))
		}
	}
	return c, apiErr
}
