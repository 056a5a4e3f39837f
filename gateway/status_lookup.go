package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/optgate/optgate/smpp"
)

// Message states of a MessageStatus besides the receipt states that
// ReceiptStateName returns.
const (
	// StateSubmitted: the carrier accepted every segment, and no receipt
	// has decided the message's outcome yet.
	StateSubmitted = "submitted"
	// StatePartialSubmit: the carrier accepted only the first segments,
	// and the business got the partial_submit error.
	StatePartialSubmit = "partial_submit"
)

// receiptStateNames are the lowercase names of the message states of
// SMPP 3.4 section 5.2.28.
var receiptStateNames = [...]string{
	smpp.StateEnroute:       "enroute",
	smpp.StateDelivered:     "delivered",
	smpp.StateExpired:       "expired",
	smpp.StateDeleted:       "deleted",
	smpp.StateUndeliverable: "undeliverable",
	smpp.StateAccepted:      "accepted",
	smpp.StateUnknown:       "unknown",
	smpp.StateRejected:      "rejected",
}

// ReceiptStateName returns the status lookup's name of a receipt state,
// such as "delivered" for DELIVRD.
func ReceiptStateName(s smpp.MessageState) string {
	if s.Valid() {
		return receiptStateNames[s]
	}
	return fmt.Sprintf("state_%d", uint8(s))
}

// MessageStatus is the recorded state of one message optgate sent, and
// the body of GET /v1/messages/{id}.
type MessageStatus struct {
	MessageID string `json:"message_id"`
	Account   string `json:"account"`
	// State is StateSubmitted until the account's receipt policy can
	// decide the message's outcome, then the name of the deciding
	// receipt's state (see ReceiptStateName). It is StatePartialSubmit
	// for a message the carrier took only in part, and "rejected" for a
	// consent block reported as a receipt.
	State string `json:"state"`
	// Final reports that State will not change any more.
	Final bool `json:"final"`
	// Stat, Err, NetworkError and DoneDate come from the deciding
	// receipt, and ReceiptReceived is when optgate received it.
	Stat            string        `json:"stat,omitempty"`
	Err             string        `json:"err,omitempty"`
	NetworkError    *NetworkError `json:"network_error,omitempty"`
	DoneDate        time.Time     `json:"done_date,omitzero"`
	ReceiptReceived time.Time     `json:"receipt_received,omitzero"`
	// Blocked is the consent block of a message that was never sent.
	Blocked Code `json:"blocked,omitempty"`
	// From is the toll-free sender and To the subscriber, in E.164 form.
	From      string `json:"from"`
	To        string `json:"to"`
	Carrier   string `json:"carrier,omitempty"`
	ClientRef string `json:"client_ref,omitempty"`
	// RegisteredDelivery is the business's registered_delivery (SMPP 3.4
	// section 5.2.17). With 0 the carrier sends no receipt, so State stays
	// StateSubmitted; with 2 it sends receipts for failures only.
	RegisteredDelivery uint8 `json:"registered_delivery"`
	// ReceiptPolicy is the account's policy for messages of several
	// segments: worst, first, last or all.
	ReceiptPolicy string `json:"receipt_policy"`
	// Segments is the number of segments of the message and
	// AcceptedSegments the number the carrier accepted.
	Segments         int       `json:"segments"`
	AcceptedSegments int       `json:"accepted_segments"`
	Submitted        time.Time `json:"submitted"`
	// Expires is when optgate deletes the message's record.
	Expires time.Time `json:"expires"`
	// Parts lists the accepted segments in order.
	Parts []SegmentStatus `json:"parts"`
}

// SegmentStatus is the state of one segment the carrier accepted.
type SegmentStatus struct {
	// Segment counts from 1.
	Segment int `json:"segment"`
	// CarrierID is the message_id of the carrier's submit_sm_resp.
	CarrierID string `json:"carrier_id"`
	// State is StateSubmitted until a receipt arrives, then the name of
	// the state of the segment's latest receipt. A final state is kept
	// when later receipts arrive.
	State           string        `json:"state"`
	Stat            string        `json:"stat,omitempty"`
	Err             string        `json:"err,omitempty"`
	NetworkError    *NetworkError `json:"network_error,omitempty"`
	DoneDate        time.Time     `json:"done_date,omitzero"`
	ReceiptReceived time.Time     `json:"receipt_received,omitzero"`
}

// NetworkError is a receipt's network_error_code (SMPP 3.4 section
// 5.3.2.31): the network type, such as 3 for GSM, and its error code.
type NetworkError struct {
	Type uint8  `json:"type"`
	Code uint16 `json:"code"`
}

