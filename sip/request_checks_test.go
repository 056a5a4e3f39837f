package sip

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"
)

type sipResponse = sip.Response

// TestRequestHeaderChecks sends requests that break the rules of RFC 3261
// for every request, and requests for no call.
func TestRequestHeaderChecks(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// From a number of no account, so that only the checks can answer
	// 400; the message itself would get 403.
	good := message(tfNobody, customer, "text/plain", "hello")
	bye := rawMessage{method: "BYE", lines: []string{
		"%VIA%", "Max-Forwards: 70",
		"From: <sip:" + customer + "@127.0.0.1>;tag=c9",
		"To: <sip:" + tfReady + "@127.0.0.1>;tag=nosuchdialog",
		"Call-ID: no-such-call",
		"CSeq: 2 BYE",
		"Content-Length: 0",
	}}
	cases := []struct {
		name    string
		m       rawMessage
		want    int
		warning string
	}{
		{"MESSAGE without Call-ID", good.with("Call-ID", ""), 400, "Call-ID"},
		{"CSeq method differs", good.with("CSeq", "CSeq: 1 INVITE"), 400, "CSeq method INVITE"},
		{"BYE outside any call", bye, 481, ""},
		{"BYE without To tag", bye.with("To", "To: <sip:"+tfReady+"@127.0.0.1>"), 481, ""},
	}
	for _, tc := range cases {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				res := exchange(t, f, network, tc.m)
				if res.StatusCode != tc.want {
					t.Fatalf("status = %d %s, want %d", res.StatusCode, res.Reason, tc.want)
				}
				if w := header(res, "Warning"); !strings.Contains(w, tc.warning) {
					t.Errorf("Warning = %q, want it to name %q", w, tc.warning)
				}
			})
		}
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("the carrier got %d messages, want none", n)
	}
}

// exchange sends m over network and returns the final response.
func exchange(t *testing.T, f *fixture, network string, m rawMessage) *sipResponse {
	t.Helper()
	if network == "udp" {
		return exchangeUDP(t, f.addr("udp"), m)
	}
	c := dialTCP(t, f.addr("tcp"))
	c.send(m)
	return c.final()
}

// TestOversizedMessage sends a MESSAGE larger than sipgo reads: over UDP
// the datagram would be cut, over TCP the connection closed. Both must
// get 513 Message Too Large first.
func TestOversizedMessage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	for _, tc := range []struct {
		network string
		size    int
	}{{"udp", 40000}, {"tcp", 70000}} {
		t.Run(tc.network, func(t *testing.T) {
			res := exchange(t, f, tc.network, message(tfNobody, customer, "text/plain", strings.Repeat("a", tc.size)))
			if res.StatusCode != 513 {
				t.Fatalf("status = %d %s (%s), want 513 Message Too Large",
					res.StatusCode, res.Reason, header(res, "Warning"))
			}
			if w := header(res, "Warning"); !strings.Contains(w, "message_too_large") {
				t.Errorf("Warning = %q, want message_too_large", w)
			}
		})
	}
	// The TCP listener still serves messages of a normal size after it.
	c := dialTCP(t, f.addr("tcp"))
	c.send(message(tfNobody, customer, "text/plain", strings.Repeat("b", 20000)))
	if res := c.final(); res.StatusCode == 513 || res.StatusCode == 400 {
		t.Errorf("20 kB MESSAGE over TCP: %d %s, want it handled", res.StatusCode, res.Reason)
	}
}
