package sip

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
)

// instantMT accepts every text at once.
type instantMT struct{}

func (instantMT) Submit(context.Context, gateway.MT) (gateway.Result, error) {
	return gateway.Result{MessageID: "0123456789abcdef", Segments: 1}, nil
}

func (instantMT) RequestOptIn(context.Context, gateway.OptInRequest) (gateway.OptInResult, error) {
	return gateway.OptInResult{}, nil
}

// benchMessages sends b.N MESSAGE requests one after the other over one
// UDP socket and fails unless each gets 202.
func benchMessages(b *testing.B, addr string) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 65535)
	b.ResetTimer()
	for i := range b.N {
		m := message(tfReady, customer, "text/plain;charset=UTF-8", "Reminder number "+strconv.Itoa(i))
		if _, err := conn.Write(m.bytes("udp", conn.LocalAddr(), addr)); err != nil {
			b.Fatal(err)
		}
		for {
			_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
			n, err := conn.Read(buf)
			if err != nil {
				b.Fatal(err)
			}
			res := parseResponse(b, buf[:n])
			if res.StatusCode < 200 {
				continue
			}
			if res.StatusCode != 202 {
				b.Fatalf("status %d", res.StatusCode)
			}
			break
		}
	}
}

// BenchmarkMessageSIPLayer measures optgate's SIP handling of a MESSAGE:
// parsing, trunk check, body decoding and the response, with an MT
// service that accepts at once.
func BenchmarkMessageSIPLayer(b *testing.B) {
	s, err := NewServer(Config{Listener: configListenerUDP(), Accounts: bareAccounts()}, Deps{MT: instantMT{}})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Stop(context.Background())
	benchMessages(b, s.Addr("udp").String())
}

// BenchmarkMessageToCarrier measures a MESSAGE through the whole path:
// the SIP layer, the consent check on bbolt, and the submit_sm to the
// SMSC simulator over loopback.
func BenchmarkMessageToCarrier(b *testing.B) {
	f := newFixture(b, fixtureOptions{})
	f.setState("acme", customer, consent.StateOptedIn)
	benchMessages(b, f.addr("udp"))
}
