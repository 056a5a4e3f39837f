package smpp

import (
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// FuzzDecodePDU checks that decoding arbitrary bytes never panics, that
// every failure is a *DecodeError with a non-zero status, and that anything
// decoded re-encodes and decodes to the same value. The seed corpus is in
// testdata/fuzz/FuzzDecodePDU.
func FuzzDecodePDU(f *testing.F) {
	for _, p := range goldenPDUs {
		if b, err := EncodePDU(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecode(t, b)
		// Most random inputs fail the command_length check, so also try the
		// body with a matching command_length.
		if len(b) >= HeaderLen {
			fixed := append([]byte(nil), b...)
			binary.BigEndian.PutUint32(fixed, uint32(len(fixed)))
			checkDecode(t, fixed)
		}
	})
}

// fatalReporter is the part of *testing.T and *rapid.T that checkDecode uses.
type fatalReporter interface {
	Fatalf(format string, args ...any)
}

func checkDecode(t fatalReporter, b []byte) {
	p, err := DecodePDU(b)
	if err != nil {
		var de *DecodeError
		if !errors.As(err, &de) && !errors.Is(err, ErrIncomplete) {
			t.Fatalf("DecodePDU error %T (%v), want *DecodeError", err, err)
		}
		if de != nil && de.Status == StatusOK {
			t.Fatalf("DecodeError with status ESME_ROK: %v", err)
		}
		return
	}
	wire, err := EncodePDU(p)
	if err != nil {
		t.Fatalf("decoded %v but cannot re-encode it: %v", p.CommandID(), err)
	}
	again, err := DecodePDU(wire)
	if err != nil {
		t.Fatalf("re-encoded %v does not decode: %v\n% x", p.CommandID(), err, wire)
	}
	// Dropped trailing zeros and the bare-header form of error responses
	// change command_length, and nothing else.
	p.PDUHeader().CommandLength = again.PDUHeader().CommandLength
	if !reflect.DeepEqual(p, again) {
		t.Fatalf("round trip changed the PDU\nfirst  %#v\nsecond %#v", p, again)
	}
}

// FuzzFrameReader checks that the framing reader never panics, returns only
// frames whose command_length matches their size and is within the maximum,
// and consumes the stream exactly.
func FuzzFrameReader(f *testing.F) {
	for _, p := range goldenPDUs {
		if b, err := EncodePDU(p); err == nil {
			f.Add(append(b, b...), uint8(7), uint16(0))
		}
	}
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8, maxLen uint16) {
		fr := NewFrameReader(&chunkReader{data: stream, chunk: int(chunk%64) + 1}, int(maxLen))
		limit := int(maxLen)
		if limit <= 0 {
			limit = DefaultMaxCommandLength
		}
		limit = max(limit, HeaderLen)
		consumed := 0
		for {
			frame, err := fr.ReadFrame()
			if err != nil {
				checkFrameError(t, err, stream, consumed)
				return
			}
			n := int(binary.BigEndian.Uint32(frame))
			if n != len(frame) || n < HeaderLen || n > limit {
				t.Fatalf("frame of %d octets has command_length %d (limit %d)", len(frame), n, limit)
			}
			consumed += n
			checkDecode(t, frame)
		}
	})
}

func checkFrameError(t *testing.T, err error, stream []byte, consumed int) {
	switch {
	case err == io.EOF:
		if consumed != len(stream) {
			t.Fatalf("io.EOF after %d of %d octets", consumed, len(stream))
		}
	case err == io.ErrUnexpectedEOF:
		if consumed >= len(stream) {
			t.Fatalf("io.ErrUnexpectedEOF with no octets left")
		}
	default:
		var de *DecodeError
		if !errors.As(err, &de) || de.Status != StatusInvalidCommandLength {
			t.Fatalf("ReadFrame error %v, want io.EOF, io.ErrUnexpectedEOF or ESME_RINVCMDLEN", err)
		}
	}
}

// TestDecodeMutatedPDUs runs the fuzz checks on valid PDUs with random
// octets changed, inserted or cut, which reach deeper into the body
// decoders than random bytes do.
func TestDecodeMutatedPDUs(t *testing.T) {
	var seeds [][]byte
	for _, p := range goldenPDUs {
		seeds = append(seeds, mustEncode(t, p))
	}
	seeds = append(seeds, mustHex(t, networkErrorReceipt), mustHex(t, payloadUDHDeliverSM))
	rapid.Check(t, func(rt *rapid.T) {
		b := append([]byte(nil), rapid.SampledFrom(seeds).Draw(rt, "seed")...)
		for range rapid.IntRange(1, 4).Draw(rt, "mutations") {
			i := rapid.IntRange(HeaderLen, len(b)).Draw(rt, "at")
			switch rapid.IntRange(0, 2).Draw(rt, "kind") {
			case 0:
				if i < len(b) {
					b[i] = rapid.Byte().Draw(rt, "octet")
				}
			case 1:
				b = append(b[:i], append([]byte{rapid.Byte().Draw(rt, "octet")}, b[i:]...)...)
			case 2:
				b = b[:i]
			}
		}
		binary.BigEndian.PutUint32(b, uint32(len(b)))
		checkDecode(rt, b)
	})
}
