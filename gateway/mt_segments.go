package gateway

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/optgate/optgate/smpp"
)

// content is the body of an MT: text to encode for the carrier, or octets
// to pass through.
type content struct {
	text   string
	isText bool
	coding smpp.DataCoding
	data   []byte
	// udh is a business's user data header, length octet included.
	udh []byte
}

// maxShortMessage is the most octets short_message holds (SMPP 3.4
// section 4.4.1). A business's own segment is passed on if it fits; the
// carrier applies the SMS limits, which depend on the coding.
const maxShortMessage = 254

// receiptBits are the registered_delivery bits passed to carriers: the
// SMSC delivery receipt bits and intermediate notification (SMPP 3.4
// section 5.2.17). SME acknowledgements are the business's own affair.
const receiptBits = smpp.RegisteredDeliveryReceiptMask | smpp.RegisteredDeliveryIntermediate

// contentOf checks the body of mt. Data in a text coding without a header
// is decoded, so it can be re-encoded for the carrier.
func contentOf(mt MT) (content, error) {
	if mt.Data == nil && mt.UDH == nil {
		if mt.Text == "" {
			return content{}, errors.New("the message has no text")
		}
		return content{text: mt.Text, isText: true}, nil
	}
	if mt.Text != "" {
		return content{}, errors.New("the message has both text and data")
	}
	if len(mt.UDH) > 0 {
		if _, rest, err := smpp.ParseUDH(mt.UDH); err != nil || len(rest) != 0 {
			return content{}, fmt.Errorf("invalid user data header % x", mt.UDH)
		}
		return content{coding: mt.DataCoding, data: mt.Data, udh: mt.UDH}, nil
	}
	if isBinaryCoding(mt.DataCoding) {
		if len(mt.Data) == 0 {
			return content{}, errors.New("the message has no data")
		}
		return content{coding: mt.DataCoding, data: mt.Data}, nil
	}
	text, err := smpp.DecodeText(mt.DataCoding, mt.Data, mt.TextOptions)
	if err != nil {
		return content{}, err
	}
	if text == "" {
		return content{}, errors.New("the message has no text")
	}
	return content{text: text, isText: true}, nil
}

// isBinaryCoding reports the data_coding values that carry 8-bit data
// rather than text: 0x02 and 0x04 (SMPP 3.4 section 5.2.19), and the
// 8-bit alphabets of the GSM 03.38 general and message class groups
// (3GPP TS 23.038 section 4).
func isBinaryCoding(c smpp.DataCoding) bool {
	switch {
	case c == smpp.CodingOctetUnspecified || c == smpp.CodingBinary:
		return true
	case c >= 0x10 && c < 0x40:
		return (c>>2)&0x03 == 0x01
	case c >= 0xF0:
		return c&0x04 != 0
	}
	return false
}

// chooseCoding returns data_coding 0 when the carrier's default alphabet
// holds the text, and UCS2 otherwise.
func chooseCoding(text string, def smpp.DefaultAlphabet) smpp.DataCoding {
	limit := rune(0x100)
	switch def {
	case smpp.DefaultGSM:
		if smpp.GSMFits(text) {
			return smpp.CodingDefault
		}
		return smpp.CodingUCS2
	case smpp.DefaultIA5:
		limit = 0x80
	}
	if strings.IndexFunc(text, func(r rune) bool { return r >= limit }) < 0 {
		return smpp.CodingDefault
	}
	return smpp.CodingUCS2
}

// buildPDUs turns a message into the submit_sm PDUs the carrier takes.
func buildPDUs(req sendRequest, carrier *Carrier, refs smpp.RefSource) ([]*smpp.SubmitSM, error) {
	if len(req.body.udh) > 0 {
		p, err := headerPDU(req, carrier)
		if err != nil {
			return nil, err
		}
		return []*smpp.SubmitSM{p}, nil
	}
	text, coding := string(req.body.data), req.body.coding
	if req.body.isText {
		text, coding = req.body.text, chooseCoding(req.body.text, carrier.Text.Default)
	}
	segments, payload, err := splitFor(text, coding, carrier, refs)
	if err != nil {
		code := CodeInvalidMessage
		if errors.Is(err, smpp.ErrTooManySegments) {
			code = CodeMessageTooLong
		}
		return nil, &Error{Code: code, Carrier: carrier.Name, Err: err}
	}
	pdus := make([]*smpp.SubmitSM, len(segments))
	for i, seg := range segments {
		p := newSubmit(req, coding)
		if payload {
			p.TLVs.SetMessagePayload(seg.Data)
		} else {
			p.ShortMessage = seg.Data
		}
		if seg.UDHI {
			p.ESMClass |= smpp.ESMClassUDHI
		}
		if carrier.Split == smpp.SplitSAR && seg.Part.Total > 0 {
			p.TLVs.SetSAR(smpp.SAR{RefNum: seg.Part.Ref, TotalSegments: seg.Part.Total, SegmentSeqnum: seg.Part.Seq})
		}
		pdus[i] = p
	}
	return pdus, nil
}