func networkErrorOf(c *smpp.NetworkErrorCode) *NetworkError {
	if c == nil {
		return nil
	}
	return &NetworkError{Type: c.NetworkType, Code: c.ErrorCode}
}

// MessageStatus returns the status of a message the account sent, built
// from the id map with NewMessageStatus. An id that is unknown, expired
// or another account's yields an error wrapping ErrNotFound, so a caller
// cannot learn which ids other accounts use.
func (s *MTService) MessageStatus(ctx context.Context, account, id string) (MessageStatus, error) {
	rec, err := s.cfg.Store.Message(ctx, id)
	if err != nil {
		return MessageStatus{}, err
	}
	// The sweeper deletes expired records only every so often.
	if rec.Account != account || !rec.Expires.After(s.cfg.Now()) {
		return MessageStatus{}, fmt.Errorf("read message %s: %w", id, ErrNotFound)
	}
	return NewMessageStatus(rec), nil
}

// NewMessageStatus describes a message from its id map record. The
// receipts recorded on each segment are the durable state; the overall
// state is derived from them with the account's receipt policy.
func NewMessageStatus(rec MessageRecord) MessageStatus {
	st := MessageStatus{
		MessageID: rec.ID, Account: rec.Account, State: StateSubmitted, From: rec.From, To: rec.To,
		Carrier: rec.Carrier, ClientRef: rec.ClientRef, RegisteredDelivery: rec.RegisteredDelivery,
		ReceiptPolicy: rec.Policy.String(), Segments: rec.Total, AcceptedSegments: len(rec.Segments),
		Submitted: rec.Submitted, Expires: rec.Expires, Parts: make([]SegmentStatus, len(rec.Segments)),
	}
	for i, seg := range rec.Segments {
		st.Parts[i] = SegmentStatus{Segment: i + 1, CarrierID: seg.CarrierID, State: StateSubmitted}
		if r := seg.Receipt; r != nil {
			p := &st.Parts[i]
			p.State, p.Stat, p.Err = ReceiptStateName(r.State), r.Stat, r.Err
			p.NetworkError, p.DoneDate, p.ReceiptReceived = networkErrorOf(r.NetworkError), r.DoneDate, r.Received
		}
	}

	switch deciding := decidingReceipt(rec); {
	case rec.Blocked != "":
		st.State, st.Final, st.Blocked = ReceiptStateName(smpp.StateRejected), true, rec.Blocked
		st.Stat, st.Err, st.DoneDate = smpp.StateRejected.String(), blockErr(rec.Blocked), rec.Submitted
	case rec.Failed:
		st.State, st.Final = StatePartialSubmit, true
	case deciding != nil:
		st.State, st.Final = ReceiptStateName(deciding.State), deciding.State.Final()
		st.Stat, st.Err, st.NetworkError = deciding.Stat, deciding.Err, networkErrorOf(deciding.NetworkError)
		st.DoneDate, st.ReceiptReceived = deciding.DoneDate, deciding.Received
	}
	return st
}

// decidingReceipt returns the receipt that stands for the whole message
// under its receipt policy, or nil while the policy cannot decide.
//
// A single segment's latest receipt stands for the message, and so does
// segment 1's under ReceiptFirst and the last segment's under ReceiptLast.
// ReceiptWorst takes the first segment to end in a final state other than
// DELIVRD, by the time optgate received its receipt, and otherwise the
// last DELIVRD once every segment has one. ReceiptAll, whose business
// gets every segment's receipt, is summed up the same way.
func decidingReceipt(rec MessageRecord) *CarrierReceipt {
	segs := rec.Segments
	switch {
	case len(segs) == 0:
		return nil
	case rec.Total <= 1 || rec.Policy == ReceiptFirst:
		return segs[0].Receipt
	case rec.Policy == ReceiptLast:
		if len(segs) < rec.Total {
			return nil
		}
		return segs[rec.Total-1].Receipt
	}

	var failed, delivered *CarrierReceipt
	count := 0
	for _, seg := range segs {
		r := seg.Receipt
		switch {
		case r == nil || !r.State.Final():
		case r.State == smpp.StateDelivered:
			count++
			if delivered == nil || r.Received.After(delivered.Received) {
				delivered = r
			}
		case failed == nil || r.Received.Before(failed.Received):
			failed = r
		}
	}
	if failed != nil {
		return failed
	}
	if count == rec.Total {
		return delivered
	}
	return nil
}
