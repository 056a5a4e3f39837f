package gateway

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/optgate/optgate/smpp"
)

// The bbolt store keeps each MessageRecord in a compact binary form. A
// single-segment record with an 8-character carrier id takes 114 bytes
// against 303 as JSON, and 157 against 535 once it carries its DELIVRD
// receipt. A value starts with recordFormatV1. A value that starts with '{' is the JSON written by
// earlier versions, and is still read. Strings are a uvarint length
// followed by the bytes, counts are uvarints, and times are a varint of
// Unix seconds followed by a uvarint of nanoseconds, read back in UTC.
//
// Record layout: format, ID, Account, Carrier, From, To, ClientRef,
// Blocked, registered_delivery, policy, flags, Total, Submitted, Expires,
// segment count, then the segments. A segment is CarrierID, key count,
// keys, state, receipt flags and, when receiptPresent is set, the receipt:
// Carrier (unless receiptSameCarrier), ID (unless receiptSameID), state,
// Stat, Err, network_error_code when receiptNetworkError is set,
// SubmitDate, DoneDate and Received.
const recordFormatV1 = 0x01

// Record flags.
const (
	recordFailed   = 1 << 0
	recordReported = 1 << 1
)

// Segment receipt flags.
const (
	receiptPresent      = 1 << 0
	receiptSameCarrier  = 1 << 1 // the receipt's Carrier is the record's
	receiptSameID       = 1 << 2 // the receipt's ID is the segment's CarrierID
	receiptNetworkError = 1 << 3
)

// maxRecordSegments bounds the segment total a record may declare. A
// concatenated text has at most 255 segments (the UDH counts them in one
// octet), so a larger total marks a damaged value.
const maxRecordSegments = 255

// errRecordTruncated reports a binary record that ends before its last
// field.
var errRecordTruncated = errors.New("record truncated")

// encodeRecord is the encoding the bbolt store writes. Tests swap it to
// measure the JSON encoding of earlier versions.
var encodeRecord = appendRecord

// appendRecord appends the binary form of r to b.
func appendRecord(b []byte, r *MessageRecord) ([]byte, error) {
	b = append(b, recordFormatV1)
	for _, s := range []string{r.ID, r.Account, r.Carrier, r.From, r.To, r.ClientRef, string(r.Blocked)} {
		b = appendString(b, s)
	}
	var flags byte
	if r.Failed {
		flags |= recordFailed
	}
	if r.Reported {
		flags |= recordReported
	}
	if r.Total < 0 || r.Total > maxRecordSegments {
		return nil, fmt.Errorf("record %s: segment total %d outside 0 to %d", r.ID, r.Total, maxRecordSegments)
	}
	b = append(b, r.RegisteredDelivery, byte(r.Policy), flags)
	b = binary.AppendUvarint(b, uint64(r.Total))
	b = appendTime(b, r.Submitted)
	b = appendTime(b, r.Expires)
	b = binary.AppendUvarint(b, uint64(len(r.Segments)))
	for i := range r.Segments {
		b = appendSegment(b, r, &r.Segments[i])
	}
	return b, nil
}

