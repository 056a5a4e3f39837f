package consent

import (
	"context"
	"fmt"
	"time"
)

// Evidence is the complete consent history of one (account, number) pair,
// ready to marshal as JSON for a dispute or an audit.
type Evidence struct {
	Account string `json:"account"`
	// Number is the subscriber's number in E.164 form.
	Number string `json:"number"`
	// State is the current consent state.
	State State `json:"state"`
	// PriorState is the state that UNSTOP would restore. It is set only
	// while the number is opted out.
	PriorState State `json:"prior_state,omitzero"`
	// Requests counts the opt-in requests since the record was created or
	// last voided.
	Requests int `json:"requests"`
	// PendingReply is the confirmation of the last change while it is not
	// yet recorded as queued for sending (see EventReplyQueued).
	PendingReply Reply `json:"pending_reply,omitzero"`
	// Updated is the time of the last change.
	Updated time.Time `json:"updated,omitzero"`
	// Generated is when the evidence was read.
	Generated time.Time `json:"generated"`
	// Entries is every audit entry, oldest first. A YES entry that opted
	// the number in carries the text of the request it replied to.
	Entries []AuditEntry `json:"entries"`
}

// evidenceAttempts bounds the re-reads when the pair changes while its
// evidence is read.
const evidenceAttempts = 3

// Evidence returns the history of the pair. The number may be in any
// format NormalizeNumber reads. The account need not be configured any
// more: evidence outlives accounts.
func (e *Engine) Evidence(ctx context.Context, account, number string) (Evidence, error) {
	n, err := e.normalizeNumber(number)
	if err != nil {
		return Evidence{}, fmt.Errorf("read evidence: %w", err)
	}
	if err := ValidateKey(account, n); err != nil {
		return Evidence{}, fmt.Errorf("read evidence: %w", err)
	}
	// The record and the history are two reads. Retry until they agree, so
	// the state shown is the state after the last entry shown.
	for range evidenceAttempts {
		entries, err := e.store.History(ctx, account, n)
		if err != nil {
			return Evidence{}, fmt.Errorf("read evidence for %s: %w: %w", account, ErrStoreUnavailable, err)
		}
		rec, err := e.store.Get(ctx, account, n)
		if err != nil {
			return Evidence{}, fmt.Errorf("read evidence for %s: %w: %w", account, ErrStoreUnavailable, err)
		}
		if rec.Seq != uint32(len(entries)) {
			continue
		}
		ev := Evidence{
			Account:      account,
			Number:       n,
			State:        rec.State,
			Requests:     int(rec.Requests),
			PendingReply: rec.PendingReply,
			Updated:      rec.Updated,
			Generated:    e.now().UTC(),
			Entries:      entries,
		}
		if rec.State == StateOptedOut {
			ev.PriorState = rec.Prior
		}
		if ev.Entries == nil {
			ev.Entries = []AuditEntry{}
		}
		return ev, nil
	}
	return Evidence{}, fmt.Errorf("read evidence for %s: the record kept changing while it was read", account)
}
