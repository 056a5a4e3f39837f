package sip

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCheckMediaAddrs(t *testing.T) {
	p := mediaPolicy{source: netip.MustParseAddr("127.0.0.1"),
		nets: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	sdp := func(c string, extra ...string) string {
		return "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n" + c + "t=0 0\r\n" +
			"m=audio 4000 RTP/AVP 0\r\n" + strings.Join(extra, "")
	}
	tests := []struct {
		name string
		body string
		want string // "" when allowed
	}{
		{"source address", sdp("c=IN IP4 127.0.0.1\r\n"), ""},
		{"trunk network", sdp("c=IN IP4 10.20.3.4\r\n"), ""},
		{"no body", "", ""},
		{"documentation address", sdp("c=IN IP4 192.0.2.1\r\n"), "media address 192.0.2.1 is neither"},
		{"link-local", sdp("c=IN IP4 169.254.169.254\r\n"), "169.254.169.254"},
		{"media-level line", sdp("c=IN IP4 127.0.0.1\r\n", "c=IN IP4 192.0.2.1\r\n"), "192.0.2.1"},
		{"rtcp attribute", sdp("c=IN IP4 127.0.0.1\r\n", "a=rtcp:4001 IN IP4 192.0.2.1\r\n"), "192.0.2.1"},
		{"rtcp port only", sdp("c=IN IP4 127.0.0.1\r\n", "a=rtcp:4001\r\n"), ""},
		{"host name", sdp("c=IN IP4 pbx.example.com\r\n"), `"pbx.example.com" is not an IP address`},
		{"mapped IPv6 of the source", sdp("c=IN IP6 ::ffff:127.0.0.1\r\n"), ""},
		{"IPv6 elsewhere", sdp("c=IN IP6 2001:db8::1\r\n"), "2001:db8::1"},
		{"short line", sdp("c=IN 127.0.0.1\r\n"), "is not <nettype>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkMediaAddrs([]byte(tt.body), p)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("allowed offer refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("offer accepted, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

// invite returns an INVITE from customer to number with the SDP body.
func invite(callID, number, sdp string) rawMessage {
	return rawMessage{method: "INVITE", lines: []string{
		"%VIA%", "Max-Forwards: 70",
		"From: <sip:" + customer + "@127.0.0.1>;tag=c1",
		"To: <sip:" + number + "@127.0.0.1>",
		"Call-ID: " + callID,
		"CSeq: 1 INVITE",
		"Contact: <sip:" + customer + "@127.0.0.1:9>",
		"Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(sdp)),
	}, body: sdp}
}

// TestCallMediaAddressOutsideTrunk sends an offer naming 192.0.2.1, an
// address of the documentation range that is neither the signalling
// source nor inside acme's trunk network. Nothing is ever sent there: the
// call must be refused before any media session exists.
func TestCallMediaAddressOutsideTrunk(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	offer := strings.Replace(pcmuOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 192.0.2.1", 1)
	res := exchangeUDP(t, f.addr("udp"), invite("media-elsewhere", tfReady, offer))
	if res.StatusCode != 488 {
		t.Fatalf("status = %d %s, want 488 Not Acceptable Here", res.StatusCode, res.Reason)
	}
	if w := header(res, "Warning"); !strings.HasPrefix(w, "305 ") || !strings.Contains(w, "192.0.2.1") {
		t.Errorf("Warning = %q, want code 305 naming the address", w)
	}
	if n := f.counter("optgate_sip_calls_total", nil); n != 0 {
		t.Errorf("calls answered = %v, want 0: no media session may target the address", n)
	}
	if calls := f.srv.Calls("acme"); len(calls) != 0 {
		t.Errorf("calls in progress = %+v, want none", calls)
	}
}

// TestStopEndsUnacknowledgedCall answers a call whose caller never sends
// the ACK. Without one there is no dialog to send BYE in, so Stop must end
// the INVITE transaction rather than wait out the 32 s of 200 OK
// retransmissions.
func TestStopEndsUnacknowledgedCall(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	conn, err := net.Dial("udp", f.addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(invite("never-acked", tfReady, pcmuOffer).bytes("udp", conn.LocalAddr(),
		f.addr("udp"))); err != nil {
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
		if res.StatusCode == 200 {
			break
		}
		if res.StatusCode > 200 {
			t.Fatalf("INVITE answered %d %s, want 200", res.StatusCode, res.Reason)
		}
	}

	// Well below the 32 s the 200 OK is retransmitted for (64*T1, RFC
	// 3261 section 13.3.1.4).
	ctx, cancel := context.WithTimeout(f.ctx, 15*time.Second)
	defer cancel()
	if err := f.srv.Stop(ctx); err != nil {
		t.Fatalf("Stop with an unacknowledged call: %v", err)
	}
	if calls := f.srv.Calls("acme"); len(calls) != 0 {
		t.Errorf("calls after Stop = %+v, want none", calls)
	}
}

// TestLateOfferAckOutsideTrunk answers an INVITE without SDP, so the
// caller's ACK carries the answer (RFC 3264 section 5). An ACK naming
// 127.0.0.2, a loopback address outside acme's trunk network, must not
// confirm the call: no RTP may reach that address. With diago v0.42.2 a
// late-offer answer fails by itself when the ACK arrives, so this test
// guards against RTP to the address if that changes.
func TestLateOfferAckOutsideTrunk(t *testing.T) {
	f := newFixture(t, fixtureOptions{greeting: 2 * time.Second})
	rtp, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("no 127.0.0.2 to listen on: %v", err)
	}
	defer rtp.Close()
	port := rtp.LocalAddr().(*net.UDPAddr).Port

	conn, err := net.Dial("udp", f.addr("udp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	inv := invite("late-offer", tfReady, "")
	inv = inv.with("Content-Type", "").with("Content-Length", "Content-Length: 0")
	if _, err := conn.Write(inv.bytes("udp", conn.LocalAddr(), f.addr("udp"))); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	var toTag string
	for toTag == "" {
		_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("read response: %v", err)
		}
		res := parseResponse(t, buf[:n])
		if res.StatusCode > 200 {
			t.Fatalf("INVITE answered %d %s, want 200 with an offer", res.StatusCode, res.Reason)
		}
		if res.StatusCode == 200 {
			toTag, _ = res.To().Params.Get("tag")
		}
	}

	answer := strings.Replace(pcmuOffer, "c=IN IP4 127.0.0.1", "c=IN IP4 127.0.0.2", 1)
	answer = strings.Replace(answer, "m=audio 9 ", "m=audio "+strconv.Itoa(port)+" ", 1)
	ack := rawMessage{method: "ACK", lines: []string{
		"%VIA%", "Max-Forwards: 70",
		"From: <sip:" + customer + "@127.0.0.1>;tag=c1",
		"To: <sip:" + tfReady + "@127.0.0.1>;tag=" + toTag,
		"Call-ID: late-offer",
		"CSeq: 1 ACK",
		"Content-Type: application/sdp",
		"Content-Length: " + strconv.Itoa(len(answer)),
	}, body: answer}
	if _, err := conn.Write(ack.bytes("udp", conn.LocalAddr(), f.addr("udp"))); err != nil {
		t.Fatal(err)
	}

	waitFor(t, "the call to end", func() bool { return len(f.srv.Calls("acme")) == 0 })
	if n := f.counter("optgate_sip_calls_total", nil); n != 0 {
		t.Errorf("calls answered = %v, want 0", n)
	}
	// The greeting would have started at once; one second of it is 50
	// packets.
	_ = rtp.SetReadDeadline(time.Now().Add(time.Second))
	if n, from, err := rtp.ReadFrom(buf); err == nil {
		t.Errorf("%d bytes of media reached the address outside the trunk from %s", n, from)
	}
}
