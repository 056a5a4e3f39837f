package daemontest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// closeTimeout bounds the unbind that a test's cleanup sends for a client
// that Bind returned.
const closeTimeout = 5 * time.Second

// Bind binds an ESME with cfg and closes the client when the test ends.
// The bind waits at most timeout. A bind that the server rejects returns
// at once, with an error that errors.As finds as an *smpp.StatusError,
// rather than after the timeout. Bind calls any BindStateChanged hook in
// cfg as well.
func Bind(t testing.TB, ctx context.Context, cfg smpp.ClientConfig, timeout time.Duration) (*smpp.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hook := cfg.Hooks.BindStateChanged
	cfg.Hooks.BindStateChanged = func(systemID string, state smpp.SessionState, err error) {
		if hook != nil {
			hook(systemID, state, err)
		}
		// The client reports a rejected bind first as the session's close
		// with an error wrapping the status, then with the error Dial
		// returns. A plain close is smpp.ErrClosed and ends nothing.
		var st *smpp.StatusError
		if state == smpp.SessionClosed && errors.As(err, &st) && !errors.Is(err, smpp.ErrClosed) {
			cancel()
		}
	}
	c, err := smpp.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c, nil
}
