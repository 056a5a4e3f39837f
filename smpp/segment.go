package smpp

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// SplitMode is the method a peer uses for messages longer than one SMS.
type SplitMode uint8

// Split modes. The zero value is SplitUDH.
const (
	// SplitUDH puts a concatenation header with an 8-bit reference (IEI
	// 0x00) at the start of each segment's short_message and sets UDHI.
	SplitUDH SplitMode = iota
	// SplitUDH16 uses a 16-bit reference header (IEI 0x08), one septet or
	// octet less per segment.
	SplitUDH16
	// SplitSAR sends each segment as plain text and returns the
	// sar_msg_ref_num, sar_total_segments and sar_segment_seqnum values
	// (SMPP 3.4 sections 5.3.2.22-24) for the caller to put in TLVs.
	SplitSAR
	// SplitPayload sends the whole text as one message_payload TLV (SMPP
	// 3.4 section 5.3.2.32) and leaves segmentation to the SMSC.
	SplitPayload
)

// Limits on a split message.
const (
	// MaxSegments is the most segments a concatenated message can have:
	// the total is one octet (3GPP TS 23.040 section 9.2.3.24.1).
	MaxSegments = 255
	// MaxPayloadOctets is the most a message_payload TLV holds, the
	// largest 16-bit TLV length (SMPP 3.4 section 5.3.2.32).
	MaxPayloadOctets = 0xFFFF
)

// ErrTooManySegments means a text needs more than MaxSegments segments, or
// more than MaxPayloadOctets octets in SplitPayload mode.
var ErrTooManySegments = errors.New("smpp: text too long for one concatenated message")

// ErrNoRefSource means SplitText needs a reference number for a
// multi-segment message but SplitOptions.Refs is nil.
var ErrNoRefSource = errors.New("smpp: no reference number source for a multi-segment message")

// RefSource hands out concatenation reference numbers. Segments of one
// message share a reference; successive messages to the same destination
// need different ones. SplitText uses the low 8 bits with SplitUDH.
type RefSource interface {
	NextRef() uint16
}

// RefCounter is a RefSource that counts up from 1, wrapping after 0xFFFF.
// It is safe for concurrent use. The zero value is ready to use.
type RefCounter struct {
	n atomic.Uint32
}

// NextRef returns the next reference number.
func (c *RefCounter) NextRef() uint16 {
	return uint16(c.n.Add(1))
}

// SplitOptions configure SplitText for one peer.
type SplitOptions struct {
	// Mode is the peer's method for long messages. Default: SplitUDH.
	Mode SplitMode
	// Text holds the peer's meaning of data_coding 0x00 and GSM packing.
	Text TextOptions
	// Refs supplies reference numbers. It is needed only when a text
	// takes more than one segment in SplitUDH, SplitUDH16 or SplitSAR mode.
	Refs RefSource
}

// Segment is one short message of a split text.
type Segment struct {
	// Data is the short_message value, concatenation header included when
	// UDHI is set. In SplitPayload mode it is the message_payload value.
	Data []byte
	// UDHI means Data starts with a header, so the caller sets the
	// esm_class UDHI bit (0x40).
	UDHI bool
	// Part places the segment in its message. Its Total is 0 for a
	// message sent whole. In SplitSAR mode the caller copies it to the
	// sar_* TLVs.
	Part ConcatInfo
	// Text is the part of the text this segment carries. For binary
	// codings it holds the raw octets.
	Text string
}

// segmentLimits gives the capacity of a segment in cost units and the cost
// of each character. single applies to a text sent whole, multi to each
// segment of a longer one.
type segmentLimits struct {
	single, multi int
	cost          func(rune) int
}

// limitsFor returns the limits for an alphabet when each segment of a
// concatenated message gives udhLen octets to its header.
func limitsFor(a alphabet, coding DataCoding, udhLen int) segmentLimits {
	one := func(rune) int { return 1 }
	switch {
	case a == alphabetGSM7:
		return segmentLimits{maxUserDataSeptets, septetCapacity(udhLen), gsmCost}
	case coding == CodingDefault:
		// NOTE: a peer whose data_coding 0x00 is Latin-1 or IA5 is assumed to
		// send it over the air as GSM 7-bit, so the septet limits apply and a
		// character outside the GSM alphabet counts as one septet.
		return segmentLimits{maxUserDataSeptets, septetCapacity(udhLen), gsmCost}
	case a == alphabetUCS2:
		return segmentLimits{maxUserDataOctets / 2, (maxUserDataOctets - udhLen) / 2, ucs2Cost}
	}
	return segmentLimits{maxUserDataOctets, maxUserDataOctets - udhLen, one}
}

