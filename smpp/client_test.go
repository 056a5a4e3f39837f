package smpp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// okHandler responds to every request with ESME_ROK, and to submit_sm with
// a message id made from its sequence number.
var okHandler = HandlerFunc(func(_ context.Context, _ *ServerSession, req PDU) PDU {
	resp := NewResponse(req, StatusOK)
	if r, ok := resp.(*SubmitSMResp); ok {
		r.MessageID = fmt.Sprintf("id-%d", req.PDUHeader().SequenceNumber)
	}
	return resp
})

func testSubmit(text string) *SubmitSM {
	return &SubmitSM{
		SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "18885550100",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550101",
		ShortMessage: []byte(text),
	}
}

func TestClientBindsEachType(t *testing.T) {
	checkLeaks(t)
	tests := []struct {
		bindType BindType
		state    SessionState
	}{
		{BindTypeTransmitter, SessionBoundTX},
		{BindTypeReceiver, SessionBoundRX},
		{BindTypeTransceiver, SessionBoundTRX},
	}
	for _, tt := range tests {
		t.Run(tt.bindType.String(), func(t *testing.T) {
			var mu sync.Mutex
			var seen []BindRequest
			srv := &Server{Authenticator: AuthenticatorFunc(func(_ context.Context, req BindRequest) CommandStatus {
				mu.Lock()
				seen = append(seen, req)
				mu.Unlock()
				return StatusOK
			})}
			addr := startServer(t, srv)
			cfg := testClientConfig(addr)
			cfg.BindType = tt.bindType
			cfg.SystemType = "VMA"
			cfg.AddressRange = "^1201"
			c := dialClient(t, cfg)
			if !c.Bound() {
				t.Fatal("client not bound after Dial")
			}

			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 {
				t.Fatalf("server saw %d binds, want 1", len(seen))
			}
			got := seen[0]
			if got.BindType != tt.bindType || got.SystemID != testSystemID || got.Password != testPassword ||
				got.SystemType != "VMA" || got.AddressRange != "^1201" || got.InterfaceVersion != 0x34 {
				t.Errorf("server saw bind %+v", got)
			}
			sessions := srv.Sessions()
			if len(sessions) != 1 || sessions[0].State() != tt.state {
				t.Fatalf("server sessions %v, want one in %v", sessions, tt.state)
			}
		})
	}
}

func TestClientConfigRejectsOverlongCredentials(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*ClientConfig)
		field  string
	}{
		{"system_id 16 chars", func(c *ClientConfig) { c.SystemID = "acmeretail012345" }, "system_id"},
		{"password 9 chars", func(c *ClientConfig) { c.Password = "pa55w0rd9" }, "password"},
		{"system_type 13 chars", func(c *ClientConfig) { c.SystemType = "abcdefghijklm" }, "system_type"},
		{"address_range 41 chars", func(c *ClientConfig) { c.AddressRange = strings.Repeat("1", 41) }, "address_range"},
		{"missing addr", func(c *ClientConfig) { c.Addr = "" }, "addr"},
		{"missing system_id", func(c *ClientConfig) { c.SystemID = "" }, "system_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testClientConfig("127.0.0.1:1")
			tt.modify(&cfg)
			_, err := NewClient(cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("NewClient error = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name %s", err, tt.field)
			}
		})
	}
}

func TestClientBindsWithMaxLengthCredentials(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Authenticator: AuthenticatorFunc(func(_ context.Context, req BindRequest) CommandStatus {
		if req.SystemID == "acmeretail01234" && req.Password == "pa55w0rd" {
			return StatusOK
		}
		return StatusInvalidPassword
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.SystemID = "acmeretail01234"
	cfg.Password = "pa55w0rd"
	c := dialClient(t, cfg)
	if !c.Bound() {
		t.Fatal("client not bound")
	}
	if got := srv.Sessions()[0].SystemID(); got != "acmeretail01234" {
		t.Errorf("server session system_id = %q", got)
	}
}

func TestClientSubmitGetsMessageID(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler})
	c := dialClient(t, testClientConfig(addr))
	resp, err := c.Submit(testCtx(t), testSubmit("hello"))
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	if want := fmt.Sprintf("id-%d", resp.SequenceNumber); resp.MessageID != want {
		t.Errorf("message_id = %q, want %q", resp.MessageID, want)
	}
}

