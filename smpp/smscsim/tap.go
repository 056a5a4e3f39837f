package smscsim

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/optgate/optgate/smpp"
)

// tapListener wraps the SMPP listener so that every connection is a
// tapConn.
type tapListener struct {
	net.Listener
	sim *Simulator
}

func (l *tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &tapConn{Conn: c, sim: l.sim, remote: c.RemoteAddr().String(), done: make(chan struct{})}
	l.sim.mu.Lock()
	l.sim.conns[tc.remote] = tc
	l.sim.mu.Unlock()
	return tc, nil
}

// tapConn is an ESME connection seen from below the SMPP session. It
// records every PDU read, because the session responds to binds, enquire_link
// and unbind itself and never shows them to the handler. It also watches
// the responses written, so that a receipt can wait until its
// submit_sm_resp is out.
type tapConn struct {
	net.Conn
	sim    *Simulator
	remote string

	// Read side, used only by the session's read loop.
	in       []byte // bytes read but not yet a whole PDU
	broken   bool   // an invalid command_length ended the recording
	systemID string // from the last bind read

	mu      sync.Mutex
	written map[uint32]func() // run once the response with this sequence number is written
	closed  bool
	done    chan struct{} // closed by Close
}

// Read reads from the connection and records each PDU completed by the
// bytes read.
func (c *tapConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.broken {
		c.in = append(c.in, b[:n]...)
		c.splitFrames()
	}
	return n, err
}

// splitFrames records the whole PDUs at the start of c.in.
func (c *tapConn) splitFrames() {
	for len(c.in) >= 4 {
		n := binary.BigEndian.Uint32(c.in)
		if n < smpp.HeaderLen || n > smpp.DefaultMaxCommandLength {
			c.sim.rec.addPDU(Received{
				Time: time.Now(), SystemID: c.systemID, RemoteAddr: c.remote,
				Raw: append([]byte(nil), c.in...),
				Err: fmt.Errorf("invalid command_length %d; recording of this connection stops", n),
			})
			c.broken, c.in = true, nil
			return
		}
		if len(c.in) < int(n) {
			return
		}
		c.record(c.in[:n])
		c.in = c.in[n:]
	}
	if len(c.in) == 0 {
		c.in = nil // let the buffer go between PDUs
	}
}

func (c *tapConn) record(frame []byte) {
	r := Received{Time: time.Now(), RemoteAddr: c.remote, Raw: append([]byte(nil), frame...)}
	if h, err := smpp.ParseHeader(frame); err == nil {
		r.Header = h
	}
	p, err := smpp.DecodePDU(r.Raw)
	r.PDU, r.Err = p, err
	switch b := p.(type) {
	case *smpp.BindTransmitter:
		c.systemID = b.SystemID
	case *smpp.BindReceiver:
		c.systemID = b.SystemID
	case *smpp.BindTransceiver:
		c.systemID = b.SystemID
	}
	r.SystemID = c.systemID
	c.sim.rec.addPDU(r)
}

// Write writes b and, when b is a response someone waits for, runs that
// callback on its own goroutine. It relies on the session writing each PDU
// with one Write call, as smpp.FrameWriter does.
func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil || n < smpp.HeaderLen {
		return n, err
	}
	h, herr := smpp.ParseHeader(b)
	if herr != nil || !h.CommandID.IsResponse() {
		return n, err
	}
	c.mu.Lock()
	f := c.written[h.SequenceNumber]
	delete(c.written, h.SequenceNumber)
	c.mu.Unlock()
	if f != nil {
		c.sim.goTracked(f)
	}
	return n, err
}

// afterResponse runs f once the response with sequence number seq has
// been written. It returns false, and never runs f, when the connection is
// closed.
func (c *tapConn) afterResponse(seq uint32, f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	if c.written == nil {
		c.written = make(map[uint32]func())
	}
	c.written[seq] = f
	return true
}

// Close closes the connection and drops the callbacks of responses that
// were never written. done is closed after the connection, so a
// goroutine that waits on it can no longer write to it.
func (c *tapConn) Close() error {
	err := c.Conn.Close()
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.done)
	}
	c.written = nil
	c.mu.Unlock()
	c.sim.mu.Lock()
	if c.sim.conns[c.remote] == c {
		delete(c.sim.conns, c.remote)
	}
	c.sim.mu.Unlock()
	return err
}

// connOf returns the tapConn of a session, or nil.
func (sim *Simulator) connOf(sess *smpp.ServerSession) *tapConn {
	sim.mu.Lock()
	defer sim.mu.Unlock()
	return sim.conns[sess.RemoteAddr().String()]
}
