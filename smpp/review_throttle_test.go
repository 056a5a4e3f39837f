package smpp

import (
	"context"
	"testing"
	"time"
)

func TestThrottleBurstPausesOnce(t *testing.T) {
	const first = 100 * time.Millisecond
	th := newThrottle(0, 0, first, 30*time.Second)
	// A window of eight requests sent before the SMSC started throttling
	// all come back ESME_RTHROTTLED at once: that is one throttling
	// event, not eight in a row.
	for i := range 8 {
		if pause := th.throttled(); pause > first {
			t.Fatalf("throttled response %d set a pause of %v, want at most %v", i+1, pause, first)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := th.wait(ctx); err != nil {
		t.Fatalf("wait after one burst: %v", err)
	}
	// The first throttling response after the pause counts as the next one
	// in a row and doubles the pause.
	if pause := th.throttled(); pause != 2*first {
		t.Errorf("pause after the burst = %v, want %v", pause, 2*first)
	}
}