func TestClientWindowFullBlocks(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	var arrived atomic.Int32
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		arrived.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.WindowSize = 2
	var inUse atomic.Int32
	cfg.Hooks.WindowInUse = func(_ string, n, size int) {
		if size != 2 {
			t.Errorf("window size %d, want 2", size)
		}
		inUse.Store(int32(n))
	}
	c := dialClient(t, cfg)

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Submit(testCtx(t), testSubmit(fmt.Sprintf("m%d", i)))
			errs <- err
		}()
	}
	waitFor(t, "two submits at the server", func() bool { return arrived.Load() == 2 })
	if got := inUse.Load(); got != 2 {
		t.Errorf("window in use = %d, want 2", got)
	}

	// The third request finds no free slot and gives up when ctx ends.
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	_, err := c.Submit(ctx, testSubmit("m3"))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "window slot") {
		t.Fatalf("third Submit error = %v, want a window slot wait ending in DeadlineExceeded", err)
	}
	if got := arrived.Load(); got != 2 {
		t.Errorf("server saw %d submits, want 2 while the window is full", got)
	}

	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("in-flight Submit: %v", err)
		}
	}
	if _, err := c.Submit(testCtx(t), testSubmit("m4")); err != nil {
		t.Errorf("Submit after the window freed: %v", err)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestClientResponseTimeout(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, _ *ServerSession, req PDU) PDU {
		<-ctx.Done()
		return NewResponse(req, StatusSystemError)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ResponseTimeout = 100 * time.Millisecond
	cfg.WindowSize = 1
	c := dialClient(t, cfg)

	_, err := c.Submit(testCtx(t), testSubmit("slow"))
	if !errors.Is(err, ErrResponseTimeout) {
		t.Fatalf("Submit error = %v, want ErrResponseTimeout", err)
	}
	// The slot came back, so a second request is sent too and also times out.
	_, err = c.Submit(testCtx(t), testSubmit("slow again"))
	if !errors.Is(err, ErrResponseTimeout) {
		t.Fatalf("second Submit error = %v, want ErrResponseTimeout", err)
	}
	if !c.Bound() {
		t.Error("client unbound after a response timeout")
	}
}

func TestEnquireLinkKeepsIdleLinkUp(t *testing.T) {
	checkLeaks(t)
	var enquires atomic.Int32
	srv := &Server{
		InactivityTimeout: 300 * time.Millisecond,
		Hooks: Hooks{PDUReceived: func(_ string, h Header) {
			if h.CommandID == EnquireLinkID {
				enquires.Add(1)
			}
		}},
	}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.EnquireLinkInterval = 50 * time.Millisecond
	var closes atomic.Int32
	cfg.Hooks.BindStateChanged = func(_ string, state SessionState, _ error) {
		if state == SessionClosed {
			closes.Add(1)
		}
	}
	c := dialClient(t, cfg)
	first := srv.Sessions()[0]

	time.Sleep(time.Second)
	if !c.Bound() || closes.Load() != 0 {
		t.Fatalf("link dropped: bound=%v closes=%d", c.Bound(), closes.Load())
	}
	if s := srv.Sessions(); len(s) != 1 || s[0] != first {
		t.Fatal("server session replaced, want the first one kept")
	}
	if n := enquires.Load(); n < 5 {
		t.Errorf("server received %d enquire_link in 1s at a 50ms interval, want at least 5", n)
	}
}

func TestServerClosesIdlePeer(t *testing.T) {
	checkLeaks(t)
	srv := &Server{InactivityTimeout: 100 * time.Millisecond}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	p.expectClosed()
}

func TestEnquireLinkUnansweredClosesLink(t *testing.T) {
	checkLeaks(t)
	// The SMSC responds to the bind and then to nothing at all.
	addr := rawSMSC(t, func(p *rawPeer) {
		pdu, ok := p.readQuiet()
		if !ok {
			return
		}
		p.send(NewResponse(pdu, StatusOK))
		for {
			if _, ok := p.readQuiet(); !ok {
				return
			}
		}
	})

	cfg := testClientConfig(addr)
	cfg.EnquireLinkInterval = 50 * time.Millisecond
	cfg.EnquireLinkTimeout = 100 * time.Millisecond
	cfg.ReconnectDelay = time.Hour
	cfg.MaxReconnectDelay = time.Hour
	closed := make(chan error, 1)
	cfg.Hooks.BindStateChanged = func(_ string, state SessionState, err error) {
		if state == SessionClosed {
			select {
			case closed <- err:
			default:
			}
		}
	}
	c := dialClient(t, cfg)

	select {
	case err := <-closed:
		if !errors.Is(err, ErrLinkDead) || !errors.Is(err, ErrClosed) {
			t.Errorf("close reason %v, want ErrLinkDead", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("link not closed although enquire_link went unanswered")
	}
	waitFor(t, "client to notice", func() bool { return !c.Bound() })
}

func TestClientReconnectsAfterDrop(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var binds []time.Time
	srv := &Server{
		Handler: okHandler,
		Authenticator: AuthenticatorFunc(func(_ context.Context, req BindRequest) CommandStatus {
			mu.Lock()
			binds = append(binds, time.Now())
			mu.Unlock()
			if req.SystemID != testSystemID || req.Password != testPassword {
				return StatusInvalidPassword
			}
			return StatusOK
		}),
	}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = 100 * time.Millisecond
	cfg.MaxReconnectDelay = 200 * time.Millisecond
	c := dialClient(t, cfg)

	srv.Sessions()[0].Close()
	waitFor(t, "the second bind", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(binds) == 2
	})
	mu.Lock()
	gap := binds[1].Sub(binds[0])
	mu.Unlock()
	if gap < 50*time.Millisecond {
		t.Errorf("rebound after %v, want a back-off of at least 50ms", gap)
	}
	if _, err := c.Submit(testCtx(t), testSubmit("after reconnect")); err != nil {
		t.Fatalf("Submit after reconnect: %v", err)
	}
}

func TestClientBindRejectedReportsStatus(t *testing.T) {
	checkLeaks(t)
	var attempts atomic.Int32
	srv := &Server{Authenticator: AuthenticatorFunc(func(context.Context, BindRequest) CommandStatus {
		attempts.Add(1)
		return StatusInvalidPassword
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ReconnectDelay = 50 * time.Millisecond
	cfg.MaxReconnectDelay = 200 * time.Millisecond

	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, cfg)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusInvalidPassword {
		t.Fatalf("Dial error = %v, want a StatusError with ESME_RINVPASWD", err)
	}
	var de *DecodeError
	if errors.As(err, &de) {
		t.Errorf("Dial error %v is a decode error, want only the bind status", err)
	}
	// Delays of 25-50, 50-100, 100-200 and then 100-200 ms fit at most 8
	// attempts into 700ms. A tight loop would make hundreds.
	if n := attempts.Load(); n < 2 || n > 8 {
		t.Errorf("%d bind attempts in 700ms, want 2 to 8 with back-off", n)
	}
}

func TestClientThrottleSlowsBind(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var arrivals []time.Time
	statuses := []CommandStatus{StatusThrottled, StatusMsgQueueFull, StatusOK}
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		mu.Lock()
		n := len(arrivals)
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if n < len(statuses)-1 {
			return NewResponse(req, statuses[n])
		}
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ThrottlePause = 100 * time.Millisecond
	var pauses []time.Duration
	var throttled []CommandStatus
	cfg.Hooks.Throttled = func(_ string, status CommandStatus, pause time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		throttled = append(throttled, status)
		pauses = append(pauses, pause)
	}
	c := dialClient(t, cfg)

	var resp *SubmitSMResp
	var err error
	for range 5 {
		resp, err = c.Submit(testCtx(t), testSubmit("retry me"))
		if !Throttled(err) {
			break
		}
	}
	if err != nil {
		t.Fatalf("Submit after retries: %v", err)
	}
	if resp.MessageID == "" {
		t.Error("empty message_id after the retry")
	}

	mu.Lock()
	defer mu.Unlock()
	if len(arrivals) != 3 {
		t.Fatalf("server saw %d attempts, want 3", len(arrivals))
	}
	wantStatus := []CommandStatus{StatusThrottled, StatusMsgQueueFull}
	wantPause := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}
	if fmt.Sprint(throttled) != fmt.Sprint(wantStatus) || fmt.Sprint(pauses) != fmt.Sprint(wantPause) {
		t.Fatalf("throttle hook saw %v with pauses %v, want %v with %v", throttled, pauses, wantStatus, wantPause)
	}
	for i := range 2 {
		if gap := arrivals[i+1].Sub(arrivals[i]); gap < wantPause[i] {
			t.Errorf("attempt %d came %v after the previous one, want at least the %v pause", i+2, gap, wantPause[i])
		}
	}
}

func TestClientThrottlePausesOtherRequests(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var arrivals []time.Time
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		mu.Lock()
		n := len(arrivals)
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		if n == 0 {
			return NewResponse(req, StatusThrottled)
		}
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.ThrottlePause = 200 * time.Millisecond
	c := dialClient(t, cfg)

	if _, err := c.Submit(testCtx(t), testSubmit("first")); !Throttled(err) {
		t.Fatalf("first Submit error = %v, want a throttling status", err)
	}
	// A different message on the same bind waits out the pause as well.
	if _, err := c.Submit(testCtx(t), testSubmit("second")); err != nil {
		t.Fatalf("second Submit: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := arrivals[1].Sub(arrivals[0]); gap < 200*time.Millisecond {
		t.Errorf("second message sent %v after the throttled one, want at least 200ms", gap)
	}
}

func TestClientRateLimit(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler})
	cfg := testClientConfig(addr)
	cfg.Rate = 20
	c := dialClient(t, cfg)
	start := time.Now()
	for i := range 6 {
		if _, err := c.Submit(testCtx(t), testSubmit(fmt.Sprint(i))); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	// One token at start, then one per 50ms: the sixth goes out after 250ms.
	if elapsed := time.Since(start); elapsed < 240*time.Millisecond {
		t.Errorf("6 submits at 20/s took %v, want at least 250ms", elapsed)
	}
}

func TestSequenceWrapMatchesResponses(t *testing.T) {
	checkLeaks(t)
	var mu sync.Mutex
	var seqs []uint32
	var texts = map[uint32]string{}
	arrived := make(chan struct{}, 8)
	release := make(chan struct{})
	srv := &Server{
		Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
			sm := req.(*SubmitSM)
			mu.Lock()
			texts[sm.SequenceNumber] = string(sm.ShortMessage[6:])
			mu.Unlock()
			arrived <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
			resp := NewResponse(req, StatusOK).(*SubmitSMResp)
			resp.MessageID = "msg-" + string(sm.ShortMessage[6:12])
			return resp
		}),
		Hooks: Hooks{PDUReceived: func(_ string, h Header) {
			if h.CommandID == SubmitSMID || (h.CommandID == EnquireLinkID) {
				mu.Lock()
				seqs = append(seqs, h.SequenceNumber)
				mu.Unlock()
			}
		}},
	}
	addr := startServer(t, srv)
	c := dialClient(t, testClientConfig(addr))

	text := strings.Repeat("segment one text. ", 9)[:153] +
		strings.Repeat("segment two text. ", 9)[:153] +
		strings.Repeat("segment three end ", 5)[:90]
	segments, err := SplitText(text, CodingDefault, SplitOptions{Refs: new(RefCounter)})
	if err != nil || len(segments) != 3 {
		t.Fatalf("SplitText: %d segments, %v", len(segments), err)
	}

	c.setNextSequence(0x7FFFFFFE)
	type result struct {
		seg  int
		resp *SubmitSMResp
		err  error
	}
	results := make(chan result, 3)
	for i, seg := range segments {
		sm := testSubmit("")
		sm.ESMClass = ESMClassUDHI
		sm.ShortMessage = seg.Data
		go func() {
			resp, err := c.Submit(testCtx(t), sm)
			results <- result{i, resp, err}
		}()
		// One at a time, so the sequence numbers follow segment order.
		<-arrived
	}
	if err := c.EnquireLink(testCtx(t)); err != nil {
		t.Fatalf("EnquireLink across the wrap: %v", err)
	}
	close(release)

	for range 3 {
		r := <-results
		if r.err != nil {
			t.Fatalf("segment %d: %v", r.seg+1, r.err)
		}
		want := "msg-" + string(segments[r.seg].Data[6:12])
		if r.resp.MessageID != want {
			t.Errorf("segment %d got response %q, want %q", r.seg+1, r.resp.MessageID, want)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := []uint32{0x7FFFFFFE, 0x7FFFFFFF, 1, 2}
	if fmt.Sprintf("%#x", seqs) != fmt.Sprintf("%#x", want) {
		t.Errorf("sequence numbers %#x, want %#x", seqs, want)
	}
}

func TestSessionSkipsSequenceInFlight(t *testing.T) {
	checkLeaks(t)
	release := make(chan struct{})
	arrived := make(chan uint32, 4)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		arrived <- req.PDUHeader().SequenceNumber
		select {
		case <-release:
		case <-ctx.Done():
		}
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	c := dialClient(t, testClientConfig(addr))

	errs := make(chan error, 2)
	go func() {
		_, err := c.Submit(testCtx(t), testSubmit("holds seq 2"))
		errs <- err
	}()
	first := <-arrived
	// Rewind so the next number would collide with the one in flight.
	c.setNextSequence(first)
	go func() {
		_, err := c.Submit(testCtx(t), testSubmit("must skip"))
		errs <- err
	}()
	second := <-arrived
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("Submit: %v", err)
		}
	}
	if second == first {
		t.Errorf("sequence number %d reused while in flight", first)
	}
}

func TestClientBindRespWithInterfaceVersion(t *testing.T) {
	checkLeaks(t)
	var enquires atomic.Int32
	addr := rawSMSC(t, func(p *rawPeer) {
		if _, ok := p.readQuiet(); !ok {
			return
		}
		// bind_transceiver_resp with an empty system_id and
		// sc_interface_version 0x50.
		p.sendBytes(hexWords(t, "00000016 80000009 00000000 00000001 00021000 0150"))
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			if pdu.CommandID() == EnquireLinkID {
				enquires.Add(1)
			}
			if _, has := pdu.CommandID().ResponseID(); has {
				p.send(NewResponse(pdu, StatusOK))
			}
		}
	})
	cfg := testClientConfig(addr)
	cfg.EnquireLinkInterval = 30 * time.Millisecond
	var closes atomic.Int32
	cfg.Hooks.BindStateChanged = func(_ string, state SessionState, _ error) {
		if state == SessionClosed {
			closes.Add(1)
		}
	}
	c := dialClient(t, cfg)
	waitFor(t, "three enquire_link", func() bool { return enquires.Load() >= 3 })
	if !c.Bound() || closes.Load() != 0 {
		t.Errorf("session dropped after bind: bound=%v closes=%d", c.Bound(), closes.Load())
	}
}

