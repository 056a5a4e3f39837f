package smpp

import (
	"encoding/binary"
	"fmt"
)

// HeaderLen is the size in octets of the PDU header (SMPP 3.4 section 3.2):
// command_length, command_id, command_status and sequence_number, each a
// 4-octet big-endian integer.
const HeaderLen = 16

// DefaultMaxCommandLength is the largest command_length that FrameReader
// accepts when no other maximum is set. SMPP 3.4 sets no maximum, but the
// largest standard PDU (a submit_multi to 254 destinations with a 64 KiB
// message_payload is the theoretical extreme) stays far below it in practice.
const DefaultMaxCommandLength = 64 * 1024

// Header is the 16-octet header that starts every PDU (SMPP 3.4 section 3.2).
//
// Every PDU type embeds a Header. DecodePDU fills all four fields. The
// encoder writes CommandLength and CommandID from the encoded size and the
// PDU type, and ignores the values stored here, so a caller building a PDU
// sets only CommandStatus and SequenceNumber.
type Header struct {
	// CommandLength is the size of the whole PDU in octets, header included.
	CommandLength uint32
	// CommandID identifies the PDU type (section 5.1.2).
	CommandID CommandID
	// CommandStatus is zero in requests and the outcome in responses
	// (section 5.1.3).
	CommandStatus CommandStatus
	// SequenceNumber pairs a response with its request. SMPP 3.4 section
	// 5.1.4 allows 0x00000001 to 0x7FFFFFFF.
	SequenceNumber uint32
}

// PDUHeader returns h itself. It is promoted to every PDU type, so code
// holding a PDU interface value can read and set its header fields.
func (h *Header) PDUHeader() *Header { return h }

// String returns the header in a form for logs, such as
// "submit_sm seq=8 status=ESME_ROK len=111". Every PDU type embeds Header, so
// printing a PDU with %v or %s shows only its header, which keeps phone
// numbers and message text out of logs. Use %#v to see every field.
func (h Header) String() string {
	return fmt.Sprintf("%v seq=%d status=%v len=%d",
		h.CommandID, h.SequenceNumber, h.CommandStatus, h.CommandLength)
}

// ParseHeader decodes the header at the start of b. It returns
// ErrIncomplete when b holds fewer than HeaderLen octets, and a
// *DecodeError with status StatusInvalidCommandLength when command_length is
// below HeaderLen. It does not check the length against any maximum, which
// is the framing layer's job.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, ErrIncomplete
	}
	h := Header{
		CommandLength:  binary.BigEndian.Uint32(b[0:4]),
		CommandID:      CommandID(binary.BigEndian.Uint32(b[4:8])),
		CommandStatus:  CommandStatus(binary.BigEndian.Uint32(b[8:12])),
		SequenceNumber: binary.BigEndian.Uint32(b[12:16]),
	}
	if h.CommandLength < HeaderLen {
		return h, &DecodeError{
			CommandID:      h.CommandID,
			SequenceNumber: h.SequenceNumber,
			Field:          "command_length",
			Status:         StatusInvalidCommandLength,
			Err:            fmt.Errorf("%w: %d is below %d", ErrInvalidCommandLength, h.CommandLength, HeaderLen),
		}
	}
	return h, nil
}

// appendHeader appends h in wire order.
func appendHeader(dst []byte, h Header) []byte {
	dst = binary.BigEndian.AppendUint32(dst, h.CommandLength)
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.CommandID))
	dst = binary.BigEndian.AppendUint32(dst, uint32(h.CommandStatus))
	return binary.BigEndian.AppendUint32(dst, h.SequenceNumber)
}
