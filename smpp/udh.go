package smpp

import (
	"errors"
	"fmt"
)

// User data header (UDH), 3GPP TS 23.040 section 9.2.3.24. When esm_class
// has the UDHI bit (0x40) set, short_message or message_payload starts with
// a header: one length octet (UDHL) and then information elements, each an
// identifier (IEI), a length (IEDL) and IEDL octets of data.

// Information element identifiers this package interprets (3GPP TS 23.040
// section 9.2.3.24, table 9.2.3.24).
const (
	IEIConcat8  byte = 0x00 // concatenated short message, 8-bit reference (9.2.3.24.1)
	IEIPorts8   byte = 0x04 // application port addressing, 8-bit ports (9.2.3.24.3)
	IEIPorts16  byte = 0x05 // application port addressing, 16-bit ports (9.2.3.24.4)
	IEIConcat16 byte = 0x08 // concatenated short message, 16-bit reference (9.2.3.24.8)
)

// Sizes of the concatenation headers, length octet included.
const (
	concatUDHLen   = 6 // 05 00 03 ref total seq
	concat16UDHLen = 7 // 06 08 04 ref ref total seq
)

// ErrInvalidUDH means a user data header does not fit in its data: the
// header length or an element length runs past the end.
var ErrInvalidUDH = errors.New("smpp: invalid user data header")

// InformationElement is one element of a user data header.
type InformationElement struct {
	ID   byte   // IEI
	Data []byte // IE data, IEDL octets
}

// UDH is a user data header: its information elements in order, including
// ones this package does not interpret.
type UDH struct {
	Elements []InformationElement
}

// ConcatInfo places one segment in a concatenated message: the reference
// shared by its segments, their number and this segment's 1-based number.
// The same values travel in the sar_msg_ref_num, sar_total_segments and
// sar_segment_seqnum TLVs (SMPP 3.4 sections 5.3.2.22-24).
type ConcatInfo struct {
	Ref   uint16
	Total uint8
	Seq   uint8
}

// Valid reports whether c can place a segment: Total and Seq are non-zero
// and Seq is at most Total. 3GPP TS 23.040 section 9.2.3.24.1 requires a
// receiver to ignore the element otherwise.
func (c ConcatInfo) Valid() bool {
	return c.Total > 0 && c.Seq > 0 && c.Seq <= c.Total
}

// PortInfo is an application port addressing element.
type PortInfo struct {
	Destination uint16
	Source      uint16
	Wide        bool // 16-bit ports (IEI 0x05) rather than 8-bit (IEI 0x04)
}

// ParseUDH parses the header at the start of data and returns it with the
// rest of data. It returns an error wrapping ErrInvalidUDH when data is
// empty or a length runs past the end. Unknown elements are kept in
// Elements and ignored by the accessors. The returned slices share data's
// memory.
func ParseUDH(data []byte) (UDH, []byte, error) {
	if len(data) == 0 {
		return UDH{}, nil, fmt.Errorf("%w: data is empty, so there is no header length octet", ErrInvalidUDH)
	}
	udhl := int(data[0])
	if 1+udhl > len(data) {
		return UDH{}, nil, fmt.Errorf("%w: header length %d runs past the %d octets after it",
			ErrInvalidUDH, udhl, len(data)-1)
	}
	var h UDH
	body := data[1 : 1+udhl]
	for i := 0; i < len(body); {
		if i+2 > len(body) {
			return UDH{}, nil, fmt.Errorf("%w: element at header octet %d has no length octet",
				ErrInvalidUDH, i)
		}
		id, n := body[i], int(body[i+1])
		if i+2+n > len(body) {
			return UDH{}, nil, fmt.Errorf("%w: element 0x%02x at header octet %d has length %d, "+
				"past the header's %d octets", ErrInvalidUDH, id, i, n, udhl)
		}
		h.Elements = append(h.Elements, InformationElement{ID: id, Data: body[i+2 : i+2+n]})
		i += 2 + n
	}
	return h, data[1+udhl:], nil
}

// Len returns the encoded size of h, length octet included.
func (h UDH) Len() int {
	n := 1
	for _, e := range h.Elements {
		n += 2 + len(e.Data)
	}
	return n
}