// scriptedSMSC binds any client and answers each submit_sm with the next
// raw response from answers, with the submit's sequence number patched in.
func scriptedSMSC(t *testing.T, answers ...func(seq uint32) []byte) string {
	return rawSMSC(t, func(p *rawPeer) {
		next := 0
		for {
			pdu, ok := p.readQuiet()
			if !ok {
				return
			}
			switch {
			case pdu.CommandID() == SubmitSMID && next < len(answers):
				p.sendBytes(answers[next](pdu.PDUHeader().SequenceNumber))
				next++
			case pdu.CommandID() == SubmitSMID:
				resp := NewResponse(pdu, StatusOK).(*SubmitSMResp)
				resp.MessageID = "ok"
				p.send(resp)
			default:
				if _, has := pdu.CommandID().ResponseID(); has {
					p.send(NewResponse(pdu, StatusOK))
				}
			}
		}
	})
}

func TestClientSubmitErrorRespWithoutBody(t *testing.T) {
	checkLeaks(t)
	addr := scriptedSMSC(t, func(seq uint32) []byte {
		// submit_sm_resp, ESME_RSUBMITFAIL, header only.
		return hexWords(t, fmt.Sprintf("00000010 80000004 00000045 %08x", seq))
	})
	c := dialClient(t, testClientConfig(addr))

	_, err := c.Submit(testCtx(t), testSubmit("fails"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusSubmitFailed {
		t.Fatalf("Submit error = %v, want a StatusError with ESME_RSUBMITFAIL", err)
	}
	if !c.Bound() {
		t.Fatal("link dropped after a bodiless error response")
	}
	resp, err := c.Submit(testCtx(t), testSubmit("works"))
	if err != nil || resp.MessageID != "ok" {
		t.Fatalf("next Submit = %v, %v; want message_id ok", resp, err)
	}
}

func TestClientGenericNackFailsRequest(t *testing.T) {
	checkLeaks(t)
	addr := scriptedSMSC(t, func(seq uint32) []byte {
		return hexWords(t, fmt.Sprintf("00000010 80000000 00000003 %08x", seq))
	})
	c := dialClient(t, testClientConfig(addr))
	_, err := c.Submit(testCtx(t), testSubmit("nacked"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusInvalidCommandID || se.CommandID != GenericNACKID {
		t.Fatalf("Submit error = %v, want generic_nack ESME_RINVCMDID", err)
	}
	if _, err := c.Submit(testCtx(t), testSubmit("next")); err != nil {
		t.Errorf("Submit after generic_nack: %v", err)
	}
}

func TestClientUndecodableResponseFailsRequest(t *testing.T) {
	checkLeaks(t)
	addr := scriptedSMSC(t, func(seq uint32) []byte {
		// submit_sm_resp whose message_id has no NUL before the PDU ends.
		return hexWords(t, fmt.Sprintf("00000013 80000004 00000000 %08x 414243", seq))
	})
	c := dialClient(t, testClientConfig(addr))
	_, err := c.Submit(testCtx(t), testSubmit("bad answer"))
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "message_id" {
		t.Fatalf("Submit error = %v, want a DecodeError for message_id", err)
	}
	if !c.Bound() {
		t.Error("link dropped after an undecodable response")
	}
}

func TestClientHandlerReceivesDeliver(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	got := make(chan string, 2)
	cfg.Handler = func(_ context.Context, req PDU) CommandStatus {
		d := req.(*DeliverSM)
		got <- string(d.ShortMessage)
		if string(d.ShortMessage) == "reject me" {
			return StatusTempAppError
		}
		return StatusOK
	}
	dialClient(t, cfg)
	ss := srv.Sessions()[0]

	mo := &DeliverSM{SourceAddr: "12015550101", DestinationAddr: "18885550100", ShortMessage: []byte("STOP")}
	if _, err := ss.Deliver(testCtx(t), mo); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if text := <-got; text != "STOP" {
		t.Errorf("handler got %q", text)
	}
	_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("reject me")})
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusTempAppError {
		t.Errorf("Deliver error = %v, want the ESME's ESME_RX_T_APPN", err)
	}
}

func TestClientInboundWindowBoundsHandlers(t *testing.T) {
	checkLeaks(t)
	srv := &Server{}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.InboundWindow = 2
	var running, peak atomic.Int32
	release := make(chan struct{})
	cfg.Handler = func(ctx context.Context, _ PDU) CommandStatus {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		running.Add(-1)
		return StatusOK
	}
	dialClient(t, cfg)
	ss := srv.Sessions()[0]

	results := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := ss.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("x")})
			results <- err
		}()
	}
	// The third finds both handler slots taken and is throttled at once.
	err := <-results
	if !Throttled(err) {
		t.Fatalf("first finished Deliver error = %v, want ESME_RTHROTTLED", err)
	}
	waitFor(t, "two handlers running", func() bool { return running.Load() == 2 })
	close(release)
	for range 2 {
		if err := <-results; err != nil {
			t.Errorf("Deliver: %v", err)
		}
	}
	if p := peak.Load(); p != 2 {
		t.Errorf("peak concurrent handlers %d, want 2", p)
	}
}

