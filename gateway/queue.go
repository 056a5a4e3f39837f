package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/optgate/optgate/smpp"
)

// ItemKind is the kind of content a queued item carries.
type ItemKind uint8

// Item kinds.
const (
	KindMO      ItemKind = iota + 1 // a subscriber's text for the business
	KindReceipt                     // a delivery receipt for the business
	KindReply                       // the consent engine's reply, sent to a subscriber
)

var itemKindNames = [...]string{"", "mo", "receipt", "reply"}

// String returns "mo", "receipt" or "reply".
func (k ItemKind) String() string {
	if int(k) < len(itemKindNames) && k != 0 {
		return itemKindNames[k]
	}
	return fmt.Sprintf("ItemKind(%d)", uint8(k))
}

// ReplyQueue is the queue of the consent engine's replies. Account ids
// start with a letter or digit, so no account queue has this name.
const ReplyQueue = ":replies"

// Item is one entry of a delivery queue. Exactly one of MO, Receipt and
// Reply is set, as Kind states.
type Item struct {
	// Queue is the account id, or ReplyQueue.
	Queue string `json:"queue"`
	// Seq orders the items of one queue. The store assigns it.
	Seq      uint64       `json:"seq"`
	Kind     ItemKind     `json:"kind"`
	Enqueued time.Time    `json:"enqueued"`
	MO       *MOItem      `json:"mo,omitempty"`
	Receipt  *ReceiptItem `json:"receipt,omitempty"`
	Reply    *ReplyItem   `json:"reply,omitempty"`
	// PossibleResend marks an item that may have reached its target
	// before: this process sent it and saw no success, or the store
	// found it in a state that an earlier delivery can leave (see Peek).
	// It may be set on an item never sent. It is not stored.
	PossibleResend bool `json:"-"`
}

// MOItem is a subscriber's text, for the business.
type MOItem struct {
	// ID is optgate's id of the MO.
	ID      string `json:"id"`
	Carrier string `json:"carrier"`
	// From is the subscriber and To the account's toll-free number, in
	// E.164 form.
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
	// Keyword is the consent keyword the text is ("opt_out", "opt_in",
	// "resume", "help"), or empty for an ordinary text. The business
	// gets the subscriber's choice but must not reply to it, because
	// optgate already did.
	Keyword string `json:"keyword,omitempty"`
	// Outcome is the keyword's effect on the consent record, such as
	// "opted_out", or "none" when it changed nothing.
	Outcome string `json:"outcome,omitempty"`
	// FreeText marks a keyword matched in wording around it ("Stop.
	// Thank you") or a revocation phrase.
	FreeText bool `json:"free_text,omitempty"`
	// Partial marks a concatenated text whose missing segments never
	// arrived. Text holds the segments that did, and no consent keyword
	// was applied.
	Partial bool `json:"partial,omitempty"`
	// Undecodable marks a text whose data_coding optgate cannot decode;
	// Data holds the octets and DataCoding their coding.
	Undecodable bool            `json:"undecodable,omitempty"`
	DataCoding  smpp.DataCoding `json:"data_coding,omitempty"`
	Data        []byte          `json:"data,omitempty"`
	Segments    int             `json:"segments"`
	Received    time.Time       `json:"received"`
}

// ReceiptItem is one delivery receipt for the business.
type ReceiptItem struct {
	// MessageID is optgate's id, which the business got from Submit.
	MessageID string `json:"message_id"`
	// From is the toll-free sender and To the subscriber of the message.
	From  string            `json:"from"`
	To    string            `json:"to"`
	State smpp.MessageState `json:"state"`
	// Stat is the stat text for State, such as "DELIVRD".
	Stat string `json:"stat"`
	// Err is the carrier's error code: the receipt's err field, or the
	// network_error_code error in decimal when the field is missing.
	Err          string                 `json:"err,omitempty"`
	NetworkError *smpp.NetworkErrorCode `json:"network_error,omitempty"`
	// Segment is the segment number (from 1) under ReceiptAll, and 0 when
	// the receipt stands for the whole message.
	Segment    int       `json:"segment,omitempty"`
	Segments   int       `json:"segments"`
	SubmitDate time.Time `json:"submit_date,omitzero"`
	DoneDate   time.Time `json:"done_date,omitzero"`
	// Blocked is the consent block reported by this receipt, for accounts
	// with BlockedReceipts; it is empty for carrier receipts.
	Blocked Code `json:"blocked,omitempty"`
	// ClientRef is the business's reference given with the message.
	ClientRef string `json:"client_ref,omitempty"`
}