// Bytes encodes h with its length octet. It fails when an element holds
// more than 255 octets or the header more than 139, the most that leaves
// room in a 140-octet user data field.
func (h UDH) Bytes() ([]byte, error) {
	n := h.Len()
	if n-1 > maxUserDataOctets-1 {
		return nil, fmt.Errorf("smpp: user data header of %d octets exceeds the %d-octet maximum",
			n-1, maxUserDataOctets-1)
	}
	out := make([]byte, 0, n)
	out = append(out, byte(n-1))
	for _, e := range h.Elements {
		if len(e.Data) > 255 {
			return nil, fmt.Errorf("smpp: information element 0x%02x has %d octets, max 255",
				e.ID, len(e.Data))
		}
		out = append(out, e.ID, byte(len(e.Data)))
		out = append(out, e.Data...)
	}
	return out, nil
}

// Concat returns the concatenation element of h. When several are present
// the last one counts, as 3GPP TS 23.040 section 9.2.3.24 specifies for
// repeated elements. Elements with the wrong length or invalid numbers (see
// ConcatInfo.Valid) are ignored.
func (h UDH) Concat() (ConcatInfo, bool) {
	var found ConcatInfo
	ok := false
	for _, e := range h.Elements {
		var c ConcatInfo
		switch {
		case e.ID == IEIConcat8 && len(e.Data) == 3:
			c = ConcatInfo{Ref: uint16(e.Data[0]), Total: e.Data[1], Seq: e.Data[2]}
		case e.ID == IEIConcat16 && len(e.Data) == 4:
			c = ConcatInfo{Ref: uint16(e.Data[0])<<8 | uint16(e.Data[1]), Total: e.Data[2], Seq: e.Data[3]}
		default:
			continue
		}
		if c.Valid() {
			found, ok = c, true
		}
	}
	return found, ok
}

// Ports returns the application port addressing element of h, the last one
// when several are present. Elements with the wrong length are ignored.
func (h UDH) Ports() (PortInfo, bool) {
	var found PortInfo
	ok := false
	for _, e := range h.Elements {
		switch {
		case e.ID == IEIPorts8 && len(e.Data) == 2:
			found = PortInfo{Destination: uint16(e.Data[0]), Source: uint16(e.Data[1])}
			ok = true
		case e.ID == IEIPorts16 && len(e.Data) == 4:
			found = PortInfo{
				Destination: uint16(e.Data[0])<<8 | uint16(e.Data[1]),
				Source:      uint16(e.Data[2])<<8 | uint16(e.Data[3]),
				Wide:        true,
			}
			ok = true
		}
	}
	return found, ok
}

// ConcatUDH returns a header with one concatenation element for c: IEI
// 0x00 with the low 8 bits of c.Ref, or IEI 0x08 with all 16 when wide.
func ConcatUDH(c ConcatInfo, wide bool) UDH {
	e := InformationElement{ID: IEIConcat8, Data: []byte{byte(c.Ref), c.Total, c.Seq}}
	if wide {
		e = InformationElement{ID: IEIConcat16, Data: []byte{byte(c.Ref >> 8), byte(c.Ref), c.Total, c.Seq}}
	}
	return UDH{Elements: []InformationElement{e}}
}

// UserData is short_message or message_payload split into its header and
// the encoded text after it.
type UserData struct {
	// Header is the parsed header, or nil when the UDHI bit is clear.
	Header *UDH
	// Body is the encoded text. GSM 7-bit text is always one septet per
	// octet here, unpacked from packed data when the peer packs it.
	Body []byte
}

// ParseUserData splits data into its header (when udhi, the esm_class UDHI
// bit, is set) and body. For packed GSM 7-bit text the fill bits after the
// header are skipped (3GPP TS 23.040 section 9.2.3.24) and the septets
// unpacked. Body shares data's memory unless it was unpacked.
func ParseUserData(coding DataCoding, data []byte, udhi bool, opts TextOptions) (UserData, error) {
	var ud UserData
	body := data
	if udhi {
		h, rest, err := ParseUDH(data)
		if err != nil {
			return UserData{}, err
		}
		ud.Header = &h
		body = rest
	}
	if opts.Packed && alphabetOf(coding, opts.Default) == alphabetGSM7 {
		fill := 0
		if udhi {
			headerLen := len(data) - len(body)
			fill = septetAlign(headerLen)*7 - headerLen*8
		}
		body = UnpackSeptets(body, fill, -1)
	}
	ud.Body = body
	return ud, nil
}

// Text decodes the body in coding. It ignores opts.Packed, because
// ParseUserData has already unpacked GSM 7-bit bodies.
func (ud UserData) Text(coding DataCoding, opts TextOptions) (string, error) {
	opts.Packed = false
	return DecodeText(coding, ud.Body, opts)
}
