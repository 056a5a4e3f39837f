package smpp

// Codec convention.
//
// A PDU is a 16-octet header followed by a body of mandatory fields in the
// order SMPP 3.4 section 4 lists them, then optional TLVs (section 3.2).
// Integers are big-endian. A C-octet string is ASCII text ended by a NUL,
// and its SMPP 3.4 maximum size counts that NUL, so system_id (max 16) holds
// at most 15 characters. short_message is an octet string whose length is
// given by sm_length, so NUL bytes inside it are data.
//
// Each PDU type implements decodeBody and appendBody, which read or write
// the fields one after another through a decoder or an encoder. Both keep the
// first error and turn every later call into a no-op, so a body function is
// a plain list of fields with one error check at the end. The decoder tracks
// the offset of each field from the first header octet, and its error
// records that offset, the field name and the command_status a server
// responds with. The decoder copies what it keeps, so a decoded PDU never
// aliases the input buffer.
//
// After the mandatory fields, the decoder reads TLVs until the PDU ends. One
// to three trailing zero octets are ignored, because some peers end
// short_message with a NUL that sm_length does not count, and fewer than four
// octets cannot be a TLV. One to three trailing octets that are not all zero
// fail the decode with ESME_RINVOPTPARSTREAM.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// DecodePDU decodes one whole PDU: b must hold exactly command_length
// octets, header included. The returned PDU does not alias b, so the caller
// may reuse b at once. Its strings, ShortMessage and TLV values share one
// copy of b, which stays in memory while any of them is referenced.
//
// A response PDU with no body (command_length 16) decodes to its type with
// zero-valued fields. SMPP 3.4 section 4.4.2 allows this for submit_sm_resp
// with a non-zero command_status, and peers send it for other responses too.
//
// On failure the error is a *DecodeError. A header with an unknown
// command_id gives status ESME_RINVCMDID, and the caller responds with
// generic_nack. DecodePDU does not check command_length against a maximum,
// because b is already in memory; FrameReader does that before it reads.
func DecodePDU(b []byte) (PDU, error) {
	h, err := ParseHeader(b)
	if err != nil {
		return nil, err
	}
	if int64(h.CommandLength) != int64(len(b)) {
		return nil, &DecodeError{
			CommandID:      h.CommandID,
			SequenceNumber: h.SequenceNumber,
			Field:          "command_length",
			Status:         StatusInvalidCommandLength,
			Err: fmt.Errorf("%w: command_length is %d but the buffer contains %d octets",
				ErrInvalidCommandLength, h.CommandLength, len(b)),
		}
	}
	p := newPDU(h.CommandID)
	if p == nil {
		return nil, &DecodeError{
			CommandID:      h.CommandID,
			SequenceNumber: h.SequenceNumber,
			Offset:         4,
			Field:          "command_id",
			Status:         StatusInvalidCommandID,
			Err:            fmt.Errorf("%w: 0x%08x", ErrUnknownCommandID, uint32(h.CommandID)),
		}
	}
	*p.PDUHeader() = h
	if len(b) == HeaderLen && h.CommandID.IsResponse() {
		return p, nil
	}

	// One copy of the PDU backs every string, short_message and TLV value
	// of the result, so a decode costs the PDU struct, this copy and the
	// TLV slice.
	own := make([]byte, len(b))
	copy(own, b)
	d := p.decodeBody(decoder{buf: own, off: HeaderLen, hdr: h})
	if d.err != nil {
		return nil, d.err
	}
	return p, nil
}

// AppendPDU appends the wire form of p to dst and returns the extended
// slice. It writes command_length and command_id itself, and takes
// command_status and sequence_number from p's header. AppendPDU allocates
// only when dst lacks capacity.
//
// A field over its SMPP 3.4 maximum is an *EncodeError: the encoder never
// truncates. On error dst is returned unchanged in length. A response with a
// non-zero command_status and an all-zero body without TLVs is written as a
// header alone, as SMPP 3.4 section 4.4.2 specifies for submit_sm_resp.
func AppendPDU(dst []byte, p PDU) ([]byte, error) {
	start := len(dst)
	h := *p.PDUHeader()
	h.CommandID = p.CommandID()
	dst = appendHeader(dst, h)

	e := p.appendBody(encoder{buf: dst, id: h.CommandID})
	if e.err != nil {
		return dst[:start], e.err
	}
	dst = e.buf
	body := dst[start+HeaderLen:]
	if h.CommandID.IsResponse() && h.CommandStatus != StatusOK &&
		len(*p.optional()) == 0 && allZero(body) {
		dst = dst[:start+HeaderLen]
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start))
	return dst, nil
}

