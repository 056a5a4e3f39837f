package smpp

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors for conditions callers branch on with errors.Is. Decode
// and encode failures wrap one of them in a *DecodeError or *EncodeError.
var (
	// ErrIncomplete means the input holds less than a whole header or PDU.
	// A stream reader waits for more bytes. It is not a protocol error.
	ErrIncomplete = errors.New("smpp: incomplete PDU")

	// ErrInvalidCommandLength means command_length is below 16, above the
	// configured maximum, or different from the size of the decoded buffer.
	ErrInvalidCommandLength = errors.New("smpp: invalid command_length")

	// ErrUnknownCommandID means command_id names no SMPP 3.4 PDU. A server
	// responds with generic_nack and ESME_RINVCMDID (SMPP 3.4 section 4.3).
	ErrUnknownCommandID = errors.New("smpp: unknown command_id")

	// ErrTruncated means a mandatory field runs past the end of the PDU.
	ErrTruncated = errors.New("smpp: field truncated")

	// ErrFieldTooLong means a string field is longer than its SMPP 3.4
	// maximum. For a C-octet string the maximum counts the NUL.
	ErrFieldTooLong = errors.New("smpp: field too long")

	// ErrInvalidField means a mandatory field has a value the codec cannot
	// represent, such as a submit_multi dest_flag other than 1 or 2.
	ErrInvalidField = errors.New("smpp: invalid field value")

	// ErrInvalidTLVStream means the bytes after the mandatory fields are not
	// a valid sequence of TLVs: a TLV length runs past the end of the PDU, or
	// one to three bytes that are not all zero are left over.
	ErrInvalidTLVStream = errors.New("smpp: invalid TLV stream")

	// ErrTLVNotFound means the PDU carries no TLV with the requested tag.
	ErrTLVNotFound = errors.New("smpp: TLV not found")

	// ErrInvalidTLV means a TLV's length does not match the size its tag
	// defines, for example a network_error_code that is not 3 octets.
	ErrInvalidTLV = errors.New("smpp: invalid TLV value")

	// ErrPayloadConflict means a PDU carries both a non-empty short_message
	// and a message_payload TLV, which SMPP 3.4 section 5.3.2.32 forbids.
	ErrPayloadConflict = errors.New("smpp: both short_message and message_payload are set")
)

// DecodeError describes a PDU that could not be decoded. Status is the
// command_status a server responds with: in the response to the request, or
// in a generic_nack when Status is StatusInvalidCommandID or
// StatusInvalidCommandLength. Use errors.As to get it and errors.Is to test
// the cause.
type DecodeError struct {
	// CommandID and SequenceNumber come from the header. They are zero
	// when the header itself could not be read.
	CommandID      CommandID
	SequenceNumber uint32
	// Offset is the position of the bad field, in octets from the start of
	// the PDU (the first header octet is offset 0).
	Offset int
	// Field is the SMPP 3.4 name of the bad field, such as "system_id", or
	// "tlv" for the optional part of the body.
	Field string
	// Status is the command_status to respond with.
	Status CommandStatus
	// Err is the cause, which wraps one of the package's sentinel errors.
	Err error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "smpp: decode %v", e.CommandID)
	if e.SequenceNumber != 0 {
		fmt.Fprintf(&b, " seq %d", e.SequenceNumber)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, ": %s at offset %d", e.Field, e.Offset)
	}
	fmt.Fprintf(&b, ": %s (%v)", trimPrefix(e.Err), e.Status)
	return b.String()
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError describes a PDU that could not be encoded because a field is
// out of range. The encoder never truncates a field to make it fit. Status is
// the command_status a peer would return if the PDU were sent anyway.
type EncodeError struct {
	CommandID CommandID
	// Field is the SMPP 3.4 name of the bad field.
	Field  string
	Status CommandStatus
	Err    error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("smpp: encode %v: %s: %s (%v)",
		e.CommandID, e.Field, trimPrefix(e.Err), e.Status)
}

// Unwrap returns the cause.
func (e *EncodeError) Unwrap() error { return e.Err }

// StatusError is a response or generic_nack from the peer whose
// command_status is not ESME_ROK. Get it with errors.As.
type StatusError struct {
	CommandID      CommandID
	SequenceNumber uint32
	Status         CommandStatus
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("smpp: %v seq %d: %v: %s",
		e.CommandID, e.SequenceNumber, e.Status, e.Status.Description())
}

// CheckStatus returns a *StatusError when p's command_status is not
// ESME_ROK, and nil otherwise.
func CheckStatus(p PDU) error {
	h := p.PDUHeader()
	if h.CommandStatus == StatusOK {
		return nil
	}
	return &StatusError{
		CommandID:      p.CommandID(),
		SequenceNumber: h.SequenceNumber,
		Status:         h.CommandStatus,
	}
}

// trimPrefix returns err's message without the package prefix, so that a
// wrapping error does not repeat "smpp: ".
func trimPrefix(err error) string {
	if err == nil {
		return "unknown cause"
	}
	return strings.TrimPrefix(err.Error(), "smpp: ")
}
