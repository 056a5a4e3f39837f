package consent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// State is the consent state of one (account, number) pair.
type State uint8

// Consent states. The zero value is StateNone, the state of a number the
// account has never contacted.
const (
	StateNone      State = iota // no request sent, no opt-in
	StateRequested              // one or two opt-in requests sent, no YES yet
	StateOptedIn                // YES received after a request, or imported opt-in
	StateOptedOut               // STOP received (or imported opt-out)
	StateVoided                 // number reassigned or disconnected: consent void
	stateCount
)

var stateNames = [stateCount]string{"none", "requested", "opted_in", "opted_out", "voided"}

// String returns the state's stable name, as written in CSV exports and audit
// entries: none, requested, opted_in, opted_out or voided.
func (s State) String() string {
	if s < stateCount {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState returns the state whose String form is name.
func ParseState(name string) (State, error) {
	for i, n := range stateNames {
		if n == name {
			return State(i), nil
		}
	}
	return StateNone, fmt.Errorf("unknown consent state %q (want none, requested, opted_in, opted_out or voided)", name)
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with the String form.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// MaxRequests is the number of opt-in requests an account may send to one
// number. After that many requests without a YES the number gets no texts
// and no further requests.
const MaxRequests = 2

// Record is the current consent state of one (account, number) pair. It is
// small on purpose: stores keep one per pair in memory or in Redis, and the
// full history lives in the audit trail.
type Record struct {
	// State is the current consent state.
	State State
	// Prior is the state before the STOP that led to StateOptedOut. UNSTOP
	// and START restore it. It is StateNone in every other state.
	Prior State
	// Requests counts the opt-in requests sent since the record was created
	// or last voided, at most MaxRequests.
	Requests uint8
	// RequestFrom holds the toll-free number (E.164) each request was sent
	// from, in sending order. A YES counts only when sent to one of them.
	RequestFrom [MaxRequests]string
	// RequestSeq holds the audit sequence number of each request, so the
	// audit entry of a YES can carry the text of the request it replies to.
	RequestSeq [MaxRequests]uint32
	// Seq is the number of audit entries written for the pair. Every
	// applied event increments it, so it orders writes to one pair.
	Seq uint32
	// PendingReply is the confirmation the last change owed (ReplyOptOut,
	// ReplyOptIn or ReplyResume) until an EventReplyQueued reports it
	// queued, and ReplyNone otherwise. While it is set, a redelivery of the
	// keyword owes the confirmation again (see Transition).
	PendingReply Reply
	// PendingSince is when an event last owed PendingReply. It is the zero
	// time when no reply is pending.
	PendingSince time.Time
	// Source is the channel of the last event that changed the record.
	Source Source
	// Updated is the time of the last event that changed the record.
	Updated time.Time
}

// IsZero reports whether r is the record of a pair with no events at all.
func (r Record) IsZero() bool { return r.Seq == 0 && r.State == StateNone }

// Record encoding, version 2. The bbolt store keeps records in this form:
//
//	byte     version (2)
//	byte     state
//	byte     prior state
//	byte     source
//	byte     request count n (0..MaxRequests)
//	byte     pending reply
//	uvarint  seq
//	varint   updated, Unix nanoseconds (0 for the zero time)
//	varint   pending since, Unix nanoseconds (0 for the zero time)
//	n times: uvarint length, toll-free number bytes, uvarint request seq
//
// Version 1 is the same without the pending reply byte and the pending
// since time. It is still decoded, as a record with no pending reply.
const (
	recordVersion1 = 1
	recordVersion  = 2
)

// maxEncodedNumber bounds a stored number. E.164 numbers have at most 15
// digits plus the leading "+", so 32 bytes leave room.
const maxEncodedNumber = 32

// ErrCorruptRecord is returned when a stored record cannot be decoded.
var ErrCorruptRecord = errors.New("consent: corrupt record")

// AppendBinary appends the encoded record to b and returns the result.
func (r Record) AppendBinary(b []byte) ([]byte, error) {
	if r.State >= stateCount || r.Prior >= stateCount {
		return b, fmt.Errorf("encode record: invalid state %d/%d", r.State, r.Prior)
	}
	if r.Requests > MaxRequests {
		return b, fmt.Errorf("encode record: %d requests exceeds the maximum of %d", r.Requests, MaxRequests)
	}
	if r.PendingReply != ReplyNone && !r.PendingReply.isConfirmation() {
		return b, fmt.Errorf("encode record: invalid pending reply %s", r.PendingReply)
	}
	b = append(b, recordVersion, byte(r.State), byte(r.Prior), byte(r.Source), r.Requests, byte(r.PendingReply))
	b = binary.AppendUvarint(b, uint64(r.Seq))
	var nanos int64
	if !r.Updated.IsZero() {
		nanos = r.Updated.UnixNano()
	}
	b = binary.AppendVarint(b, nanos)
	nanos = 0
	if !r.PendingSince.IsZero() {
		nanos = r.PendingSince.UnixNano()
	}
	b = binary.AppendVarint(b, nanos)
	for i := range int(r.Requests) {
		if len(r.RequestFrom[i]) > maxEncodedNumber {
			return b, fmt.Errorf("encode record: toll-free number %q is too long", r.RequestFrom[i])
		}
		b = binary.AppendUvarint(b, uint64(len(r.RequestFrom[i])))
		b = append(b, r.RequestFrom[i]...)
		b = binary.AppendUvarint(b, uint64(r.RequestSeq[i]))
	}
	return b, nil
}

// MarshalBinary returns the encoded record.
func (r Record) MarshalBinary() ([]byte, error) {
	return r.AppendBinary(make([]byte, 0, 64))
}

// UnmarshalBinary decodes a record written by MarshalBinary, in version 2
// or version 1. Errors wrap ErrCorruptRecord.
func (r *Record) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w: empty", ErrCorruptRecord)
	}
	version, header := b[0], 6
	switch version {
	case recordVersion1:
		header = 5
	case recordVersion:
	default:
		return fmt.Errorf("%w: unknown version %d", ErrCorruptRecord, version)
	}
	if len(b) < header {
		return fmt.Errorf("%w: %d bytes, want at least %d", ErrCorruptRecord, len(b), header)
	}
	out := Record{State: State(b[1]), Prior: State(b[2]), Source: Source(b[3]), Requests: b[4]}
	if version == recordVersion {
		out.PendingReply = Reply(b[5])
		if out.PendingReply != ReplyNone && !out.PendingReply.isConfirmation() {
			return fmt.Errorf("%w: invalid pending reply %d", ErrCorruptRecord, b[5])
		}
	}
	if out.State >= stateCount || out.Prior >= stateCount || out.Source >= sourceCount {
		return fmt.Errorf("%w: invalid state, prior state or source", ErrCorruptRecord)
	}
	if out.Requests > MaxRequests {
		return fmt.Errorf("%w: request count %d", ErrCorruptRecord, out.Requests)
	}
	b = b[header:]

	seq, n := binary.Uvarint(b)
	if n <= 0 || seq > 1<<32-1 {
		return fmt.Errorf("%w: bad sequence number", ErrCorruptRecord)
	}
	out.Seq = uint32(seq)
	b = b[n:]
	nanos, n := binary.Varint(b)
	if n <= 0 {
		return fmt.Errorf("%w: bad update time", ErrCorruptRecord)
	}
	if nanos != 0 {
		out.Updated = time.Unix(0, nanos).UTC()
	}
	b = b[n:]
	if version == recordVersion {
		nanos, n := binary.Varint(b)
		if n <= 0 {
			return fmt.Errorf("%w: bad pending reply time", ErrCorruptRecord)
		}
		if nanos != 0 {
			out.PendingSince = time.Unix(0, nanos).UTC()
		}
		b = b[n:]
	}

	for i := range int(out.Requests) {
		size, n := binary.Uvarint(b)
		if n <= 0 || size > maxEncodedNumber || uint64(len(b)-n) < size {
			return fmt.Errorf("%w: bad toll-free number %d", ErrCorruptRecord, i+1)
		}
		out.RequestFrom[i] = string(b[n : n+int(size)])
		b = b[n+int(size):]
		rseq, n := binary.Uvarint(b)
		if n <= 0 || rseq > 1<<32-1 {
			return fmt.Errorf("%w: bad request sequence number %d", ErrCorruptRecord, i+1)
		}
		out.RequestSeq[i] = uint32(rseq)
		b = b[n:]
	}
	if len(b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorruptRecord, len(b))
	}
	*r = out
	return nil
}