// EncodePDU returns the wire form of p in a new slice. See AppendPDU.
func EncodePDU(p PDU) ([]byte, error) {
	return AppendPDU(make([]byte, 0, 64), p)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// decoder reads mandatory fields one after another from a PDU. After the
// first failure every method returns a zero value, and err holds the
// failure.
type decoder struct {
	buf []byte // the whole PDU, header included
	off int    // offset of the next unread octet in buf
	hdr Header
	err *DecodeError
}

func (d *decoder) fail(field string, off int, status CommandStatus, err error) {
	if d.err != nil {
		return
	}
	d.err = &DecodeError{
		CommandID:      d.hdr.CommandID,
		SequenceNumber: d.hdr.SequenceNumber,
		Offset:         off,
		Field:          field,
		Status:         status,
		Err:            err,
	}
}

// truncated records a field that runs past the end of the PDU. A PDU too
// short for its mandatory fields has an invalid command_length.
func (d *decoder) truncated(field string) {
	d.fail(field, d.off, StatusInvalidCommandLength,
		fmt.Errorf("%w: PDU ends at offset %d", ErrTruncated, len(d.buf)))
}

func (d *decoder) remaining() int { return len(d.buf) - d.off }

func (d *decoder) u8(field string) uint8 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 1 {
		d.truncated(field)
		return 0
	}
	v := d.buf[d.off]
	d.off++
	return v
}

func (d *decoder) u32(field string) uint32 {
	if d.err != nil {
		return 0
	}
	if d.remaining() < 4 {
		d.truncated(field)
		return 0
	}
	v := binary.BigEndian.Uint32(d.buf[d.off:])
	d.off += 4
	return v
}

// cstring reads a C-octet string whose size, NUL included, is at most max.
// A string that has no NUL within max octets fails with the field's status.
func (d *decoder) cstring(field string, max int, status CommandStatus) string {
	if d.err != nil {
		return ""
	}
	window := d.buf[d.off:]
	if len(window) > max {
		window = window[:max]
	}
	n := bytes.IndexByte(window, 0)
	if n < 0 {
		if len(window) == max {
			d.fail(field, d.off, status, fmt.Errorf("%w: no NUL within %d octets", ErrFieldTooLong, max))
		} else {
			d.truncated(field)
		}
		return ""
	}
	s := d.str(d.off, n)
	d.off += n + 1
	return s
}

// str returns the n octets at off as a string that shares d.buf's memory.
// This is safe because d.buf is the decoder's own copy of the PDU, and no
// slice handed to the caller covers the octets of a string field.
func (d *decoder) str(off, n int) string {
	if n == 0 {
		return ""
	}
	return unsafe.String(&d.buf[off], n)
}

// slice returns the n octets at off, or nil when n is 0. The capacity is
// cut to n, so appending to the result reallocates and never overwrites the
// field that follows.
func (d *decoder) slice(off, n int) []byte {
	if n == 0 {
		return nil
	}
	return d.buf[off : off+n : off+n]
}

// shortMessage reads sm_length and the short_message that follows it.
func (d *decoder) shortMessage() []byte {
	lenOff := d.off
	n := int(d.u8("sm_length"))
	if d.err != nil {
		return nil
	}
	if n > maxShortMessage {
		d.fail("sm_length", lenOff, StatusInvalidMsgLength,
			fmt.Errorf("%w: %d octets, max %d", ErrFieldTooLong, n, maxShortMessage))
		return nil
	}
	if d.remaining() < n {
		d.fail("short_message", d.off, StatusInvalidMsgLength,
			fmt.Errorf("%w: sm_length %d exceeds the %d octets left in the PDU", ErrTruncated, n, d.remaining()))
		return nil
	}
	msg := d.slice(d.off, n)
	d.off += n
	return msg
}