// splitFor splits text as the carrier takes long messages. It reports
// whether the single segment goes in message_payload: in payload mode a
// text that fits one SMS still travels in short_message, which every SMSC
// reads.
func splitFor(text string, coding smpp.DataCoding, c *Carrier, refs smpp.RefSource) ([]smpp.Segment, bool, error) {
	if c.Split == smpp.SplitPayload {
		single, err := smpp.SplitText(text, coding, smpp.SplitOptions{Text: c.Text})
		if !errors.Is(err, smpp.ErrNoRefSource) {
			return single, false, err
		}
		segments, err := smpp.SplitText(text, coding, smpp.SplitOptions{Mode: smpp.SplitPayload, Text: c.Text})
		return segments, true, err
	}
	segments, err := smpp.SplitText(text, coding, smpp.SplitOptions{Mode: c.Split, Text: c.Text, Refs: refs})
	return segments, false, err
}

// headerPDU passes a business's own segment, header included, to the
// carrier. For a SAR carrier the concatenation element moves to the sar_*
// TLVs; other elements stay in the header.
func headerPDU(req sendRequest, carrier *Carrier) (*smpp.SubmitSM, error) {
	udh, _, err := smpp.ParseUDH(req.body.udh)
	if err != nil {
		return nil, &Error{Code: CodeInvalidMessage, Err: err}
	}
	p := newSubmit(req, req.body.coding)
	header := req.body.udh
	if concat, ok := udh.Concat(); ok && carrier.Split == smpp.SplitSAR {
		p.TLVs.SetSAR(smpp.SAR{RefNum: concat.Ref, TotalSegments: concat.Total, SegmentSeqnum: concat.Seq})
		udh.Elements = slices.DeleteFunc(udh.Elements, func(e smpp.InformationElement) bool {
			return e.ID == smpp.IEIConcat8 || e.ID == smpp.IEIConcat16
		})
		header = nil
		if len(udh.Elements) > 0 {
			if header, err = udh.Bytes(); err != nil {
				return nil, &Error{Code: CodeInvalidMessage, Err: err}
			}
		}
	}
	data := append(append([]byte(nil), header...), req.body.data...)
	if len(header) > 0 {
		p.ESMClass |= smpp.ESMClassUDHI
	}
	switch {
	case len(data) > maxShortMessage && carrier.Split == smpp.SplitPayload:
		p.TLVs.SetMessagePayload(data)
	case len(data) > maxShortMessage:
		return nil, &Error{Code: CodeMessageTooLong, Carrier: carrier.Name,
			Err: fmt.Errorf("segment of %d octets exceeds the %d octets of short_message", len(data), maxShortMessage)}
	default:
		p.ShortMessage = data
	}
	return p, nil
}

// newSubmit returns a submit_sm between two E.164 numbers, sent with TON
// international and NPI ISDN (SMPP 3.4 sections 5.2.5 and 5.2.6).
func newSubmit(req sendRequest, coding smpp.DataCoding) *smpp.SubmitSM {
	return &smpp.SubmitSM{
		SourceAddrTON:      smpp.TONInternational,
		SourceAddrNPI:      smpp.NPIISDN,
		SourceAddr:         strings.TrimPrefix(req.from, "+"),
		DestAddrTON:        smpp.TONInternational,
		DestAddrNPI:        smpp.NPIISDN,
		DestinationAddr:    strings.TrimPrefix(req.to, "+"),
		RegisteredDelivery: req.registered & receiptBits,
		DataCoding:         coding,
	}
}
