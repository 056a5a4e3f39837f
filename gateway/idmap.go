package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/optgate/optgate/smpp"
)

// ErrNotFound is returned when the id map holds no entry for an id.
var ErrNotFound = errors.New("gateway: not found")

// ErrStoreClosed is returned by a Store used after Close.
var ErrStoreClosed = errors.New("gateway: store closed")

// MessageRecord maps one optgate message id to the carrier ids of its
// segments, with what receipt handling needs to know about the message.
type MessageRecord struct {
	// ID is optgate's message id.
	ID      string `json:"id"`
	Account string `json:"account"`
	Carrier string `json:"carrier"`
	// From is the toll-free sender and To the subscriber, in E.164 form.
	From string `json:"from"`
	To   string `json:"to"`
	// RegisteredDelivery is the business's registered_delivery value
	// (SMPP 3.4 section 5.2.17); its low two bits select the receipts the
	// business wants.
	RegisteredDelivery uint8         `json:"registered_delivery"`
	Policy             ReceiptPolicy `json:"policy"`
	// ClientRef is the business's reference, returned with receipts.
	ClientRef string `json:"client_ref,omitempty"`
	// Segments lists the segments the carrier accepted, in order.
	Segments []SegmentRecord `json:"segments"`
	// Total is the number of segments of the message. It exceeds
	// len(Segments) when the submit stopped part way.
	Total int `json:"total"`
	// Failed marks a message whose submit failed part way. The business
	// got an error rather than an id, so its receipts are matched and
	// dropped.
	Failed bool `json:"failed,omitempty"`
	// Reported is set once the policy reported a final state.
	Reported bool `json:"reported,omitempty"`
	// Blocked is the consent block of a message that was never sent, for
	// an account that gets blocks as REJECTD receipts. Such a record has
	// no carrier and no segments.
	Blocked   Code      `json:"blocked,omitempty"`
	Submitted time.Time `json:"submitted"`
	// Expires is when the entry may be deleted.
	Expires time.Time `json:"expires"`
}

// SegmentRecord is one accepted segment of a message.
type SegmentRecord struct {
	// CarrierID is the message_id of the carrier's submit_sm_resp, as sent.
	CarrierID string `json:"carrier_id"`
	// Keys are the id map keys of CarrierID (see IDFormat).
	Keys []string `json:"keys"`
	// State is the state of the latest receipt for the segment, or 0.
	State smpp.MessageState `json:"state,omitempty"`
	// Receipt is the latest receipt for the segment. It is kept so that
	// ReceiptWorst can report it later.
	Receipt *CarrierReceipt `json:"receipt,omitempty"`
}

// CarrierReceipt is a delivery receipt from a carrier, parsed.
type CarrierReceipt struct {
	Carrier string `json:"carrier"`
	// ID is the carrier's message id as the receipt gives it.
	ID    string            `json:"id"`
	State smpp.MessageState `json:"state"`
	// Stat is the receipt's stat text, such as "DELIVRD".
	Stat string `json:"stat,omitempty"`
	// Err is the receipt's err field, such as "000".
	Err string `json:"err,omitempty"`
	// NetworkError is the network_error_code TLV, if sent.
	NetworkError *smpp.NetworkErrorCode `json:"network_error,omitempty"`
	SubmitDate   time.Time              `json:"submit_date,omitzero"`
	DoneDate     time.Time              `json:"done_date,omitzero"`
	Received     time.Time              `json:"received"`
}

// ReceiptFunc applies one receipt to the record of the message it belongs
// to, segment being the index in rec.Segments, and returns the items to
// queue for the business. It runs inside the store's atomic step and may
// change rec, which the store then writes back. It must not block.
type ReceiptFunc func(rec *MessageRecord, segment int, r CarrierReceipt) []Item

// IDMap maps optgate's message ids to carrier ids and keeps receipts that
// arrive before their mapping. Implementations must be safe for concurrent
// use, and every method must make its change durable before it returns.
type IDMap interface {
	// PutMessage stores rec and indexes every segment's keys under
	// rec.Carrier, which may be empty only when rec has no segments. In
	// the same atomic step it removes the unmatched receipts kept for
	// those keys and applies them through match, when match is not nil.
	// It queues and returns the items match returns, with the number of
	// kept receipts it removed.
	PutMessage(ctx context.Context, rec MessageRecord, match ReceiptFunc) ([]Item, int, error)

	// Message returns the record of an optgate id, or ErrNotFound.
	Message(ctx context.Context, id string) (MessageRecord, error)

	// ApplyReceipt looks r up under keys, in order, within r.Carrier. When
	// a key matches, it runs fn, stores the record and queues the items fn
	// returns, in one atomic step, and returns those items. When no key
	// matches, it keeps r as unmatched under keys until keepUntil and
	// returns ErrNotFound.
	ApplyReceipt(ctx context.Context, keys []string, r CarrierReceipt, keepUntil time.Time, fn ReceiptFunc) ([]Item, error)
}
