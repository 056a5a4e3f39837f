package gateway

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
)

// Bounds of the retries of an id mapping write after the carrier accepted
// the message. The window covers a Sentinel failover, which takes a few
// seconds with the sentinels' usual down-after-milliseconds.
const (
	recordRetryWindow = 5 * time.Second
	recordRetryFirst  = 100 * time.Millisecond
	recordRetryMax    = time.Second
)

// recordSent writes the id mapping of a message the carrier accepted and
// returns the items and late receipt count of Store.PutMessage. The
// message is sent whatever the store does, so a failed write must not
// give the business a status that invites a resend:
//   - a temporary store failure (StoreTemporary) is retried for up to
//     recordRetryWindow, and
//   - a write that the master made but too few replicas confirmed
//     (ErrNotReplicated) counts as written, with a warning, because a
//     failover now would lose the mapping and with it the message's
//     receipts, but no text.
//
// Any other error, or one that outlasts the window, is returned.
func (s *MTService) recordSent(ctx context.Context, rec MessageRecord) ([]Item, int, error) {
	ctx = context.WithoutCancel(ctx)
	deadline := time.Now().Add(recordRetryWindow)
	wait := recordRetryFirst
	for {
		items, late, err := s.cfg.Store.PutMessage(ctx, rec, s.matchFunc())
		switch {
		case err == nil:
			return items, late, nil
		case errors.Is(err, ErrNotReplicated):
			s.log.Warn("id mapping of a sent message not confirmed by enough redis replicas; "+
				"a failover now would lose its receipts",
				zap.String("message_id", rec.ID),
				zap.String("carrier", rec.Carrier),
				zap.Error(err))
			// The queued items, if any, are found by the queue poll.
			return nil, 0, nil
		case !StoreTemporary(err) || time.Now().Add(wait).After(deadline):
			return nil, 0, err
		}
		time.Sleep(wait)
		wait = min(2*wait, recordRetryMax)
	}
}
