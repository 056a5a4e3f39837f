package sip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// pbx is a SIP user agent that takes MESSAGE requests, as a business's
// PBX does. It responds to each with status.
type pbx struct {
	addr   string
	mu     sync.Mutex
	got    []*sip.Request
	status int
	notify chan struct{}
}

func newPBX(t testing.TB, network string) *pbx {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("pbx"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}

	p := &pbx{status: 200, notify: make(chan struct{}, 100)}
	srv.OnMessage(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		p.got = append(p.got, req)
		status := p.status
		p.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, status, "Test", nil))
		p.notify <- struct{}{}
	})

	done := make(chan struct{})
	var listener io.Closer
	if network == "tcp" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.addr, listener = ln.Addr().String(), ln
		go func() { defer close(done); _ = srv.ServeTCP(ln) }()
	} else {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.addr, listener = pc.LocalAddr().String(), pc
		go func() { defer close(done); _ = srv.ServeUDP(pc) }()
	}
	t.Cleanup(func() {
		_ = listener.Close()
		_ = ua.Close()
		<-done
	})
	return p
}

func (p *pbx) setStatus(status int) {
	p.mu.Lock()
	p.status = status
	p.mu.Unlock()
}

// wait returns the n-th MESSAGE received, counting from 1.
func (p *pbx) wait(t testing.TB, n int) *sip.Request {
	t.Helper()
	deadline := time.After(testTimeout)
	for {
		p.mu.Lock()
		if len(p.got) >= n {
			req := p.got[n-1]
			p.mu.Unlock()
			return req
		}
		p.mu.Unlock()
		select {
		case <-p.notify:
		case <-deadline:
			t.Fatalf("the PBX got no MESSAGE number %d", n)
		}
	}
}

func (p *pbx) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.got)
}

func reqHeader(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func TestDeliverMOToPBX(t *testing.T) {
	p := newPBX(t, "udp")
	f := newFixture(t, fixtureOptions{delivery: fmt.Sprintf(`{type: sip, sip_uri: "sip:texts@%s"}`, p.addr)})
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()

	status, err := f.sim.Inject(ctx, smscsim.MO{From: customer, To: tfReady, Text: "Can I move my appointment to Friday?"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("inject: %v, %v", status, err)
	}
	req := p.wait(t, 1)
	if got := string(req.Body()); got != "Can I move my appointment to Friday?" {
		t.Errorf("body = %q", got)
	}
	if got := req.ContentType().Value(); got != contentTextUTF8 {
		t.Errorf("Content-Type = %q, want %s", got, contentTextUTF8)
	}
	if req.From().Address.User != customer || req.To().Address.User != tfReady {
		t.Errorf("From %s To %s, want the customer to %s", req.From().Address.User, req.To().Address.User, tfReady)
	}
	if req.Recipient.User != "texts" {
		t.Errorf("request-URI = %s, want the configured sip_uri", req.Recipient.String())
	}
	if reqHeader(req, HeaderKind) != "mo" || len(reqHeader(req, HeaderMOID)) != 16 {
		t.Errorf("%s = %q, %s = %q", HeaderKind, reqHeader(req, HeaderKind), HeaderMOID, reqHeader(req, HeaderMOID))
	}
	if !strings.HasPrefix(reqHeader(req, HeaderDelivery), "acme:") {
		t.Errorf("%s = %q, want acme:SEQ", HeaderDelivery, reqHeader(req, HeaderDelivery))
	}

	// STOP is forwarded with its keyword, so the PBX does not reply to it.
	if _, err := f.sim.Inject(ctx, smscsim.MO{From: customer, To: tfReady, Text: "STOP"}); err != nil {
		t.Fatal(err)
	}
	req = p.wait(t, 2)
	if got := reqHeader(req, HeaderKeyword); got != "opt_out" {
		t.Errorf("%s = %q, want opt_out", HeaderKeyword, got)
	}
}

func TestDeliverReceiptToPBX(t *testing.T) {
	p := newPBX(t, "udp")
	f := newFixture(t, fixtureOptions{delivery: fmt.Sprintf(`{type: sip, sip_uri: "sip:%s"}`, p.addr)})
	f.setState("acme", customer, consent.StateOptedIn)

	m := message(tfReady, customer, "text/plain", "Your order shipped")
	m.lines = append(m.lines, HeaderReceipt+": final", HeaderClientRef+": order-77")
	res := exchangeUDP(t, f.addr("udp"), m)
	if res.StatusCode != 202 {
		t.Fatalf("status = %d (%s), want 202", res.StatusCode, header(res, "Warning"))
	}
	id := header(res, HeaderMessageID)
	req := p.wait(t, 1)
	if reqHeader(req, HeaderKind) != "receipt" || reqHeader(req, HeaderMessageID) != id {
		t.Errorf("receipt headers: kind %q, id %q; want receipt for %s",
			reqHeader(req, HeaderKind), reqHeader(req, HeaderMessageID), id)
	}
	if got := reqHeader(req, HeaderStatus); got != "DELIVRD" {
		t.Errorf("%s = %q, want DELIVRD", HeaderStatus, got)
	}
	if got := reqHeader(req, HeaderClientRef); got != "order-77" {
		t.Errorf("%s = %q, want order-77", HeaderClientRef, got)
	}
	body := string(req.Body())
	if !strings.HasPrefix(body, "id:"+id+" ") || !strings.Contains(body, "stat:DELIVRD") {
		t.Errorf("body = %q, want an appendix B receipt for %s", body, id)
	}
}

func TestDeliverOutcomes(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{
		{200, false}, {202, false}, {404, true}, {415, true}, {403, true},
		{480, false}, {486, false}, {408, false}, {500, false}, {503, false}, {603, true},
	}
	p := newPBX(t, "udp")
	f := newFixture(t, fixtureOptions{delivery: fmt.Sprintf(`{type: sip, sip_uri: "sip:%s"}`, p.addr)})
	deliverer, ok := f.srv.Target("acme")
	if !ok {
		t.Fatal("no target for acme")
	}
	if _, ok := f.srv.Target("nobody"); ok {
		t.Error("a target for an unknown account")
	}
	for _, tc := range cases {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			p.setStatus(tc.status)
			err := deliverer.Deliver(f.ctx, moItem("hello"))
			switch {
			case tc.status < 300 && err != nil:
				t.Errorf("Deliver = %v, want nil", err)
			case tc.status >= 300 && err == nil:
				t.Error("Deliver = nil, want an error")
			case tc.status >= 300 && errorsIsPermanent(err) != tc.permanent:
				t.Errorf("Deliver = %v; permanent %v, want %v", err, errorsIsPermanent(err), tc.permanent)
			}
		})
	}
}

