package smpp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// bindAndServe is a raw SMSC that accepts the bind and then hands the
// connection to serve.
func bindAndServe(t *testing.T, serve func(p *rawPeer)) string {
	return rawSMSC(t, func(p *rawPeer) {
		bind, ok := p.readQuiet()
		if !ok {
			return
		}
		p.send(NewResponse(bind, StatusOK))
		serve(p)
	})
}

// answerOK responds ESME_ROK to a request that has a response, such as
// the client's unbind at the end of a test.
func (p *rawPeer) answerOK(pdu PDU) {
	if _, has := pdu.CommandID().ResponseID(); has {
		p.send(NewResponse(pdu, StatusOK))
	}
}

func TestAttackClientUnknownAndDuplicateResponses(t *testing.T) {
	checkLeaks(t)
	addr := bindAndServe(t, func(p *rawPeer) {
		// A submit_sm_resp for a sequence number the client never used.
		p.send(&SubmitSMResp{Header: Header{SequenceNumber: 0x1234}, MessageID: "stray"})
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() != SubmitSMID {
				p.answerOK(pdu)
				continue
			}
			resp := NewResponse(pdu, StatusOK).(*SubmitSMResp)
			resp.MessageID = fmt.Sprintf("id-%d", pdu.PDUHeader().SequenceNumber)
			p.send(resp)
			p.send(resp)
		}
	})
	c := dialClient(t, testClientConfig(addr))
	for i := range 3 {
		sm := testSubmit("twice answered")
		resp, err := c.Submit(testCtx(t), sm)
		if err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
		if want := fmt.Sprintf("id-%d", sm.SequenceNumber); resp.MessageID != want {
			t.Errorf("Submit %d: message_id %q, want %q", i, resp.MessageID, want)
		}
	}
	if !c.Bound() {
		t.Error("client unbound by stray responses")
	}
}

func TestAttackClientUnexpectedResponseType(t *testing.T) {
	checkLeaks(t)
	addr := bindAndServe(t, func(p *rawPeer) {
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() != SubmitSMID {
				p.answerOK(pdu)
				continue
			}
			p.send(&QuerySMResp{Header: Header{SequenceNumber: pdu.PDUHeader().SequenceNumber}})
		}
	})
	c := dialClient(t, testClientConfig(addr))
	_, err := c.Submit(testCtx(t), testSubmit("wrong answer"))
	if !errors.Is(err, ErrUnexpectedResponse) {
		t.Errorf("Submit error = %v, want ErrUnexpectedResponse", err)
	}
}

func TestAttackClientDeliverFlood(t *testing.T) {
	checkLeaks(t)
	const n = 100
	statuses := make(chan CommandStatus, n)
	release := make(chan struct{})
	addr := bindAndServe(t, func(p *rawPeer) {
		var flood bytes.Buffer
		for seq := range uint32(n) {
			d := &DeliverSM{Header: Header{SequenceNumber: seq + 1}, ShortMessage: []byte("MO")}
			_ = WritePDU(&flood, d)
		}
		p.sendBytes(flood.Bytes())
		for range n {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() == DeliverSMRespID {
				statuses <- pdu.PDUHeader().CommandStatus
			}
		}
	})
	cfg := testClientConfig(addr)
	cfg.InboundWindow = 4
	var started atomic.Int32
	cfg.Handler = func(ctx context.Context, _ PDU) CommandStatus {
		started.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return StatusOK
	}
	dialClient(t, cfg)

	counts := map[CommandStatus]int{}
	for range n - 4 {
		counts[<-statuses]++
	}
	close(release)
	for range 4 {
		counts[<-statuses]++
	}
	if counts[StatusThrottled] != n-4 || counts[StatusOK] != 4 {
		t.Errorf("deliver_sm_resp statuses %v, want %d ESME_RTHROTTLED and 4 ESME_ROK", counts, n-4)
	}
	if s := started.Load(); s != 4 {
		t.Errorf("handler started %d times, want 4", s)
	}
}