// tlvs reads TLVs until the end of the PDU (SMPP 3.4 section 3.2.4.1).
func (d *decoder) tlvs() TLVs {
	if d.err != nil || d.remaining() == 0 {
		return nil
	}
	count, end, err := scanTLVs(d.buf, d.off)
	if err != nil {
		d.fail("tlv", end, StatusInvalidTLVStream, err)
		return nil
	}
	var ts TLVs
	if count > 0 {
		ts = make(TLVs, count)
	}
	for i := range ts {
		n := int(binary.BigEndian.Uint16(d.buf[d.off+2:]))
		ts[i] = TLV{Tag: Tag(binary.BigEndian.Uint16(d.buf[d.off:])), Value: d.slice(d.off+4, n)}
		d.off += 4 + n
	}
	d.off = len(d.buf)
	return ts
}

// scanTLVs counts the TLVs in b from off to the end, so that the decoder
// allocates the TLV slice once. On failure it returns the offset of the bad
// TLV or stray octets.
func scanTLVs(b []byte, off int) (count, at int, err error) {
	for off < len(b) {
		left := len(b) - off
		if left < 4 {
			if allZero(b[off:]) {
				return count, len(b), nil
			}
			return 0, off, fmt.Errorf("%w: %d stray octets after the last field", ErrInvalidTLVStream, left)
		}
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		if left-4 < n {
			tag := Tag(binary.BigEndian.Uint16(b[off:]))
			return 0, off, fmt.Errorf("%w: %v length %d exceeds the %d octets left", ErrInvalidTLVStream, tag, n, left-4)
		}
		off += 4 + n
		count++
	}
	return count, off, nil
}

// encoder appends fields one after another. After the first failure every
// method does nothing, and err holds the failure.
type encoder struct {
	buf []byte
	id  CommandID
	err *EncodeError
}

func (e *encoder) fail(field string, status CommandStatus, err error) {
	if e.err == nil {
		e.err = &EncodeError{CommandID: e.id, Field: field, Status: status, Err: err}
	}
}

func (e *encoder) u8(v uint8) {
	if e.err == nil {
		e.buf = append(e.buf, v)
	}
}

func (e *encoder) u32(v uint32) {
	if e.err == nil {
		e.buf = binary.BigEndian.AppendUint32(e.buf, v)
	}
}

// cstring appends s and a NUL after checking that both fit in max octets and
// that s holds no NUL, which would end the string early on the wire.
func (e *encoder) cstring(field, s string, max int, status CommandStatus) {
	if e.err != nil {
		return
	}
	if len(s)+1 > max {
		e.fail(field, status, fmt.Errorf("%w: %d characters, max %d", ErrFieldTooLong, len(s), max-1))
		return
	}
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			e.fail(field, status, fmt.Errorf("%w: NUL at index %d", ErrInvalidField, i))
			return
		}
	}
	e.buf = append(e.buf, s...)
	e.buf = append(e.buf, 0)
}

// shortMessage appends sm_length and short_message.
func (e *encoder) shortMessage(msg []byte) {
	if e.err != nil {
		return
	}
	if len(msg) > maxShortMessage {
		e.fail("short_message", StatusInvalidMsgLength,
			fmt.Errorf("%w: %d octets, max %d", ErrFieldTooLong, len(msg), maxShortMessage))
		return
	}
	e.buf = append(e.buf, byte(len(msg)))
	e.buf = append(e.buf, msg...)
}

func (e *encoder) tlvs(ts TLVs) {
	for _, t := range ts {
		if e.err != nil {
			return
		}
		if len(t.Value) > maxTLVValue {
			e.fail(t.Tag.String(), StatusInvalidTLVLength,
				fmt.Errorf("%w: %d octets, max %d", ErrFieldTooLong, len(t.Value), maxTLVValue))
			return
		}
		e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(t.Tag))
		e.buf = binary.BigEndian.AppendUint16(e.buf, uint16(len(t.Value)))
		e.buf = append(e.buf, t.Value...)
	}
}
