package smpp

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Throttled reports whether err is a response from the peer with
// ESME_RTHROTTLED (0x58) or ESME_RMSGQFUL (0x14). Both mean the peer is
// temporarily overloaded, so the same request may be sent again later. A
// Client pauses the whole bind when it receives either.
func Throttled(err error) bool {
	var se *StatusError
	if !errors.As(err, &se) {
		return false
	}
	return isThrottleStatus(se.Status)
}

func isThrottleStatus(s CommandStatus) bool {
	return s == StatusThrottled || s == StatusMsgQueueFull
}

// throttle paces the requests of one bind. A token bucket enforces the
// configured rate, and a throttling response from the peer pauses every
// request for a back-off period that doubles with each throttling response
// in a row, up to a cap, and resets after a successful response.
type throttle struct {
	limiter *rate.Limiter // nil means no rate limit

	mu          sync.Mutex
	pausedUntil time.Time
	step        time.Duration // the next pause
	minStep     time.Duration
	maxStep     time.Duration
}

// newThrottle returns a throttle allowing perSecond requests a second with
// bursts of burst, or no limit when perSecond is 0 or less.
func newThrottle(perSecond float64, burst int, minPause, maxPause time.Duration) *throttle {
	t := &throttle{step: minPause, minStep: minPause, maxStep: maxPause}
	if perSecond > 0 {
		t.limiter = rate.NewLimiter(rate.Limit(perSecond), max(burst, 1))
	}
	return t
}

// wait blocks until a request may be sent: until any pause has passed and
// the token bucket has a token.
func (t *throttle) wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		d := time.Until(t.pausedUntil)
		t.mu.Unlock()
		if d <= 0 {
			break
		}
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
	if t.limiter == nil {
		return nil
	}
	return t.limiter.Wait(ctx)
}

// throttled starts a pause after a throttling response and returns its
// length. A throttling response that arrives during a pause belongs to a
// request sent before the pause began, so it neither doubles nor extends
// the pause, and the remaining pause is returned. Otherwise a full window
// throttled at once would double the pause once per request.
func (t *throttle) throttled() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if now.Before(t.pausedUntil) {
		return t.pausedUntil.Sub(now)
	}
	pause := t.step
	t.step = min(2*t.step, t.maxStep)
	t.pausedUntil = now.Add(pause)
	return pause
}

// succeeded resets the pause length after a response that was not
// throttled.
func (t *throttle) succeeded() {
	t.mu.Lock()
	t.step = t.minStep
	t.mu.Unlock()
}
