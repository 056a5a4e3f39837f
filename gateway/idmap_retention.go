package gateway

import (
	"time"

	"github.com/optgate/optgate/smpp"
)

// Id map retention defaults.
const (
	// DefaultMessageTTL is how long a record waits for its final receipts.
	// An SMSC sends the final receipt at the latest when the text's
	// validity period (SMPP 3.4 section 5.2.15) ends, and 72 hours is
	// meant to cover the default validity periods that carriers apply.
	// NOTE: carriers choose their own default and maximum validity
	// periods, so a carrier that keeps texts longer needs a longer TTL.
	DefaultMessageTTL = 72 * time.Hour
	// DefaultKeepAfterFinal is how long a settled record is kept for late
	// duplicate receipts and the status lookup.
	DefaultKeepAfterFinal = time.Hour
)

// Settled reports whether the record's state can no longer change, so
// that it only serves duplicate receipts and the status lookup until it
// is deleted. That is the case when every accepted segment has a final
// receipt, and when the message was blocked and never sent. It is also
// the case when the business requested no final receipt
// (registered_delivery bits 1-0 are 00, SMPP 3.4 section 5.2.17),
// because optgate passes those bits to the carrier, which then sends none.
//
// A final state reported by the receipt policy alone does not settle a
// message of several segments, because the receipts of its other
// segments are still due. Without the record they would be kept as
// unmatched and then logged as lost. A business that requests receipts for failures
// only gets none for delivered segments, so such records stay until
// their TTL.
func (r *MessageRecord) Settled() bool {
	switch {
	case r.Blocked != "":
		return true
	case r.RegisteredDelivery&smpp.RegisteredDeliveryReceiptMask == 0:
		return true
	case len(r.Segments) == 0:
		return false
	case !r.Failed && len(r.Segments) < r.Total:
		return false
	}
	for _, seg := range r.Segments {
		if !seg.State.Final() {
			return false
		}
	}
	return true
}

// shortenSettled sets the expiry of a settled record to keepAfterFinal
// after now, unless the record already expires earlier.
func shortenSettled(r *MessageRecord, now time.Time, keepAfterFinal time.Duration) {
	if !r.Settled() {
		return
	}
	if until := now.Add(keepAfterFinal); r.Expires.IsZero() || until.Before(r.Expires) {
		r.Expires = until
	}
}
