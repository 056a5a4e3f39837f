package gateway

import (
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

// TestHeldBackBindStillAnswered checks that a failed-bind wait longer than
// the bind timeout is cut short, so that the right password is still
// answered after failures instead of the connection closing unanswered.
func TestHeldBackBindStillAnswered(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{
		config: func(c *config.Config) {
			c.Listeners.SMPP.BindTimeout = 600 * time.Millisecond
			c.Listeners.SMPP.MaxFailedBindDelay = 500 * time.Millisecond
		},
		// Configuration validation refuses waits this long; the daemon
		// must cope with them anyway.
		options: func(o *DaemonOptions) {
			o.ESME.FailedBindDelay = 2 * time.Second
			o.ESME.MaxFailedBindDelay = 4 * time.Second
		},
	})
	for i, password := range []string{"wrong1", "wrong2", "wrong3"} {
		if got := rawBind(t, f.rawDialFrom("127.0.0.1"), "acme01", password); got != smpp.StatusInvalidPassword {
			t.Fatalf("wrong bind %d: %v, want ESME_RINVPASWD", i+1, got)
		}
	}
	if got := rawBind(t, f.rawDialFrom("127.0.0.1"), "acme01", "secret1"); got != smpp.StatusOK {
		t.Fatalf("right bind after failures: %v, want ESME_ROK", got)
	}
}

func TestHeldBackWait(t *testing.T) {
	tests := []struct {
		d, bindTimeout, want time.Duration
	}{
		{5 * time.Second, 2 * time.Second, time.Second},
		{100 * time.Millisecond, 2 * time.Second, 100 * time.Millisecond},
		{3 * time.Second, 0, 3 * time.Second},
	}
	for _, tc := range tests {
		if got := heldBackWait(tc.d, tc.bindTimeout); got != tc.want {
			t.Errorf("heldBackWait(%v, %v) = %v, want %v", tc.d, tc.bindTimeout, got, tc.want)
		}
	}
}
