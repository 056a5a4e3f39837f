package sipcaller

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
)

const testTimeout = 10 * time.Second

// greetingPackets is how many 20 ms G.711 frames the test server plays.
const greetingPackets = 15

// answeredCall is what the test server saw of one call.
type answeredCall struct {
	from, to string
	keys     chan rune
}

// startServer starts a diago user agent on 127.0.0.1 that answers every
// call, plays greetingPackets frames of silence and then collects the
// keys the caller presses until the call ends.
func startServer(t *testing.T) (addr string, calls chan *answeredCall) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("server"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}

	port := freeUDPPort(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	dg := diago.NewDiago(ua, diago.WithLogger(quiet),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	calls = make(chan *answeredCall, 1)
	ctx, cancel := context.WithCancel(context.Background())
	err = dg.ServeBackground(ctx, func(d *diago.DialogServerSession) {
		c := &answeredCall{from: d.FromUser(), to: d.ToUser(), keys: make(chan rune, 8)}
		calls <- c

		codecs := []media.Codec{media.CodecAudioUlaw, media.CodecTelephoneEvent8000}
		med, err := d.Answer(diago.AnswerOptions{Codecs: codecs})
		if err != nil {
			return
		}
		w, err := med.AudioWriter()
		if err != nil {
			return
		}
		silence := bytes.Repeat([]byte{0xff}, 160) // 20 ms of G.711 µ-law silence
		for range greetingPackets {
			if _, err := w.Write(silence); err != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}

		dtmf, err := med.AudioReaderDTMF()
		if err != nil {
			return
		}
		_ = dtmf.Listen(func(key rune) error {
			c.keys <- key
			return nil
		}, testTimeout)
	})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = ua.Close()
	})
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), calls
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPhoneCallCountsAndPresses(t *testing.T) {
	phone := NewPhone(t)
	addr, calls := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	d, med := phone.Call(ctx, addr, "+12015550101", "+18005550100")
	var c *answeredCall
	select {
	case c = <-calls:
	case <-ctx.Done():
		t.Fatal("the server got no call")
	}
	if c.from != "+12015550101" {
		t.Errorf("From user = %q, want +12015550101", c.from)
	}
	if c.to != "+18005550100" {
		t.Errorf("To user = %q, want +18005550100", c.to)
	}
	if d.InviteResponse == nil || d.InviteResponse.StatusCode != 200 {
		t.Fatalf("INVITE response = %v, want 200 OK", d.InviteResponse)
	}

	audio := Listen(t, med)
	if audio.Quiet(0) {
		t.Error("Quiet is true before any audio arrived")
	}
	waitUntil(t, "the greeting's packets", func() bool { return audio.Packets.Load() >= greetingPackets })
	waitUntil(t, "the greeting to end", func() bool { return audio.Quiet(100 * time.Millisecond) })
	if n := audio.Packets.Load(); n != greetingPackets {
		t.Errorf("counted %d packets, want %d", n, greetingPackets)
	}
	if audio.Quiet(time.Hour) {
		t.Error("Quiet(1h) is true although audio arrived moments ago")
	}

	PressKeys(t, med, "1#")
	for _, want := range "1#" {
		select {
		case got := <-c.keys:
			if got != want {
				t.Errorf("server read key %q, want %q", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("server read no key, want %q", want)
		}
	}
}
