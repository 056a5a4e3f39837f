package sipd

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/internal/sipcaller"
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

// phone is the test phone of internal/sipcaller under the method name the
// call tests of this package use.
type phone struct{ *sipcaller.Phone }

// newPhone starts a phone. Tests start it before the fixture, so that it
// still responds to the daemon's BYE while the daemon stops.
func newPhone(t testing.TB) phone {
	t.Helper()
	return phone{sipcaller.NewPhone(t)}
}

// call calls number at the daemon's UDP address from the customer.
func (p phone) call(ctx context.Context, addr, from, number string) (*diago.DialogClientSession, *diago.DialogMedia) {
	return p.Call(ctx, addr, from, number)
}

// audioCounter holds the packet count of the call audio that
// sipcaller.Listen reads.
type audioCounter struct {
	packets *atomic.Int64
}

func listen(t testing.TB, med *diago.DialogMedia) audioCounter {
	t.Helper()
	return audioCounter{packets: &sipcaller.Listen(t, med).Packets}
}
