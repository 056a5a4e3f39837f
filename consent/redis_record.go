package consent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Redis record encoding, format 1. The Redis store keeps each record as one
// hash field value in this form, which is tighter than Record.MarshalBinary
// so that a record costs 17 to 28 bytes of Redis memory in listpack
// buckets:
//
//	byte     state (bits 0-2), prior state (bits 3-5), request count (bits 6-7)
//	byte     source (bits 0-2), has-time flag (bit 3), raw flag of request 1
//	         (bit 4) and of request 2 (bit 5), format (bits 6-7)
//	uvarint  seq
//	varint   updated, in whole seconds since redisEpoch; only with the
//	         has-time flag
//	for each request:
//	         compact toll-free code as a uvarint, or, with the raw flag,
//	         uvarint length and the number's bytes
//	uvarint  request seq
//
// Updated keeps whole seconds only; the audit entry of the same event keeps
// the exact time.
//
// Format 2 is format 1 with two more fields after the flags byte: a byte
// with the record's pending reply, and a varint with its pending since
// time in whole seconds since redisEpoch. It is written only for a record
// with a pending reply, so other records keep their format 1 size.
const (
	redisRecordFormat        = 1
	redisRecordFormatPending = 2
)

// redisEpoch is the Unix time of 2028-01-01 00:00:00 UTC. Update times are
// stored as signed offsets from it, so times from late 2023 to early 2032
// take four bytes.
const redisEpoch = 1830297600

// maxRedisEpochOffset bounds an update time to about ±34,000 years around
// redisEpoch, so corrupt input cannot overflow the Unix time. The offset
// then takes at most six varint bytes.
const maxRedisEpochOffset = 1 << 40

// tollFreeAreaCodes are the US/CA toll-free area codes in use. A
// toll-free number "+1" + area code + seven digits is stored as the code
// index × 10^7 + the seven digits, which is below 2^27 and fits in four
// uvarint bytes.
var tollFreeAreaCodes = [...]string{"800", "833", "844", "855", "866", "877", "888"}

const (
	tollFreeLineCount  = 10_000_000
	maxTollFreeCode    = len(tollFreeAreaCodes) * tollFreeLineCount
	redisFlagTime      = 1 << 3
	redisFlagRaw1      = 1 << 4
	redisFlagRaw2      = 1 << 5
	redisFormatShift   = 6
	redisSourceMask    = 0x07
	redisStateMask     = 0x07
	redisPriorShift    = 3
	redisRequestsShift = 6
	maxRedisTimeBytes  = 6
	maxTollFreeBytes   = 4
	// maxCompactRedisRecord is the size of the longest record whose
	// requests came from US/CA toll-free numbers, and maxRedisRecordBytes
	// the size of the longest record of all.
	maxCompactRedisRecord = 3 + binary.MaxVarintLen32 + 2*maxRedisTimeBytes +
		MaxRequests*(maxTollFreeBytes+binary.MaxVarintLen32)
	maxRedisRecordBytes = 3 + binary.MaxVarintLen32 + 2*maxRedisTimeBytes +
		MaxRequests*(1+maxEncodedNumber+binary.MaxVarintLen32)
)

