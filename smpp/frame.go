package smpp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// initialFrameBuffer is the buffer a FrameReader starts with. It holds
// several typical PDUs, which are well under 300 octets.
const initialFrameBuffer = 4096

// FrameReader splits a byte stream, such as a TCP connection, into PDU
// frames. It handles a PDU split across reads and several PDUs in one read.
//
// It checks command_length before it allocates or waits for the rest of a
// PDU: a length below 16 or above the maximum returns a *DecodeError with
// status ESME_RINVCMDLEN that wraps ErrInvalidCommandLength. After such an
// error the stream cannot be resynchronised, so every later call returns the
// same error and the caller closes the connection, optionally after sending
// a generic_nack. Errors from the underlying reader, such as a deadline, are
// returned as they are and leave the buffered bytes in place, so a later
// call resumes the frame.
//
// The buffer grows to the largest frame seen and is reused. A FrameReader is
// not safe for concurrent use.
type FrameReader struct {
	r     io.Reader
	max   int
	buf   []byte // buf[start:end] contains bytes read but not yet returned
	start int
	end   int
	err   error // sticky framing error
}

// NewFrameReader returns a FrameReader that reads from r and accepts PDUs up
// to maxCommandLength octets. A maxCommandLength of 0 or less means
// DefaultMaxCommandLength (64 KiB). The memory a FrameReader holds is at
// most about maxCommandLength plus one read's worth of the next frame.
func NewFrameReader(r io.Reader, maxCommandLength int) *FrameReader {
	if maxCommandLength <= 0 {
		maxCommandLength = DefaultMaxCommandLength
	}
	if maxCommandLength < HeaderLen {
		maxCommandLength = HeaderLen
	}
	return &FrameReader{r: r, max: maxCommandLength}
}

// ReadFrame returns the next whole PDU, header included. The returned slice
// is owned by the FrameReader and is valid only until the next call to
// ReadFrame or ReadPDU. Copy it, or decode it with DecodePDU (which copies),
// before reading again.
//
// At a clean end of stream between frames ReadFrame returns io.EOF. A stream
// that ends inside a frame gives io.ErrUnexpectedEOF.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	if err := fr.fill(4); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(fr.buf[fr.start:])
	if n < HeaderLen || uint64(n) > uint64(fr.max) {
		fr.err = fr.lengthError(n)
		return nil, fr.err
	}
	if err := fr.fill(int(n)); err != nil {
		return nil, err
	}
	frame := fr.buf[fr.start : fr.start+int(n) : fr.start+int(n)]
	fr.start += int(n)
	return frame, nil
}

// ReadPDU reads the next frame and decodes it. The PDU does not alias the
// reader's buffer. A decode error of a well-framed PDU is not sticky: the
// next call reads the next PDU, so a server can reject the bad one and go
// on.
func (fr *FrameReader) ReadPDU() (PDU, error) {
	frame, err := fr.ReadFrame()
	if err != nil {
		return nil, err
	}
	return DecodePDU(frame)
}

// Buffered returns the number of octets read from the stream but not yet
// returned in a frame.
func (fr *FrameReader) Buffered() int { return fr.end - fr.start }

func (fr *FrameReader) lengthError(n uint32) error {
	e := &DecodeError{Field: "command_length", Status: StatusInvalidCommandLength}
	if fr.end-fr.start >= HeaderLen {
		b := fr.buf[fr.start:]
		e.CommandID = CommandID(binary.BigEndian.Uint32(b[4:]))
		e.SequenceNumber = binary.BigEndian.Uint32(b[12:])
	}
	if n < HeaderLen {
		e.Err = fmt.Errorf("%w: %d is below %d", ErrInvalidCommandLength, n, HeaderLen)
	} else {
		e.Err = fmt.Errorf("%w: %d exceeds the maximum of %d", ErrInvalidCommandLength, n, fr.max)
	}
	return e
}

// fill reads until at least n octets are buffered after start. n is at most
// fr.max, so the buffer never grows past the configured maximum.
func (fr *FrameReader) fill(n int) error {
	if fr.end-fr.start >= n {
		return nil
	}
	fr.makeRoom(n)
	empty := 0
	for fr.end-fr.start < n {
		m, err := fr.r.Read(fr.buf[fr.end:])
		fr.end += m
		if fr.end-fr.start >= n {
			return nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) && fr.end > fr.start {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		// io.Reader allows an occasional (0, nil) read, but a reader that
		// keeps returning it is broken.
		if m > 0 {
			empty = 0
			continue
		}
		empty++
		if empty >= maxEmptyReads {
			return io.ErrNoProgress
		}
	}
	return nil
}

// maxEmptyReads is the number of (0, nil) reads in a row after which fill
// gives up with io.ErrNoProgress, the limit bufio.Reader also uses.
const maxEmptyReads = 100

// makeRoom makes buf[start:] able to hold n octets, moving unread bytes to
// the front or growing the buffer.
func (fr *FrameReader) makeRoom(n int) {
	if len(fr.buf)-fr.start >= n {
		return
	}
	unread := fr.end - fr.start
	if len(fr.buf) >= n {
		copy(fr.buf, fr.buf[fr.start:fr.end])
	} else {
		size := max(n, min(2*len(fr.buf), fr.max), min(initialFrameBuffer, fr.max))
		grown := make([]byte, size)
		copy(grown, fr.buf[fr.start:fr.end])
		fr.buf = grown
	}
	fr.start, fr.end = 0, unread
}

// FrameWriter encodes PDUs into a reused buffer and writes each with a
// single Write call. It is not safe for concurrent use; a session that
// writes from several goroutines serialises the calls.
type FrameWriter struct {
	w   io.Writer
	buf []byte
}

// NewFrameWriter returns a FrameWriter that writes to w.
func NewFrameWriter(w io.Writer) *FrameWriter {
	return &FrameWriter{w: w, buf: make([]byte, 0, 512)}
}

// WritePDU encodes p and writes it. An encode error writes nothing.
func (fw *FrameWriter) WritePDU(p PDU) error {
	b, err := AppendPDU(fw.buf[:0], p)
	if err != nil {
		return err
	}
	fw.buf = b
	_, err = fw.w.Write(b)
	return err
}

// WritePDU encodes p and writes it to w with a single Write call. An encode
// error writes nothing.
func WritePDU(w io.Writer, p PDU) error {
	b, err := EncodePDU(p)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