func TestClientCloseWaitsForInFlight(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		time.Sleep(150 * time.Millisecond)
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	c, err := Dial(testCtx(t), testClientConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Submit(testCtx(t), testSubmit("in flight"))
		errc <- err
	}()
	waitFor(t, "the submit in flight", func() bool { return c.sess != nil && c.sess.inFlight() == 1 })
	if err := c.Close(testCtx(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; err != nil {
		t.Errorf("in-flight Submit failed on Close: %v", err)
	}
	if _, err := c.Submit(testCtx(t), testSubmit("after close")); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close error = %v, want ErrClosed", err)
	}
	waitFor(t, "server to drop the session", func() bool { return len(srv.Sessions()) == 0 })
}

func TestClientCloseFailsRequestsAfterDeadline(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, _ *ServerSession, req PDU) PDU {
		<-ctx.Done()
		return NewResponse(req, StatusSystemError)
	})}
	addr := startServer(t, srv)
	c, err := Dial(testCtx(t), testClientConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Submit(testCtx(t), testSubmit("never answered"))
		errc <- err
	}()
	waitFor(t, "the submit in flight", func() bool { return c.sess != nil && c.sess.inFlight() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 requests still in flight") {
		t.Errorf("Close error = %v, want one request reported in flight", err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Errorf("in-flight Submit error = %v, want ErrClosed", err)
	}
}

func TestClientUnbindClosesServerSession(t *testing.T) {
	checkLeaks(t)
	var states []SessionState
	var mu sync.Mutex
	srv := &Server{Hooks: Hooks{BindStateChanged: func(_ string, s SessionState, _ error) {
		mu.Lock()
		states = append(states, s)
		mu.Unlock()
	}}}
	addr := startServer(t, srv)
	c, err := Dial(testCtx(t), testClientConfig(addr))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Unbind(testCtx(t)); err != nil {
		t.Fatalf("Unbind: %v", err)
	}
	waitFor(t, "server session to close", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) > 0 && states[len(states)-1] == SessionClosed
	})
	mu.Lock()
	defer mu.Unlock()
	want := fmt.Sprint([]SessionState{SessionBoundTRX, SessionUnbinding, SessionClosed})
	if fmt.Sprint(states) != want {
		t.Errorf("server session states %v, want %s", states, want)
	}
	if c.Bound() {
		t.Error("client still bound after Unbind")
	}
}

func TestClientRejectsHTTPPeer(t *testing.T) {
	checkLeaks(t)
	nacks := make(chan PDU, 8)
	addr := rawSMSC(t, func(p *rawPeer) {
		if _, ok := p.readQuiet(); !ok {
			return
		}
		p.sendBytes([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		if pdu, ok := p.readQuiet(); ok {
			nacks <- pdu
		}
	})
	cfg := testClientConfig(addr)
	var protocolErrors atomic.Int32
	cfg.Hooks.ProtocolError = func(string, error) { protocolErrors.Add(1) }

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Dial(ctx, cfg)
	if !errors.Is(err, ErrInvalidCommandLength) {
		t.Fatalf("Dial error = %v, want ErrInvalidCommandLength from the framing check", err)
	}
	if protocolErrors.Load() == 0 {
		t.Error("protocol error hook not called")
	}
	nack := <-nacks
	if nack.CommandID() != GenericNACKID || nack.PDUHeader().CommandStatus != StatusInvalidCommandLength {
		t.Errorf("client sent %v %v, want generic_nack ESME_RINVCMDLEN",
			nack.CommandID(), nack.PDUHeader().CommandStatus)
	}
}