// appendRedisRecord appends the Redis encoding of r to b. It rejects a
// record it could not decode back to an equal one, apart from the
// sub-second part of Updated.
func appendRedisRecord(b []byte, r Record) ([]byte, error) {
	if r.State >= stateCount || r.Prior >= stateCount || r.Source >= sourceCount {
		return b, fmt.Errorf("encode record: invalid state %d, prior state %d or source %d", r.State, r.Prior, r.Source)
	}
	if r.Requests > MaxRequests {
		return b, fmt.Errorf("encode record: %d requests exceeds the maximum of %d", r.Requests, MaxRequests)
	}
	for i := int(r.Requests); i < MaxRequests; i++ {
		if r.RequestFrom[i] != "" || r.RequestSeq[i] != 0 {
			return b, fmt.Errorf("encode record: request slot %d is set but the record counts %d requests", i+1, r.Requests)
		}
	}

	var pendingOffset int64
	if r.PendingReply != ReplyNone {
		if !r.PendingReply.isConfirmation() {
			return b, fmt.Errorf("encode record: invalid pending reply %s", r.PendingReply)
		}
		if r.PendingSince.IsZero() {
			return b, fmt.Errorf("encode record: pending reply %s has no time", r.PendingReply)
		}
		pendingOffset = r.PendingSince.Unix() - redisEpoch
		if pendingOffset > maxRedisEpochOffset || pendingOffset < -maxRedisEpochOffset {
			return b, fmt.Errorf("encode record: pending reply time %s is out of range", r.PendingSince)
		}
	}

	var codes [MaxRequests]int
	var offset int64
	flags := byte(r.Source) | redisRecordFormat<<redisFormatShift
	if r.PendingReply != ReplyNone {
		flags = byte(r.Source) | redisRecordFormatPending<<redisFormatShift
	}
	if !r.Updated.IsZero() {
		flags |= redisFlagTime
		offset = r.Updated.Unix() - redisEpoch
		if offset > maxRedisEpochOffset || offset < -maxRedisEpochOffset {
			return b, fmt.Errorf("encode record: update time %s is out of range", r.Updated)
		}
	}
	for i := range int(r.Requests) {
		from := r.RequestFrom[i]
		if len(from) > maxEncodedNumber {
			return b, fmt.Errorf("encode record: toll-free number %q is too long", from)
		}
		code, ok := tollFreeCode(from)
		if !ok {
			flags |= redisFlagRaw1 << i
		}
		codes[i] = code
	}

	b = append(b, byte(r.State)|byte(r.Prior)<<redisPriorShift|r.Requests<<redisRequestsShift, flags)
	if r.PendingReply != ReplyNone {
		b = append(b, byte(r.PendingReply))
		b = binary.AppendVarint(b, pendingOffset)
	}
	b = binary.AppendUvarint(b, uint64(r.Seq))
	if flags&redisFlagTime != 0 {
		b = binary.AppendVarint(b, offset)
	}
	for i := range int(r.Requests) {
		if flags&(redisFlagRaw1<<i) != 0 {
			b = binary.AppendUvarint(b, uint64(len(r.RequestFrom[i])))
			b = append(b, r.RequestFrom[i]...)
		} else {
			b = binary.AppendUvarint(b, uint64(codes[i]))
		}
		b = binary.AppendUvarint(b, uint64(r.RequestSeq[i]))
	}
	return b, nil
}

