// Package sipcaller is a phone for tests: a diago user agent on UDP that
// calls optgate's toll-free numbers as a PBX trunk forwarding a customer's
// call does, counts the greeting's RTP audio and presses keys with
// RFC 4733 telephone events.
package sipcaller

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// listenTimeout bounds the wait for the phone's UDP listener.
const listenTimeout = 5 * time.Second

// hangupTimeout bounds the BYE that a test's cleanup sends for each call.
const hangupTimeout = 5 * time.Second

// Phone is a diago user agent listening on a UDP port of 127.0.0.1.
type Phone struct {
	t  testing.TB
	dg *diago.Diago
}

// NewPhone starts a phone that lives until the test ends. Start it before
// the server under test, so that cleanups, which run last-in first-out,
// stop the server first while the phone still answers the server's BYE.
func NewPhone(t testing.TB) *Phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatalf("create the phone's user agent: %v", err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A fixed port makes the phone send from its listening socket, so the
	// Contact it sends and the socket that receives the server's BYE match.
	port := freeUDPPort(t)
	dg := diago.NewDiago(ua, diago.WithLogger(quiet),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	ctx, cancel := context.WithCancel(context.Background())
	// The phone listens, so that the server's BYE reaches it.
	if err := dg.ServeBackground(ctx, func(*diago.DialogServerSession) {}); err != nil {
		cancel()
		t.Fatalf("start the phone on UDP port %d: %v", port, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = ua.Close()
	})
	waitListening(t, ua, port)
	return &Phone{t: t, dg: dg}
}

// waitListening waits until the user agent's UDP listener on port is in
// sipgo's connection pool. diago reports the transport ready before sipgo
// (v1.7.4) adds the listening socket to the pool, and an INVITE sent in
// that gap tries to bind the port a second time and fails with "address
// already in use".
func waitListening(t testing.TB, ua *sipgo.UserAgent, port int) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(listenTimeout)
	for {
		if _, err := ua.TransportLayer().GetConnection("udp", addr); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the phone's UDP listener on %s is not ready after %v", addr, listenTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// Call sends an INVITE from the number from to the number number at the
// UDP address addr and returns once the call is answered. It fails the
// test when the call is not answered. A cleanup hangs up and closes the
// call when the test ends.
func (p *Phone) Call(ctx context.Context, addr, from, number string) (*diago.DialogClientSession, *diago.DialogMedia) {
	p.t.Helper()
	host, port, err := sip.ParseAddr(addr)
	if err != nil {
		p.t.Fatalf("call %s: invalid address %q: %v", number, addr, err)
	}
	opts := diago.InviteOptions{Headers: []sip.Header{
		&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1"}, Params: sip.NewParams()},
	}}
	d, med, err := p.dg.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: port}, opts)
	if err != nil {
		p.t.Fatalf("call %s: %v", number, err)
	}
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		_ = d.Hangup(ctx)
		_ = d.Close()
	})
	return d, med
}

// PressKeys sends each of keys (0-9, *, #, A-D) as an RFC 4733 telephone
// event on the call's media, in order.
func PressKeys(t testing.TB, med *diago.DialogMedia, keys string) {
	t.Helper()
	dtmf, err := med.AudioWriterDTMF()
	if err != nil {
		t.Fatalf("open the DTMF writer: %v", err)
	}
	for _, key := range keys {
		if err := dtmf.WriteDTMF(key); err != nil {
			t.Fatalf("press %q: %v", key, err)
		}
	}
}

// AudioCounter counts the RTP audio packets a call receives.
type AudioCounter struct {
	// Packets is the number of packets received so far.
	Packets atomic.Int64
	// last is the Unix time in nanoseconds of the latest packet.
	last atomic.Int64
}

// Listen reads the call's audio in the background until the call ends and
// counts its packets.
func Listen(t testing.TB, med *diago.DialogMedia) *AudioCounter {
	t.Helper()
	r, err := med.AudioReader()
	if err != nil {
		t.Fatalf("open the call's audio reader: %v", err)
	}
	c := &AudioCounter{}
	go func() {
		buf := make([]byte, media.RTPBufSize)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
			c.Packets.Add(1)
			c.last.Store(time.Now().UnixNano())
		}
	}()
	return c
}

// Quiet reports whether audio has arrived and no packet came for the
// duration d since, as after the end of a greeting and its beep.
func (c *AudioCounter) Quiet(d time.Duration) bool {
	last := c.last.Load()
	return last != 0 && time.Since(time.Unix(0, last)) > d
}

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
// Another process may take it before the phone binds it.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("pick a free UDP port: %v", err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}
