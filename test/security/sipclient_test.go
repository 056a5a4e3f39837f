package security

import (
	"bufio"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// SIP credentials of the security tests: acme's PBX trunk needs digest
// authentication with these.
const (
	acmeSIPUser     = "acme-pbx"
	acmeSIPPassword = "pbxS3cret-acme"
	sipRealm        = "optgate"
)

// ha1 returns the MD5 H(A1) of RFC 2617 section 3.2.2.2, the form the
// configuration keeps a SIP trunk's password in.
func ha1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// sipConn is a SIP connection to the daemon over TCP or TLS. It writes
// requests byte for byte and reads responses as a stream.
type sipConn struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	// transport is TCP or TLS, as written in Via (RFC 3261 section 20.42).
	transport string
}

// sipSeq makes branches and Call-IDs unique within the test binary.
var sipSeq atomic.Int64

// dialSIP connects to addr, over TLS when tlsConfig is set.
func dialSIP(t testing.TB, addr net.Addr, tlsConfig *tls.Config) *sipConn {
	t.Helper()
	if addr == nil {
		t.Fatal("the daemon serves no SIP on this transport")
	}
	c := &sipConn{t: t, transport: "TCP"}
	var err error
	if tlsConfig != nil {
		c.transport = "TLS"
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: tlsConfig}
		c.conn, err = d.Dial("tcp", addr.String())
	} else {
		c.conn, err = net.DialTimeout("tcp", addr.String(), 5*time.Second)
	}
	if err != nil {
		t.Fatalf("dial SIP %s: %v", c.transport, err)
	}
	t.Cleanup(func() { _ = c.conn.Close() })
	c.r = bufio.NewReader(c.conn)
	return c
}

// sipRequest is one request to the daemon.
type sipRequest struct {
	method   string // MESSAGE or INVITE
	from, to string // E.164 numbers
	// contentType and body are the request's body; Content-Length is
	// computed unless contentLength is set.
	contentType, body string
	contentLength     int
	// auth is the Authorization value, when set.
	auth   string
	callID string
	cseq   int
}

// message returns a MESSAGE with text from the number from to the number
// to (RFC 3428).
func message(from, to, text string) sipRequest {
	return sipRequest{method: "MESSAGE", from: from, to: to, contentType: "text/plain", body: text,
		callID: fmt.Sprintf("sec-%d@127.0.0.1", sipSeq.Add(1)), cseq: 1}
}

// invite returns an INVITE from the number from to the toll-free number
// to, offering G.711 µ-law media at rtp, a local address of the test.
func invite(from, to string, rtp net.Addr) sipRequest {
	_, port, _ := net.SplitHostPort(rtp.String())
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio " + port + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	return sipRequest{method: "INVITE", from: from, to: to, contentType: "application/sdp", body: sdp,
		callID: fmt.Sprintf("sec-%d@127.0.0.1", sipSeq.Add(1)), cseq: 1}
}

// uri returns the request-URI, which is also the digest-uri.
func (q sipRequest) uri() string { return "sip:" + q.to + "@127.0.0.1" }

// tag returns the From tag, made from the Call-ID (RFC 3261 section
// 19.3).
func (q sipRequest) tag() string {
	id, _, _ := strings.Cut(q.callID, "@")
	return "t" + id
}

// bytes returns the request as written on the wire, with a Via for c.
func (c *sipConn) bytes(q sipRequest, branch string) []byte {
	length := len(q.body)
	if q.contentLength > 0 {
		length = q.contentLength
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", q.method, q.uri())
	fmt.Fprintf(&b, "Via: SIP/2.0/%s %s;branch=%s\r\n", c.transport, c.conn.LocalAddr(), branch)
	b.WriteString("Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "From: <sip:%s@127.0.0.1>;tag=%s\r\n", q.from, q.tag())
	fmt.Fprintf(&b, "To: <%s>\r\n", q.uri())
	fmt.Fprintf(&b, "Call-ID: %s\r\nCSeq: %d %s\r\n", q.callID, q.cseq, q.method)
	fmt.Fprintf(&b, "Contact: <sip:pbx@%s;transport=%s>\r\n", c.conn.LocalAddr(), strings.ToLower(c.transport))
	if q.auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", q.auth)
	}
	if q.contentType != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", q.contentType)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", length, q.body)
	return []byte(b.String())
}