// decodeRedisRecord decodes a value written by appendRedisRecord. Errors
// wrap ErrCorruptRecord.
func decodeRedisRecord(b []byte) (Record, error) {
	if len(b) < 3 {
		return Record{}, fmt.Errorf("%w: %d bytes, want at least 3", ErrCorruptRecord, len(b))
	}
	head, flags := b[0], b[1]
	var pending Reply
	var pendingSince time.Time
	switch format := flags >> redisFormatShift; format {
	case redisRecordFormat:
		b = b[2:]
	case redisRecordFormatPending:
		pending = Reply(b[2])
		if !pending.isConfirmation() {
			return Record{}, fmt.Errorf("%w: invalid pending reply %d", ErrCorruptRecord, b[2])
		}
		offset, n := binary.Varint(b[3:])
		if n <= 0 || offset > maxRedisEpochOffset || offset < -maxRedisEpochOffset {
			return Record{}, fmt.Errorf("%w: bad pending reply time", ErrCorruptRecord)
		}
		pendingSince = time.Unix(redisEpoch+offset, 0).UTC()
		b = b[3+n:]
	default:
		return Record{}, fmt.Errorf("%w: unknown Redis record format %d", ErrCorruptRecord, format)
	}
	r := Record{
		PendingReply: pending,
		PendingSince: pendingSince,
		State:        State(head & redisStateMask),
		Prior:        State(head >> redisPriorShift & redisStateMask),
		Requests:     head >> redisRequestsShift,
		Source:       Source(flags & redisSourceMask),
	}
	if r.State >= stateCount || r.Prior >= stateCount || r.Source >= sourceCount {
		return Record{}, fmt.Errorf("%w: invalid state, prior state or source", ErrCorruptRecord)
	}
	if r.Requests > MaxRequests {
		return Record{}, fmt.Errorf("%w: request count %d", ErrCorruptRecord, r.Requests)
	}
	if r.Requests < 2 && flags&redisFlagRaw2 != 0 || r.Requests < 1 && flags&redisFlagRaw1 != 0 {
		return Record{}, fmt.Errorf("%w: flags name a request the record does not count", ErrCorruptRecord)
	}

	seq, n := binary.Uvarint(b)
	if n <= 0 || seq > 1<<32-1 {
		return Record{}, fmt.Errorf("%w: bad sequence number", ErrCorruptRecord)
	}
	r.Seq = uint32(seq)
	b = b[n:]
	if flags&redisFlagTime != 0 {
		offset, n := binary.Varint(b)
		if n <= 0 || offset > maxRedisEpochOffset || offset < -maxRedisEpochOffset {
			return Record{}, fmt.Errorf("%w: bad update time", ErrCorruptRecord)
		}
		r.Updated = time.Unix(redisEpoch+offset, 0).UTC()
		b = b[n:]
	}

	for i := range int(r.Requests) {
		var err error
		if flags&(redisFlagRaw1<<i) != 0 {
			r.RequestFrom[i], b, err = decodeRawNumber(b)
		} else {
			r.RequestFrom[i], b, err = decodeTollFreeCode(b)
		}
		if err != nil {
			return Record{}, fmt.Errorf("%w: request %d: %w", ErrCorruptRecord, i+1, err)
		}
		rseq, n := binary.Uvarint(b)
		if n <= 0 || rseq > 1<<32-1 {
			return Record{}, fmt.Errorf("%w: bad sequence number of request %d", ErrCorruptRecord, i+1)
		}
		r.RequestSeq[i] = uint32(rseq)
		b = b[n:]
	}
	if len(b) != 0 {
		return Record{}, fmt.Errorf("%w: %d trailing bytes", ErrCorruptRecord, len(b))
	}
	return r, nil
}

// tollFreeCode returns the compact code of a US/CA toll-free number in
// E.164 form, or false for any other string.
func tollFreeCode(number string) (int, bool) {
	if len(number) != 12 || number[:2] != "+1" {
		return 0, false
	}
	line, err := strconv.ParseUint(number[5:], 10, 32)
	if err != nil {
		return 0, false
	}
	for i, area := range tollFreeAreaCodes {
		if number[2:5] == area {
			return i*tollFreeLineCount + int(line), true
		}
	}
	return 0, false
}

func decodeTollFreeCode(b []byte) (string, []byte, error) {
	code, n := binary.Uvarint(b)
	if n <= 0 || code >= uint64(maxTollFreeCode) {
		return "", nil, errors.New("bad toll-free code")
	}
	area, line := code/tollFreeLineCount, code%tollFreeLineCount
	// "+1", the area code and the line number padded to seven digits.
	var buf [12]byte
	copy(buf[:], "+1")
	copy(buf[2:], tollFreeAreaCodes[area])
	for i := len(buf) - 1; i >= 5; i-- {
		buf[i] = byte('0' + line%10)
		line /= 10
	}
	return string(buf[:]), b[n:], nil
}

func decodeRawNumber(b []byte) (string, []byte, error) {
	size, n := binary.Uvarint(b)
	if n <= 0 || size > maxEncodedNumber || uint64(len(b)-n) < size {
		return "", nil, errors.New("bad toll-free number")
	}
	return string(b[n : n+int(size)]), b[n+int(size):], nil
}