// headerLen returns the octets a segment gives to its concatenation header
// in mode m.
//
// SplitSAR reserves the 16-bit reference header: sar_msg_ref_num is 16 bits,
// so the SMSC may need IEI 0x08 to carry it to the handset.
func (m SplitMode) headerLen() int {
	if m == SplitUDH {
		return concatUDHLen
	}
	return concat16UDHLen
}

// SplitText encodes text in coding and splits it into the segments one
// message needs, in the mode opts.Mode selects. A text that fits one segment yields one
// Segment with a zero Part and no header.
//
// Segments hold 153 GSM septets (152 with a 16-bit reference or SAR), 67
// UCS2 code units (66) or 134 octets (133). A text sent whole holds 160, 70
// or 140. An extension character's two septets and a surrogate pair's two
// code units always stay in one segment. It returns an *TextEncodeError for
// characters coding cannot hold, ErrTooManySegments past 255 segments or
// 65535 payload octets, and ErrNoRefSource when it needs a reference and
// opts.Refs is nil.
func SplitText(text string, coding DataCoding, opts SplitOptions) ([]Segment, error) {
	a := alphabetOf(coding, opts.Text.Default)
	if opts.Mode == SplitPayload {
		data, err := EncodeText(text, coding, opts.Text)
		if err != nil {
			return nil, err
		}
		if len(data) > MaxPayloadOctets {
			return nil, fmt.Errorf("%w: %d octets, max %d in message_payload",
				ErrTooManySegments, len(data), MaxPayloadOctets)
		}
		return []Segment{{Data: data, Text: text}}, nil
	}

	// Check the alphabet before splitting, so the error names every
	// character that does not fit.
	if _, err := encodeUnpacked(text, coding, opts.Text.Default); err != nil {
		return nil, err
	}
	limits := limitsFor(a, coding, opts.Mode.headerLen())
	var pieces []string
	if a == alphabetBinary {
		pieces = splitOctets(text, limits)
	} else {
		pieces = splitRunes(text, limits)
	}
	if len(pieces) > MaxSegments {
		return nil, fmt.Errorf("%w: %d segments, max %d", ErrTooManySegments, len(pieces), MaxSegments)
	}
	if len(pieces) == 1 {
		data, err := EncodeText(text, coding, opts.Text)
		return []Segment{{Data: data, Text: text}}, err
	}
	if opts.Refs == nil {
		return nil, ErrNoRefSource
	}
	return buildSegments(pieces, coding, opts, opts.Refs.NextRef())
}

// buildSegments encodes each piece and adds its header or SAR values.
func buildSegments(pieces []string, coding DataCoding, opts SplitOptions, ref uint16) ([]Segment, error) {
	gsm := alphabetOf(coding, opts.Text.Default) == alphabetGSM7
	if opts.Mode == SplitUDH {
		ref &= 0xFF
	}
	segments := make([]Segment, len(pieces))
	for i, piece := range pieces {
		part := ConcatInfo{Ref: ref, Total: uint8(len(pieces)), Seq: uint8(i + 1)}
		body, err := encodeUnpacked(piece, coding, opts.Text.Default)
		if err != nil {
			return nil, err
		}
		seg := Segment{Part: part, Text: piece}
		if opts.Mode == SplitSAR {
			if gsm && opts.Text.Packed {
				body = PackSeptets(body, 0)
			}
			seg.Data = body
			segments[i] = seg
			continue
		}
		header, err := ConcatUDH(part, opts.Mode == SplitUDH16).Bytes()
		if err != nil {
			return nil, err
		}
		if gsm && opts.Text.Packed {
			body = PackSeptets(body, septetAlign(len(header))*7-len(header)*8)
		}
		seg.Data = append(header, body...)
		seg.UDHI = true
		segments[i] = seg
	}
	return segments, nil
}

// splitRunes cuts text into pieces whose cost fits the limits, never
// inside a character.
func splitRunes(text string, limits segmentLimits) []string {
	total := 0
	for _, r := range text {
		total += limits.cost(r)
	}
	if total <= limits.single {
		return []string{text}
	}
	var pieces []string
	start, used := 0, 0
	for i, r := range text {
		c := limits.cost(r)
		if used+c > limits.multi {
			pieces = append(pieces, text[start:i])
			start, used = i, 0
		}
		used += c
	}
	return append(pieces, text[start:])
}

// splitOctets cuts binary data into pieces of at most limits.multi octets.
func splitOctets(data string, limits segmentLimits) []string {
	if len(data) <= limits.single {
		return []string{data}
	}
	var pieces []string
	for len(data) > limits.multi {
		pieces = append(pieces, data[:limits.multi])
		data = data[limits.multi:]
	}
	return append(pieces, data)
}
