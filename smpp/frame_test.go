package smpp

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

// chunkReader returns data at most chunk octets per Read.
type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// timeoutError is a net.Error-like timeout returned by flakyReader.
type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// flakyReader returns a timeout after every read that returned data, the
// way a net.Conn with a short deadline does.
type flakyReader struct {
	r       io.Reader
	errNext bool
}

func (r *flakyReader) Read(p []byte) (int, error) {
	if r.errNext {
		r.errNext = false
		return 0, timeoutError{}
	}
	r.errNext = true
	return r.r.Read(p)
}

func enquireLinks(t *testing.T, n int) []byte {
	var b []byte
	for i := range n {
		var err error
		b, err = AppendPDU(b, &EnquireLink{Header: Header{SequenceNumber: uint32(i + 1)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestFrameReaderOneByteReads(t *testing.T) {
	stream := append(mustHex(t, networkErrorReceipt), mustHex(t, trailingNULSubmitSM)...)
	fr := NewFrameReader(iotest.OneByteReader(bytes.NewReader(stream)), 0)
	for i, want := range []CommandID{DeliverSMID, SubmitSMID} {
		p, err := fr.ReadPDU()
		if err != nil {
			t.Fatalf("PDU %d: %v", i, err)
		}
		if p.CommandID() != want {
			t.Errorf("PDU %d is %v, want %v", i, p.CommandID(), want)
		}
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Errorf("at the end: %v, want io.EOF", err)
	}
}

func TestFrameReaderManyPDUsInOneRead(t *testing.T) {
	stream := enquireLinks(t, 50)
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	for i := range 50 {
		frame, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		h, _ := ParseHeader(frame)
		if h.SequenceNumber != uint32(i+1) || len(frame) != 16 {
			t.Errorf("frame %d: %v, %d octets", i, h, len(frame))
		}
	}
	if fr.Buffered() != 0 {
		t.Errorf("Buffered = %d after the last frame, want 0", fr.Buffered())
	}
}

func TestFrameReaderEOFInsideFrame(t *testing.T) {
	for _, cut := range []int{2, 15, 30} {
		stream := mustHex(t, trailingNULSubmitSM)[:cut]
		_, err := NewFrameReader(bytes.NewReader(stream), 0).ReadFrame()
		if err != io.ErrUnexpectedEOF {
			t.Errorf("stream cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
	if _, err := NewFrameReader(bytes.NewReader(nil), 0).ReadFrame(); err != io.EOF {
		t.Errorf("empty stream: %v, want io.EOF", err)
	}
}

func TestFrameReaderResumesAfterTimeout(t *testing.T) {
	stream := append(mustHex(t, payloadUDHDeliverSM), enquireLinks(t, 2)...)
	fr := NewFrameReader(&flakyReader{r: &chunkReader{data: stream, chunk: 10}}, 0)
	var got []CommandID
	timeouts := 0
	for len(got) < 3 {
		p, err := fr.ReadPDU()
		var te timeoutError
		if errors.As(err, &te) {
			timeouts++
			if timeouts > 100 {
				t.Fatal("no progress after 100 timeouts")
			}
			continue
		}
		if err != nil {
			t.Fatalf("after %d PDUs: %v", len(got), err)
		}
		got = append(got, p.CommandID())
	}
	if got[0] != DeliverSMID || got[1] != EnquireLinkID || got[2] != EnquireLinkID {
		t.Errorf("read %v", got)
	}
	if timeouts == 0 {
		t.Error("the reader never timed out, so the test proves nothing")
	}
}

func TestFrameReaderMaxCommandLength(t *testing.T) {
	sm := mustHex(t, trailingNULSubmitSM) // 111 octets
	if _, err := NewFrameReader(bytes.NewReader(sm), 111).ReadFrame(); err != nil {
		t.Errorf("frame at the maximum: %v", err)
	}
	_, err := NewFrameReader(bytes.NewReader(sm), 110).ReadFrame()
	de := asDecodeError(t, err)
	if de.Status != StatusInvalidCommandLength || de.CommandID != SubmitSMID || de.SequenceNumber != 8 {
		t.Errorf("frame over the maximum: %v, want ESME_RINVCMDLEN naming submit_sm seq 8", err)
	}
}

func TestFrameReaderCommandLengthBelowHeader(t *testing.T) {
	for _, n := range []string{"00000000", "0000000f"} {
		_, err := NewFrameReader(bytes.NewReader(mustHex(t, n+"00000015 00000000 00000001")), 0).ReadFrame()
		if StatusOf(err) != StatusInvalidCommandLength || !errors.Is(err, ErrInvalidCommandLength) {
			t.Errorf("command_length %s: %v, want ESME_RINVCMDLEN", n, err)
		}
	}
}

func TestFrameReaderDefaultMax(t *testing.T) {
	head := []byte{0, 1, 0, 1} // 65537 octets, one over the default
	_, err := NewFrameReader(bytes.NewReader(head), 0).ReadFrame()
	if !errors.Is(err, ErrInvalidCommandLength) {
		t.Errorf("65537 octets: %v, want ErrInvalidCommandLength", err)
	}
}

func TestFrameReaderLargeFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("x"), 60000)
	wire := mustEncode(t, &DataSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: payload}}})
	stream := append(append(enquireLinks(t, 1), wire...), enquireLinks(t, 1)...)
	fr := NewFrameReader(&chunkReader{data: stream, chunk: 1500}, 0)
	for i, want := range []CommandID{EnquireLinkID, DataSMID, EnquireLinkID} {
		p, err := fr.ReadPDU()
		if err != nil {
			t.Fatalf("PDU %d: %v", i, err)
		}
		if p.CommandID() != want {
			t.Errorf("PDU %d is %v, want %v", i, p.CommandID(), want)
		}
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func TestFrameWriter(t *testing.T) {
	var w countingWriter
	fw := NewFrameWriter(&w)
	pdus := []PDU{
		&SubmitSM{Header: Header{SequenceNumber: 1}, DestinationAddr: "12015550101", ShortMessage: []byte("hi")},
		&EnquireLink{Header: Header{SequenceNumber: 2}},
	}
	for _, p := range pdus {
		if err := fw.WritePDU(p); err != nil {
			t.Fatal(err)
		}
	}
	if w.writes != 2 {
		t.Errorf("%d Write calls for 2 PDUs, want 2", w.writes)
	}
	if err := fw.WritePDU(&SubmitSM{SourceAddr: string(make([]byte, 30))}); err == nil {
		t.Error("WritePDU accepted an over-long source_addr")
	}
	if w.writes != 2 {
		t.Error("WritePDU wrote after an encode error")
	}
	fr := NewFrameReader(&w.Buffer, 0)
	for i, want := range pdus {
		p, err := fr.ReadPDU()
		if err != nil || p.CommandID() != want.CommandID() {
			t.Errorf("PDU %d: %v, %v", i, p, err)
		}
	}
}

func TestWritePDU(t *testing.T) {
	var buf bytes.Buffer
	if err := WritePDU(&buf, &UnbindResp{Header: Header{SequenceNumber: 9}}); err != nil {
		t.Fatal(err)
	}
	if want := mustHex(t, "00000010 80000006 00000000 00000009"); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("wrote % x, want % x", buf.Bytes(), want)
	}
}

// emptyReader returns (0, nil) from every Read.
type emptyReader struct{ reads int }

func (r *emptyReader) Read([]byte) (int, error) {
	r.reads++
	return 0, nil
}

func TestFrameReaderStuckReader(t *testing.T) {
	r := &emptyReader{}
	_, err := NewFrameReader(r, 0).ReadFrame()
	if err != io.ErrNoProgress {
		t.Errorf("ReadFrame = %v, want io.ErrNoProgress", err)
	}
	if r.reads != maxEmptyReads {
		t.Errorf("gave up after %d reads, want %d", r.reads, maxEmptyReads)
	}
}
