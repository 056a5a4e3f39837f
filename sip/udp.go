package sip

import (
	"bytes"
	"fmt"
	"net"
	"sync"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// lengthCheckConn is the UDP listener as sipgo reads it. It responds to
// a request whose Content-Length differs from the size of its body with
// 400 Bad Request and hides it from sipgo. Such a response is dropped.
//
// RFC 3261 section 18.3 recommends 400 when Content-Length is larger than
// the datagram's body, and truncation when it is smaller. optgate
// rejects both: a body cut to a character count instead of a byte count
// would send the subscriber a different text from the one written.
// Without this check sipgo drops the first kind silently and truncates
// the second.
//
// It also answers a datagram larger than the buffer sipgo reads into with
// 513 Message Too Large (RFC 3261 section 21.5.11) instead of passing on
// a request that the short read cut: a UDP read into a small buffer
// drops the rest of the datagram without an error, and the cut request
// would be answered as if its Content-Length were wrong.
type lengthCheckConn struct {
	net.PacketConn
	s *Server

	// mu guards buf, the whole datagram; sipgo reads a listener from
	// one goroutine, so it is never contended.
	mu  sync.Mutex
	buf [maxDatagram]byte
}

// maxDatagram is larger than any UDP payload, 65507 bytes over IPv4.
const maxDatagram = 1 << 16

// ReadFrom returns the next datagram whose length is consistent.
func (c *lengthCheckConn) ReadFrom(b []byte) (int, net.Addr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		n, addr, err := c.PacketConn.ReadFrom(c.buf[:])
		if err != nil {
			return 0, addr, err
		}
		data := c.buf[:n]
		var res *sip.Response
		if n > len(b) {
			res = tooLarge(data, len(b), addr.String())
		} else if r, bad := checkDatagram(data, addr.String()); bad {
			res = r
		} else {
			return copy(b, data), addr, nil
		}
		if res == nil {
			continue
		}
		c.s.metrics.request(res.CSeq().MethodName)
		c.s.metrics.response(res.StatusCode)
		if _, err := c.PacketConn.WriteTo([]byte(res.String()), addr); err != nil {
			c.s.log.Debug("write a response to a rejected datagram failed",
				zap.Int("status", res.StatusCode), zap.Error(err))
		}
	}
}

// tooLarge returns 513 Message Too Large for a request datagram of more
// than limit bytes, or nil when its headers do not parse as a request.
func tooLarge(data []byte, limit int, src string) *sip.Response {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	msg, _, err := parser.ParseHeaders(data[:end+4], false)
	req, ok := msg.(*sip.Request)
	if err != nil || !ok || req.CSeq() == nil || req.Via() == nil {
		return nil
	}
	req.SetSource(src)
	res := sip.NewResponseFromRequest(req, 513, "Message Too Large", nil)
	res.AppendHeader(warning("message_too_large", fmt.Sprintf(
		"the datagram has %d bytes; at most %d are read over UDP, send larger requests over TCP",
		len(data), limit)))
	return res
}

// checkDatagram reports whether a datagram from src has a Content-Length
// inconsistent with its body. For a request it returns the 400 response.
// A datagram whose headers do not parse is left to sipgo.
func checkDatagram(data []byte, src string) (*sip.Response, bool) {
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return nil, false
	}
	msg, _, err := parser.ParseHeaders(data[:end+4], false)
	if err != nil || msg == nil {
		return nil, false
	}
	length := msg.ContentLength()
	body := len(data) - end - 4
	if length == nil || int(*length) == body {
		return nil, false
	}
	req, ok := msg.(*sip.Request)
	if !ok || req.CSeq() == nil || req.Via() == nil {
		return nil, true
	}
	req.SetSource(src)
	res := sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
	res.AppendHeader(warning("invalid_request",
		fmt.Sprintf("Content-Length is %d but the body has %d bytes", *length, body)))
	return res, true
}

// parser reads the headers of datagrams for checkDatagram.
var parser = sip.NewParser()