// do sends q and returns the final response. A non-2xx final response
// to an INVITE is acknowledged (RFC 3261 section 17.1.1.3).
func (c *sipConn) do(q sipRequest) *sip.Response {
	c.t.Helper()
	res, err := c.tryDo(q)
	if err != nil {
		c.t.Fatalf("%s over %s: %v", q.method, c.transport, err)
	}
	return res
}

// tryDo is do that returns the error instead of failing the test.
func (c *sipConn) tryDo(q sipRequest) (*sip.Response, error) {
	branch := fmt.Sprintf("z9hG4bK-sec%d", sipSeq.Add(1))
	if _, err := c.conn.Write(c.bytes(q, branch)); err != nil {
		return nil, err
	}
	res, err := c.final()
	if err != nil {
		return nil, err
	}
	if q.method == "INVITE" && res.StatusCode >= 300 {
		ack := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/%s %s;branch=%s\r\nMax-Forwards: 70\r\n"+
			"From: <sip:%s@127.0.0.1>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
			q.uri(), c.transport, c.conn.LocalAddr(), branch, q.from, q.tag(), res.To(), q.callID, q.cseq)
		if _, err := c.conn.Write([]byte(ack)); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// final reads responses until a final one and returns it.
func (c *sipConn) final() (*sip.Response, error) {
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		var head strings.Builder
		length := 0
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				return nil, fmt.Errorf("read a response: %w", err)
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
			return nil, fmt.Errorf("read a response body: %w", err)
		}
		msg, err := sip.ParseMessage(append([]byte(head.String()), body...))
		if err != nil {
			return nil, fmt.Errorf("parse a response: %w", err)
		}
		res, ok := msg.(*sip.Response)
		if !ok {
			return nil, fmt.Errorf("got a request, want a response: %s", msg.String())
		}
		if res.StatusCode >= 200 {
			return res, nil
		}
	}
}

// closed reads until the daemon closes the connection and returns what
// it read. It fails the test when the connection stays open for 5 s.
func (c *sipConn) closed() string {
	c.t.Helper()
	_ = c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	data, err := io.ReadAll(c.r)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("the connection is still open after 5 s, want it closed; read %q", data)
	}
	return string(data)
}

// authorize answers the digest challenge of a 401 response for q with
// the user's password. count is the nonce count, 1 for the first use of
// the challenge's nonce (RFC 2617 section 3.2.2).
func authorize(t testing.TB, challenge *sip.Response, q sipRequest, user, password string, count int) string {
	t.Helper()
	h := challenge.GetHeader("WWW-Authenticate")
	if challenge.StatusCode != 401 || h == nil {
		t.Fatalf("want a 401 digest challenge, got %d %s", challenge.StatusCode, challenge.Reason)
	}
	chal, err := digest.ParseChallenge(h.Value())
	if err != nil {
		t.Fatalf("parse the challenge %q: %v", h.Value(), err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: q.method, URI: q.uri(), Username: user,
		Password: password, Count: count})
	if err != nil {
		t.Fatalf("answer the challenge: %v", err)
	}
	return cred.String()
}

// messageAs sends q without credentials, answers the 401 challenge with
// the user's password and returns the final response.
func (c *sipConn) messageAs(q sipRequest, user, password string) *sip.Response {
	c.t.Helper()
	res := c.do(q)
	if res.StatusCode != 401 {
		c.t.Fatalf("%s without credentials: status %d, want a 401 challenge", q.method, res.StatusCode)
	}
	q.auth = authorize(c.t, res, q, user, password, 1)
	q.cseq++
	return c.do(q)
}

// warningOf returns the Warning header of res, or "".
func warningOf(res *sip.Response) string {
	if h := res.GetHeader("Warning"); h != nil {
		return h.Value()
	}
	return ""
}
