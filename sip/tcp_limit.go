package sip

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// maxStreamMessage is the largest message sipgo takes over TCP and TLS,
// headers and body.
var maxStreamMessage = sip.ParseMaxMessageLength

// drainLimit and drainTime bound what is read and thrown away of an
// oversized message after 513 is sent, so that closing the connection
// with unread data does not reset it before the peer reads the response.
const (
	drainLimit = 1 << 20
	drainTime  = 2 * time.Second
)

// limitListener wraps a TCP or TLS listener so that a message larger
// than sipgo takes is answered with 513 Message Too Large (RFC 3261
// section 21.5.11) before the connection closes. Without it sipgo closes
// the connection at once, and the peer sees a reset and no response.
type limitListener struct {
	net.Listener
	s *Server
}

// Accept returns the next connection, wrapped.
func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &limitConn{Conn: c, s: l.s}, nil
}

// limitConn follows the message framing of the bytes sipgo reads: the
// header block of each message and, from its Content-Length, where the
// body ends.
type limitConn struct {
	net.Conn
	s *Server

	head []byte // the header block read so far
	body int    // bytes of the current body still to come
	done bool   // an oversized message was answered; reads end
}

// Read reads from the connection. When the bytes read complete the
// header block of a message that is too large, it sends 513, reads and
// drops the rest of the message and reports the end of the stream.
func (c *limitConn) Read(b []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(b)
	if n > 0 && c.scan(b[:n]) {
		c.done = true
		return 0, io.EOF
	}
	return n, err
}

// scan follows data through the framing and reports whether a message
// was too large.
func (c *limitConn) scan(data []byte) bool {
	for len(data) > 0 {
		if c.body > 0 {
			k := min(c.body, len(data))
			c.body -= k
			data = data[k:]
			continue
		}
		if len(c.head) == 0 {
			// CRLF keep-alives come between messages (RFC 5626 section
			// 3.5.1).
			data = bytes.TrimLeft(data, "\r\n")
			if len(data) == 0 {
				return false
			}
		}
		prev := len(c.head)
		c.head = append(c.head, data...)
		end := bytes.Index(c.head, []byte("\r\n\r\n"))
		if end < 0 {
			// sipgo closes the connection on a header block this long.
			return len(c.head) > maxStreamMessage
		}
		head := c.head[:end+4]
		rest := len(head) - prev
		length := contentLength(head)
		if len(head)+length > maxStreamMessage {
			c.reject(head, length, data[rest:])
			return true
		}
		c.head, c.body = c.head[:0], length
		data = data[rest:]
	}
	return false
}

// contentLength returns the Content-Length of a header block, 0 when it
// has none or it does not parse; sipgo rejects the latter itself.
func contentLength(head []byte) int {
	for _, line := range strings.Split(string(head), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if n := strings.ToLower(strings.TrimSpace(name)); n != "content-length" && n != "l" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil || v < 0 {
			return 0
		}
		return v
	}
	return 0
}

// reject sends 513 for the request whose header block is head, then
// reads and drops what is left of its body.
func (c *limitConn) reject(head []byte, length int, bodyRead []byte) {
	msg, _, err := parser.ParseHeaders(head, true)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok || req.CSeq() == nil || req.Via() == nil {
		return
	}
	req.SetSource(c.RemoteAddr().String())
	res := sip.NewResponseFromRequest(req, 513, "Message Too Large", nil)
	res.AppendHeader(warning("message_too_large", fmt.Sprintf(
		"the message has %d bytes; the maximum is %d", len(head)+length, maxStreamMessage)))
	c.s.metrics.request(req.Method)
	c.s.metrics.response(res.StatusCode)
	_ = c.Conn.SetDeadline(time.Now().Add(drainTime))
	if _, err := c.Conn.Write([]byte(res.String())); err != nil {
		c.s.log.Debug("write 513 failed", zap.Error(err))
		return
	}
	left := min(length-len(bodyRead), drainLimit)
	if left > 0 {
		_, _ = io.CopyN(io.Discard, c.Conn, int64(left))
	}
}