// ReplyItem is a text the consent engine owes a subscriber, sent from the
// toll-free number the subscriber wrote to.
type ReplyItem struct {
	Account string `json:"account"`
	From    string `json:"from"`
	To      string `json:"to"`
	Text    string `json:"text"`
	// MOID is optgate's id of the MO that owed the reply.
	MOID string `json:"mo_id"`
}

// Queue keeps per-queue ordered items until their delivery is
// acknowledged. Implementations must be safe for concurrent use, and every
// method must make its change durable before it returns, as far as the
// backing store's persistence settings allow.
type Queue interface {
	// Enqueue appends items to their queues in one atomic step, setting
	// Seq. In the same step it deletes the partial MO segments of each
	// finished key, so a reassembled MO and its queue entry are never both
	// lost or both kept. It returns the items with Seq set.
	Enqueue(ctx context.Context, items []Item, finished ...smpp.PartKey) ([]Item, error)

	// Peek returns up to n of the oldest items of a queue, oldest first.
	// A store that several processes share (see SharedQueue) returns only
	// the items this process may deliver now, and none while another
	// process delivers the queue. Peek sets PossibleResend on an item
	// that an earlier process, or an earlier Peek, may have handed to
	// the target.
	Peek(ctx context.Context, queue string, n int) ([]Item, error)

	// Ack removes delivered items of one queue in one durable step, so
	// either all of them are gone or none is. An item already gone is not
	// an error, and Ack with no seq does nothing.
	Ack(ctx context.Context, queue string, seqs ...uint64) error

	// DeadLetter moves an item that can never be delivered to the dead
	// letters of its queue, with the reason.
	DeadLetter(ctx context.Context, queue string, seq uint64, reason string) error

	// Depths returns the number of items in each non-empty queue.
	Depths() map[string]int
}

// PartStore keeps the segments of concatenated MO texts until the last
// one arrives, so that each segment can be acknowledged to the carrier
// once it is durable.
type PartStore interface {
	// AddPart stores a segment. Once every segment of its message is
	// stored, it returns all of them in sequence order and complete is
	// true. A segment already stored is not stored twice. Segments stay
	// until Queue.Enqueue names their key as finished or Sweep expires
	// them.
	AddPart(ctx context.Context, p smpp.Part, now time.Time) (parts []smpp.Part, complete bool, err error)
}

// SweepLimits are the expiry limits Sweep applies.
type SweepLimits struct {
	// Now is the current time.
	Now time.Time
	// PartsBefore expires partial MO texts first seen before it.
	PartsBefore time.Time
	// ItemsBefore dead-letters queued items enqueued before it.
	ItemsBefore time.Time
	// MaxItems dead-letters the oldest items of a queue longer than it.
	MaxItems int
	// DeadBefore deletes dead letters older than it.
	DeadBefore time.Time
}

// SweepResult lists the entries Sweep removed.
type SweepResult struct {
	// Messages counts id map entries deleted at their expiry.
	Messages int
	// Unmatched are the receipts that stayed unmatched until their expiry.
	Unmatched []CarrierReceipt
	// Parts are the partial MO texts that expired.
	Parts []smpp.Assembled
	// Dropped counts queued items dead-lettered for age or queue length,
	// by queue.
	Dropped map[string]int
}

// Store is the gateway's durable state: the id map with its unmatched
// receipts, the partial MO segments and the delivery queues.
type Store interface {
	IDMap
	Queue
	PartStore
	// Sweep removes what expired: id map entries, unmatched receipts,
	// partial MO texts, and queued items over the retention limits.
	Sweep(ctx context.Context, limits SweepLimits) (SweepResult, error)
	// Close releases the store. Later calls return ErrStoreClosed.
	Close() error
}
