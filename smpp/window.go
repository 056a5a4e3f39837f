package smpp

import (
	"context"
	"time"
)

// window is a set of slots that bounds how many requests a session has in
// flight at once. Outgoing requests take a slot until their response
// arrives or times out. Incoming requests take one while the caller's
// handler runs.
type window struct {
	slots chan struct{}
}

func newWindow(size int) *window {
	return &window{slots: make(chan struct{}, size)}
}

// acquire takes a slot, waiting until one frees, ctx ends or done is
// closed.
func (w *window) acquire(ctx context.Context, done <-chan struct{}) error {
	select {
	case w.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case w.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-done:
		return errSessionDone
	}
}

// tryAcquire takes a slot if one is free.
func (w *window) tryAcquire() bool {
	select {
	case w.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (w *window) release() { <-w.slots }

// inUse returns the number of slots taken.
func (w *window) inUse() int { return len(w.slots) }

// size returns the number of slots.
func (w *window) size() int { return cap(w.slots) }

// drain takes every slot, which waits until all current holders have
// released theirs, and keeps them so that nothing new starts. It stops
// early when ctx ends, the deadline passes or done is closed, and returns
// the number of slots it took. A zero deadline means no deadline.
func (w *window) drain(ctx context.Context, deadline time.Time, done <-chan struct{}) int {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		expired = t.C
	}
	for taken := range cap(w.slots) {
		// A free slot is taken even when ctx has ended, so that the count
		// covers only the holders that are really still busy.
		select {
		case w.slots <- struct{}{}:
			continue
		default:
		}
		select {
		case w.slots <- struct{}{}:
		case <-ctx.Done():
			return taken
		case <-expired:
			return taken
		case <-done:
			return taken
		}
	}
	return cap(w.slots)
}