func appendSegment(b []byte, r *MessageRecord, seg *SegmentRecord) []byte {
	b = appendString(b, seg.CarrierID)
	b = binary.AppendUvarint(b, uint64(len(seg.Keys)))
	for _, k := range seg.Keys {
		b = appendString(b, k)
	}
	b = append(b, byte(seg.State))
	rc := seg.Receipt
	if rc == nil {
		return append(b, 0)
	}

	flags := byte(receiptPresent)
	if rc.Carrier == r.Carrier {
		flags |= receiptSameCarrier
	}
	if rc.ID == seg.CarrierID {
		flags |= receiptSameID
	}
	if rc.NetworkError != nil {
		flags |= receiptNetworkError
	}
	b = append(b, flags)

	if flags&receiptSameCarrier == 0 {
		b = appendString(b, rc.Carrier)
	}
	if flags&receiptSameID == 0 {
		b = appendString(b, rc.ID)
	}
	b = append(b, byte(rc.State))
	b = appendString(b, rc.Stat)
	b = appendString(b, rc.Err)
	if rc.NetworkError != nil {
		b = append(b, rc.NetworkError.NetworkType)
		b = binary.BigEndian.AppendUint16(b, rc.NetworkError.ErrorCode)
	}
	b = appendTime(b, rc.SubmitDate)
	b = appendTime(b, rc.DoneDate)
	return appendTime(b, rc.Received)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendTime(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

// decodeRecord reads a record in the binary form or in the JSON of
// earlier versions.
func decodeRecord(v []byte) (MessageRecord, error) {
	var r MessageRecord
	if len(v) == 0 {
		return r, errors.New("empty record")
	}
	if v[0] == '{' {
		err := json.Unmarshal(v, &r)
		return r, err
	}
	if v[0] != recordFormatV1 {
		return r, fmt.Errorf("unknown record format 0x%02x", v[0])
	}
	d := recordDecoder{b: v[1:]}
	d.record(&r)
	if d.err != nil {
		return MessageRecord{}, d.err
	}
	if len(d.b) != 0 {
		return MessageRecord{}, fmt.Errorf("record %s: %d bytes after the last segment", r.ID, len(d.b))
	}
	return r, nil
}

// recordDecoder reads the binary form. After the first error every read
// returns a zero value and err keeps that error.
type recordDecoder struct {
	b   []byte
	err error
}

func (d *recordDecoder) record(r *MessageRecord) {
	r.ID, r.Account, r.Carrier = d.string(), d.string(), d.string()
	r.From, r.To, r.ClientRef = d.string(), d.string(), d.string()
	r.Blocked = Code(d.string())
	r.RegisteredDelivery, r.Policy = d.byte(), ReceiptPolicy(d.byte())
	flags := d.byte()
	r.Failed, r.Reported = flags&recordFailed != 0, flags&recordReported != 0
	if total := d.uvarint(); total <= maxRecordSegments {
		r.Total = int(total)
	} else if d.err == nil {
		d.err = fmt.Errorf("record %s: segment total %d exceeds %d", r.ID, total, maxRecordSegments)
	}
	r.Submitted, r.Expires = d.time(), d.time()
	n := d.count()
	if n == 0 || d.err != nil {
		return
	}
	r.Segments = make([]SegmentRecord, n)
	for i := range r.Segments {
		d.segment(r, &r.Segments[i])
	}
}

func (d *recordDecoder) segment(r *MessageRecord, seg *SegmentRecord) {
	seg.CarrierID = d.string()
	if n := d.count(); n > 0 {
		seg.Keys = make([]string, n)
		for i := range seg.Keys {
			seg.Keys[i] = d.string()
		}
	}
	seg.State = smpp.MessageState(d.byte())
	flags := d.byte()
	if flags&receiptPresent == 0 || d.err != nil {
		return
	}

	rc := &CarrierReceipt{Carrier: r.Carrier, ID: seg.CarrierID}
	if flags&receiptSameCarrier == 0 {
		rc.Carrier = d.string()
	}
	if flags&receiptSameID == 0 {
		rc.ID = d.string()
	}
	rc.State = smpp.MessageState(d.byte())
	rc.Stat, rc.Err = d.string(), d.string()
	if flags&receiptNetworkError != 0 {
		nec := &smpp.NetworkErrorCode{NetworkType: d.byte()}
		if b := d.take(2); b != nil {
			nec.ErrorCode = binary.BigEndian.Uint16(b)
		}
		rc.NetworkError = nec
	}
	rc.SubmitDate, rc.DoneDate, rc.Received = d.time(), d.time(), d.time()
	seg.Receipt = rc
}

func (d *recordDecoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errRecordTruncated
		return nil
	}
	b := d.b[:n]
	d.b = d.b[n:]
	return b
}

func (d *recordDecoder) byte() byte {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *recordDecoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errRecordTruncated
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length or count, which cannot exceed the bytes left
// because every counted element takes at least one byte.
func (d *recordDecoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) && d.err == nil {
		d.err = fmt.Errorf("count %d exceeds the %d bytes left: %w", v, len(d.b), errRecordTruncated)
		return 0
	}
	return int(v)
}

func (d *recordDecoder) string() string {
	return string(d.take(d.count()))
}

func (d *recordDecoder) time() time.Time {
	if d.err != nil {
		return time.Time{}
	}
	sec, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errRecordTruncated
		return time.Time{}
	}
	d.b = d.b[n:]
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		if d.err == nil {
			d.err = fmt.Errorf("invalid nanoseconds %d", nsec)
		}
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}
