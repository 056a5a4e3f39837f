package sipd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/internal/daemontest"
)

// pbx is a SIP user agent on UDP that takes MESSAGE requests with 200 OK,
// as a business's PBX does.
type pbx struct {
	addr string
	got  chan *sip.Request
}

func newPBX(t testing.TB) *pbx {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("pbx"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	p := &pbx{got: make(chan *sip.Request, 100)}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		select {
		case p.got <- req:
		default:
		}
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = pc.LocalAddr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeUDP(pc)
	}()
	t.Cleanup(func() {
		_ = pc.Close()
		_ = ua.Close()
		<-done
	})
	return p
}

// next returns the next MESSAGE the PBX took.
func (p *pbx) next(t testing.TB) *sip.Request {
	t.Helper()
	select {
	case req := <-p.got:
		return req
	case <-time.After(testTimeout):
		t.Fatal("the PBX got no MESSAGE")
		return nil
	}
}

// phone is a diago user agent that calls the daemon, as a PBX trunk
// forwarding a customer's call does.
type phone struct {
	t  testing.TB
	dg *diago.Diago
}

// newPhone starts a phone. Tests start it before the fixture, so that it
// still responds to the daemon's BYE while the daemon stops.
func newPhone(t testing.TB) *phone {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("phone"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A fixed port makes the phone send from its listening socket, so the
	// Contact it sends and the socket that gets the daemon's BYE match.
	port := daemontest.FreePort(t, "udp")
	dg := diago.NewDiago(ua, diago.WithLogger(quiet),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port}))
	ctx, cancel := context.WithCancel(context.Background())
	if err := dg.ServeBackground(ctx, func(*diago.DialogServerSession) {}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = ua.Close()
	})
	return &phone{t: t, dg: dg}
}

// call calls number at the daemon's UDP address from the customer.
func (p *phone) call(ctx context.Context, addr, from, number string) (*diago.DialogClientSession, *diago.DialogMedia) {
	p.t.Helper()
	host, port, err := sip.ParseAddr(addr)
	if err != nil {
		p.t.Fatal(err)
	}
	opts := diago.InviteOptions{Headers: []sip.Header{
		&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: from, Host: "127.0.0.1"}, Params: sip.NewParams()},
	}}
	d, med, err := p.dg.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: port}, opts)
	if err != nil {
		p.t.Fatalf("call %s: %v", number, err)
	}
	p.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		_ = d.Close()
	})
	return d, med
}

// audioCounter counts the RTP audio packets a phone receives.
type audioCounter struct {
	packets atomic.Int64
}

func listen(t testing.TB, med *diago.DialogMedia) *audioCounter {
	t.Helper()
	r, err := med.AudioReader()
	if err != nil {
		t.Fatal(err)
	}
	l := &audioCounter{}
	go func() {
		buf := make([]byte, media.RTPBufSize)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
			l.packets.Add(1)
		}
	}()
	return l
}