func TestAttackClientEnquireLinkFloodUnread(t *testing.T) {
	checkLeaks(t)
	const n = 10000
	result := make(chan error, 1)
	// The peer keeps the connection open until the client's state is
	// checked: closing it would unbind the client and fail the check.
	checked := make(chan struct{})
	addr := bindAndServe(t, func(p *rawPeer) {
		defer func() { <-checked }()
		var flood bytes.Buffer
		for seq := range uint32(n) {
			_ = WritePDU(&flood, &EnquireLink{Header: Header{SequenceNumber: seq + 1}})
		}
		p.sendBytes(flood.Bytes())
		for seq := range uint32(n) {
			pdu, ok := p.readQuiet()
			if !ok {
				result <- fmt.Errorf("connection ended after %d responses", seq)
				return
			}
			h := pdu.PDUHeader()
			if pdu.CommandID() != EnquireLinkRespID || h.SequenceNumber != seq+1 || h.CommandStatus != StatusOK {
				result <- fmt.Errorf("response %d is %v seq %d %v", seq, pdu.CommandID(), h.SequenceNumber, h.CommandStatus)
				return
			}
		}
		result <- nil
	})
	c := dialClient(t, testClientConfig(addr))
	err := <-result
	bound := c.Bound()
	close(checked)
	if err != nil {
		t.Fatal(err)
	}
	if !bound {
		t.Error("client unbound by an enquire_link flood")
	}
}

func TestAttackClientSMSCNeverAnswersBind(t *testing.T) {
	checkLeaks(t)
	cfg := testClientConfig(silentSMSC(t))
	cfg.ResponseTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, cfg)
	if !errors.Is(err, ErrNotBound) || !errors.Is(err, ErrResponseTimeout) {
		t.Errorf("Dial error = %v, want ErrNotBound with the bind's ErrResponseTimeout", err)
	}
}

func TestAttackClientSMSCUnbindsMidWindow(t *testing.T) {
	checkLeaks(t)
	unbound := make(chan PDU, 1)
	addr := bindAndServe(t, func(p *rawPeer) {
		// Take three submits, unbind, then respond only to the first.
		var submits []PDU
		for len(submits) < 3 {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() == SubmitSMID {
				submits = append(submits, pdu)
			}
		}
		p.send(&Unbind{Header: Header{SequenceNumber: 77}})
		p.send(NewResponse(submits[0], StatusOK))
		if pdu, ok := p.readQuiet(); ok {
			unbound <- pdu
		}
	})
	cfg := testClientConfig(addr)
	cfg.ResponseTimeout = 300 * time.Millisecond
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	c := dialClient(t, cfg)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := c.Submit(testCtx(t), testSubmit("in the window"))
			errs <- err
		}()
	}
	resp := <-unbound
	if resp.CommandID() != UnbindRespID || resp.PDUHeader().SequenceNumber != 77 ||
		resp.PDUHeader().CommandStatus != StatusOK {
		t.Errorf("client answered unbind with %v seq %d %v, want unbind_resp seq 77 ESME_ROK",
			resp.CommandID(), resp.PDUHeader().SequenceNumber, resp.PDUHeader().CommandStatus)
	}
	// The submit with a response succeeds, and the client waited for the
	// other two to time out before it sent unbind_resp.
	var ok, timedOut int
	for range 3 {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrResponseTimeout):
			timedOut++
		default:
			t.Errorf("in-flight Submit error = %v, want nil or ErrResponseTimeout", err)
		}
	}
	if ok != 1 || timedOut != 2 {
		t.Errorf("%d submits answered and %d timed out, want 1 and 2", ok, timedOut)
	}
}

func TestAttackClientCloseDuringTraffic(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		time.Sleep(time.Millisecond)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.WindowSize = 4
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	errs := submitLoop(t, c, 16)
	time.Sleep(100 * time.Millisecond)
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 16 {
		select {
		case err := <-errs:
			if !retryable(err) {
				t.Errorf("Submit error after Close = %v, want ErrClosed, ErrNotBound or throttled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a submitter is stuck after Close")
		}
	}
}
