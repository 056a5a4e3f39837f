package sip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawMessage is a SIP MESSAGE written byte for byte, for the wire-level
// tests: headers as given, CRLF line ends, and the body as is.
type rawMessage struct {
	// method is the request method. Default MESSAGE.
	method string
	// lines are the header lines after the request line, without the
	// CRLF; "%VIA%" is replaced by a Via header for the client's address.
	lines []string
	body  string
}

// message returns a MESSAGE from the toll-free number from to the
// customer to, with Content-Type contentType and a Content-Length of the
// body's bytes.
func message(from, to, contentType, body string) rawMessage {
	return rawMessage{lines: []string{
		"%VIA%",
		"Max-Forwards: 70",
		"From: <sip:" + from + "@127.0.0.1>;tag=from" + strconv.FormatInt(time.Now().UnixNano(), 36),
		"To: <sip:" + to + "@127.0.0.1>",
		"Call-ID: " + strconv.FormatInt(time.Now().UnixNano(), 36) + "@127.0.0.1",
		"CSeq: 1 MESSAGE",
		"Content-Type: " + contentType,
		"Content-Length: " + strconv.Itoa(len(body)),
	}, body: body}
}

// with returns m with the header lines called name replaced by line. It
// adds line when there is no such header, and an empty line removes it.
func (m rawMessage) with(name, line string) rawMessage {
	out := rawMessage{method: m.method, body: m.body}
	found := false
	for _, l := range m.lines {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			found = true
			if line != "" {
				out.lines = append(out.lines, line)
			}
			continue
		}
		out.lines = append(out.lines, l)
	}
	if !found && line != "" {
		out.lines = append(out.lines, line)
	}
	return out
}

func (m rawMessage) bytes(network string, local net.Addr, target string) []byte {
	var b strings.Builder
	to := "sip:" + target
	for _, l := range m.lines {
		if strings.HasPrefix(l, "To:") || strings.HasPrefix(l, "t:") {
			if i := strings.Index(l, "<"); i >= 0 {
				to = l[i+1 : strings.Index(l, ">")]
			}
		}
	}
	method := m.method
	if method == "" {
		method = "MESSAGE"
	}
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, to)
	for _, l := range m.lines {
		if l == "%VIA%" {
			l = fmt.Sprintf("Via: SIP/2.0/%s %s;branch=z9hG4bK-%s", strings.ToUpper(network), local,
				strconv.FormatInt(time.Now().UnixNano(), 36))
		}
		if strings.HasPrefix(l, "v:") && strings.Contains(l, "%ADDR%") {
			l = strings.ReplaceAll(l, "%ADDR%", local.String())
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString("\r\n" + m.body)
	return []byte(b.String())
}

// exchangeUDP sends m to addr over UDP and returns the final response.
func exchangeUDP(t testing.TB, addr string, m rawMessage) *sip.Response {
	t.Helper()
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	data := m.bytes("udp", conn.LocalAddr(), addr)
	if _, err := conn.Write(data); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		res := parseResponse(t, buf[:n])
		if res.StatusCode < 200 {
			continue
		}
		if m.method == "INVITE" && res.StatusCode >= 300 {
			// RFC 3261 section 17.1.1.3: the ACK ends the server's
			// retransmissions of the final response.
			if _, err := conn.Write(ackFor(t, data, res)); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
}

// ackFor returns the ACK of a non-2xx final response to the INVITE
// invite: the INVITE's Via and request-URI, To with the response's tag
// (RFC 3261 section 17.1.1.3).
func ackFor(t testing.TB, invite []byte, res *sip.Response) []byte {
	t.Helper()
	msg, err := sip.ParseMessage(invite)
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	var b strings.Builder
	fmt.Fprintf(&b, "ACK %s SIP/2.0\r\n", req.Recipient.String())
	fmt.Fprintf(&b, "%s\r\n%s\r\n%s\r\n%s\r\n", req.Via(), req.From(), res.To(), req.CallID())
	fmt.Fprintf(&b, "CSeq: %d ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", req.CSeq().SeqNo)
	return []byte(b.String())
}

// tcpConn is a SIP connection over TCP that reads responses as a stream.
type tcpConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	addr string
}

func dialTCP(t testing.TB, addr string) *tcpConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &tcpConn{t: t, conn: conn, r: bufio.NewReader(conn), addr: addr}
}

// send writes the messages in one write, so they share TCP segments.
func (c *tcpConn) send(ms ...rawMessage) {
	c.t.Helper()
	var all []byte
	for _, m := range ms {
		all = append(all, m.bytes("tcp", c.conn.LocalAddr(), c.addr)...)
	}
	if _, err := c.conn.Write(all); err != nil {
		c.t.Fatal(err)
	}
}

// final reads responses until a final one and returns it.
func (c *tcpConn) final() *sip.Response {
	c.t.Helper()
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(testTimeout))
		var head strings.Builder
		length := 0
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				c.t.Fatalf("read response: %v", err)
			}
			head.WriteString(line)
			if line == "\r\n" {
				break
			}
			name, value, _ := strings.Cut(line, ":")
			if n := strings.ToLower(strings.TrimSpace(name)); n == "content-length" || n == "l" {
				length, _ = strconv.Atoi(strings.TrimSpace(value))
			}
		}
		body := make([]byte, length)
		if _, err := io.ReadFull(c.r, body); err != nil {
			c.t.Fatalf("read response body: %v", err)
		}
		res := parseResponse(c.t, append([]byte(head.String()), body...))
		if res.StatusCode >= 200 {
			return res
		}
	}
}

func parseResponse(t testing.TB, data []byte) *sip.Response {
	t.Helper()
	msg, err := sip.ParseMessage(data)
	if err != nil {
		t.Fatalf("parse response %q: %v", data, err)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("got a request, want a response: %q", data)
	}
	return res
}

// header returns the value of res's header name, or "".
func header(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
