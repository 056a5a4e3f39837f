package consent

import (
	"encoding/json"
	"fmt"
	"time"
)

// AuditEntry is one row of a number's consent history. Stores write one for
// every applied event, in the same atomic step as the record, and never
// delete them: consent evidence must outlive the four-year TCPA limitation
// period, so retention is left to the operator.
type AuditEntry struct {
	// Seq numbers the entries of one (account, number) pair from 1.
	Seq     uint32    `json:"seq"`
	Time    time.Time `json:"time"`
	Account string    `json:"account"`
	Number  string    `json:"number"`
	Event   EventKind `json:"event"`
	Before  State     `json:"state_before"`
	After   State     `json:"state_after"`
	Outcome Outcome   `json:"outcome"`
	Skip    Skip      `json:"skip,omitempty"`
	// Text is the verbatim text of the event (see Event.Text).
	Text string `json:"text,omitempty"`
	// Reply and ReplyText are the reply owed by this event, if any.
	Reply     Reply  `json:"reply,omitempty"`
	ReplyText string `json:"reply_text,omitempty"`
	// RequestSeq and RequestText identify, for a YES that opted in, the
	// request that the YES replied to.
	RequestSeq  uint32   `json:"request_seq,omitempty"`
	RequestText string   `json:"request_text,omitempty"`
	MessageIDs  []string `json:"message_ids,omitempty"`
	Source      Source   `json:"source"`
	TollFree    string   `json:"toll_free,omitempty"`
	FreeText    bool     `json:"free_text,omitempty"`
}

// Applied is the result of one event applied by a store.
type Applied struct {
	Before Record
	After  Record
	Effect Effect
	Entry  AuditEntry
}

// Step runs the shared write path that every store executes inside its
// atomic section: it validates ev, applies Transition to before, and builds
// the audit entry. requestText returns the text of the pair's audit entry
// with the given sequence number. Step calls it only for a YES that opted
// the number in, to copy the text of the request that the YES replied to.
func Step(before Record, ev Event, requestText func(seq uint32) (string, error)) (Applied, error) {
	if err := ev.Validate(); err != nil {
		return Applied{}, err
	}
	after, eff := Transition(before, ev)
	entry := AuditEntry{
		Seq:        after.Seq,
		Time:       ev.Time,
		Account:    ev.Account,
		Number:     ev.Number,
		Event:      ev.Kind,
		Before:     before.State,
		After:      after.State,
		Outcome:    eff.Outcome,
		Skip:       eff.Skip,
		Text:       ev.Text,
		RequestSeq: eff.AnswersSeq,
		MessageIDs: ev.MessageIDs,
		Source:     ev.Source,
		TollFree:   ev.TollFree,
		FreeText:   ev.FreeText,
	}
	if eff.OwesReply() {
		entry.Reply = eff.Reply
		entry.ReplyText = ev.ReplyText
	}
	if eff.AnswersSeq != 0 && requestText != nil {
		text, err := requestText(eff.AnswersSeq)
		if err != nil {
			return Applied{}, fmt.Errorf("read audit entry %d of the request before the YES: %w", eff.AnswersSeq, err)
		}
		entry.RequestText = text
	}
	return Applied{Before: before, After: after, Effect: eff, Entry: entry}, nil
}

// MarshalAuditEntry returns the stored form of an entry (JSON). Both stores
// use it, so entries read the same whichever store wrote them.
func MarshalAuditEntry(e AuditEntry) ([]byte, error) {
	return json.Marshal(e)
}

// UnmarshalAuditEntry decodes an entry written by MarshalAuditEntry.
func UnmarshalAuditEntry(b []byte) (AuditEntry, error) {
	var e AuditEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return AuditEntry{}, fmt.Errorf("decode audit entry: %w", err)
	}
	return e, nil
}
