package sip

import (
	"bytes"
	"fmt"
	"net"

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
type lengthCheckConn struct {
	net.PacketConn
	s *Server
}

// ReadFrom returns the next datagram whose length is consistent.
func (c *lengthCheckConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil {
			return n, addr, err
		}
		res, bad := checkDatagram(b[:n], addr.String())
		if !bad {
			return n, addr, nil
		}
		if res == nil {
			continue
		}
		c.s.metrics.request(res.CSeq().MethodName)
		c.s.metrics.response(res.StatusCode)
		if _, err := c.PacketConn.WriteTo([]byte(res.String()), addr); err != nil {
			c.s.log.Debug("write 400 for a content-length mismatch failed", zap.Error(err))
		}
	}
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