func TestDeliverLongTextUsesTCP(t *testing.T) {
	p := newPBX(t, "tcp")
	f := newFixture(t, fixtureOptions{delivery: fmt.Sprintf(`{type: sip, sip_uri: "sip:%s;transport=tcp"}`, p.addr)})
	deliverer, _ := f.srv.Target("acme")
	text := strings.Repeat("ä", 1000)
	if err := deliverer.Deliver(f.ctx, moItem(text)); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	req := p.wait(t, 1)
	if string(req.Body()) != text {
		t.Errorf("body is %d bytes, want %d", len(req.Body()), len(text))
	}
	if got := req.Transport(); got != "TCP" {
		t.Errorf("transport = %s, want TCP", got)
	}
}

func TestDeliveryRequestCountsBytes(t *testing.T) {
	// optgate's own reply text: 43 characters, 45 bytes in UTF-8.
	text := "You are opted out – reply UNSTOP to resume."
	var target sip.Uri
	if err := sip.ParseUri("sip:pbx.example.com", &target); err != nil {
		t.Fatal(err)
	}
	req, err := deliveryRequest(moItem(text), target, "optgate.example")
	if err != nil {
		t.Fatal(err)
	}
	if got := req.ContentLength(); got == nil || int(*got) != 45 {
		t.Errorf("Content-Length = %v, want 45", got)
	}
	if got := req.ContentType().Value(); got != "text/plain;charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
	wire := req.String()
	if !strings.Contains(wire, "Content-Length: 45\r\n") || !strings.HasSuffix(wire, "\r\n\r\n"+text) {
		t.Errorf("wire form does not end with the 45-byte body:\n%s", wire)
	}
	if _, err := deliveryRequest(gateway.Item{Kind: gateway.KindReply, Reply: &gateway.ReplyItem{}}, target, "h"); err == nil {
		t.Error("a reply item became a MESSAGE")
	}
}

func moItem(text string) gateway.Item {
	return gateway.Item{Queue: "acme", Seq: 1, Kind: gateway.KindMO, Enqueued: time.Now(),
		MO: &gateway.MOItem{ID: gateway.NewMessageID(), From: customer, To: tfReady, Text: text, Segments: 1}}
}

func errorsIsPermanent(err error) bool { return errors.Is(err, gateway.ErrPermanent) }
