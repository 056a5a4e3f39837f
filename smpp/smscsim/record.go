package smscsim

import (
	"context"
	"sync"
	"time"

	"github.com/optgate/optgate/smpp"
)

// Message is one submit_sm, data_sm or submit_multi the simulator
// received, with its text decoded. A long message sent in segments gives
// one Message per segment.
type Message struct {
	// Seq numbers the messages from 1 in the order they arrived, since
	// the start or the last Reset.
	Seq  int       `json:"seq"`
	Time time.Time `json:"time"`
	// SystemID is the system_id of the session that sent the message.
	SystemID string `json:"system_id"`
	// Command is "submit_sm", "data_sm" or "submit_multi".
	Command string `json:"command"`

	// Status is the command_status of the response, when there is one.
	Status smpp.CommandStatus `json:"status"`
	// Dropped means a Drop rule sent no response to the message.
	Dropped bool `json:"dropped,omitempty"`
	// ID is the message id in the response, and ReceiptID the same id as
	// the receipt writes it. Both are empty for a message not accepted.
	ID        string `json:"id,omitempty"`
	ReceiptID string `json:"receipt_id,omitempty"`

	// Source is source_addr; Destinations lists destination_addr, or
	// each SME address of a submit_multi, and Destination is the first.
	Source       string   `json:"source"`
	SourceTON    smpp.TON `json:"source_ton"`
	SourceNPI    smpp.NPI `json:"source_npi"`
	Destination  string   `json:"destination"`
	Destinations []string `json:"destinations,omitempty"`

	ESMClass           uint8           `json:"esm_class"`
	RegisteredDelivery uint8           `json:"registered_delivery"`
	DataCoding         smpp.DataCoding `json:"data_coding"`

	// Text is the decoded text of this PDU, without its UDH. TextError
	// is the reason the text could not be decoded, when it could not.
	Text      string `json:"text"`
	TextError string `json:"text_error,omitempty"`
	// Payload means the text came from the message_payload TLV.
	Payload bool `json:"payload,omitempty"`
	// UDH is the user data header, when esm_class has UDHI set.
	UDH *smpp.UDH `json:"udh,omitempty"`
	// Part places a segment in its message, from the concatenation
	// element of the UDH or from the sar_* TLVs, as PartSource ("udh" or
	// "sar") records. Its Total is 0 for a message sent whole.
	Part       smpp.ConcatInfo `json:"part"`
	PartSource string          `json:"part_source,omitempty"`
	// FullText is the whole message: Text for a message sent whole, and
	// on the accepted segment that completed a long message, the text of
	// all its segments. It is empty on the other segments.
	FullText string `json:"full_text,omitempty"`

	// PDU is the request as decoded.
	PDU smpp.PDU `json:"-"`
}

// Received is one PDU read from an ESME connection, whatever its type.
type Received struct {
	Time time.Time
	// SystemID is the system_id of the connection's last bind request,
	// empty before one.
	SystemID   string
	RemoteAddr string
	Header     smpp.Header
	// PDU is the decoded PDU, or nil when Err is set.
	PDU smpp.PDU
	// Raw holds the PDU's octets as read.
	Raw []byte
	Err error
}

// recorder keeps the latest messages and PDUs and wakes the waiters when
// one is added.
type recorder struct {
	max       int
	onMessage func(Message)

	mu       sync.Mutex
	messages []Message
	msgCount int // messages recorded since the start or Reset
	pdus     []Received
	pduCount int
	changed  chan struct{} // closed and replaced at each addition
}

func newRecorder(max int, onMessage func(Message)) *recorder {
	return &recorder{max: max, onMessage: onMessage, changed: make(chan struct{})}
}

// addMessage numbers m, stores it and returns it.
func (r *recorder) addMessage(m Message) Message {
	r.mu.Lock()
	r.msgCount++
	m.Seq = r.msgCount
	r.messages = appendCapped(r.messages, m, r.max)
	r.notifyLocked()
	r.mu.Unlock()
	if r.onMessage != nil {
		r.onMessage(m)
	}
	return m
}

func (r *recorder) addPDU(p Received) {
	r.mu.Lock()
	r.pduCount++
	r.pdus = appendCapped(r.pdus, p, r.max)
	r.notifyLocked()
	r.mu.Unlock()
}

func (r *recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// appendCapped appends v and drops the oldest elements beyond max.
func appendCapped[T any](s []T, v T, max int) []T {
	s = append(s, v)
	if len(s) > max {
		n := copy(s, s[len(s)-max:])
		clear(s[n:])
		s = s[:n]
	}
	return s
}

// wait blocks until done, called under the lock, returns true, or ctx
// ends.
func (r *recorder) wait(ctx context.Context, done func() bool) error {
	for {
		r.mu.Lock()
		if done() {
			r.mu.Unlock()
			return nil
		}
		ch := r.changed
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Messages returns the messages received, oldest first: at most
// Config.MaxRecords of them.
func (sim *Simulator) Messages() []Message {
	r := sim.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.messages...)
}

// WaitMessages waits until n messages have been received since the start
// or the last Reset, and returns Messages. It returns ctx's error when ctx
// ends first.
func (sim *Simulator) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	r := sim.rec
	if err := r.wait(ctx, func() bool { return r.msgCount >= n }); err != nil {
		return sim.Messages(), err
	}
	return sim.Messages(), nil
}

// Received returns the PDUs read from ESME connections, oldest first: at
// most Config.MaxRecords of them.
func (sim *Simulator) Received() []Received {
	r := sim.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Received(nil), r.pdus...)
}

// WaitReceived waits until a PDU for which match returns true has been
// read since the start or the last Reset, and returns the first such
// PDU. It returns ctx's error when ctx ends first.
func (sim *Simulator) WaitReceived(ctx context.Context, match func(Received) bool) (Received, error) {
	r := sim.rec
	var found Received
	seen := 0 // PDUs already checked, counted from the oldest kept
	err := r.wait(ctx, func() bool {
		start := max(seen-(r.pduCount-len(r.pdus)), 0)
		for _, p := range r.pdus[min(start, len(r.pdus)):] {
			if match(p) {
				found = p
				return true
			}
		}
		seen = r.pduCount
		return false
	})
	return found, err
}

// Reset deletes the messages and PDUs recorded so far.
func (sim *Simulator) Reset() {
	r := sim.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	r.messages, r.msgCount = nil, 0
	r.pdus, r.pduCount = nil, 0
	r.notifyLocked()
}

// acceptedMessage is the query_sm state of an accepted message.
type acceptedMessage struct {
	final time.Time // when the message reaches its final state
	state smpp.MessageState
	err   uint8 // the error_code of query_sm_resp
}

// acceptedLog keeps the latest accepted messages by id number. The caller
// holds the simulator's lock.
type acceptedLog struct {
	max   int
	byID  map[uint64]acceptedMessage
	order []uint64 // oldest first
}

func newAcceptedLog(max int) *acceptedLog {
	return &acceptedLog{max: max, byID: make(map[uint64]acceptedMessage)}
}

func (l *acceptedLog) add(id uint64, m acceptedMessage) {
	l.byID[id] = m
	l.order = append(l.order, id)
	if len(l.order) > l.max {
		delete(l.byID, l.order[0])
		l.order = l.order[1:]
	}
}
