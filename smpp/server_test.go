package smpp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/optgate/optgate/internal/testcert"
)

func TestServerOverlongSystemIDClosesConnection(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{})
	p := dialRaw(t, addr)
	// bind_transceiver with a 16-character system_id and a 9-character
	// password, each one over its limit.
	p.sendBytes(hexWords(t, `00000030 00000009 00000000 00000002 61636d65 72657461 696c3031
		32333435 00706135 35773072 64390000 34000000`))
	p.expect(BindTransceiverRespID, StatusInvalidSystemID, 2)
	p.expectClosed()
}

func TestServerMaxLengthBindRaw(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Authenticator: AuthenticatorFunc(func(_ context.Context, req BindRequest) CommandStatus {
		if req.SystemID == "acmeretail01234" && req.Password == "pa55w0rd" {
			return StatusOK
		}
		return StatusInvalidPassword
	})}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.sendBytes(hexWords(t, `0000002e 00000009 00000000 00000001 61636d65 72657461 696c3031
		32333400 70613535 77307264 00003400 0000`))
	p.expect(BindTransceiverRespID, StatusOK, 1)
}

func TestServerHTTPBytesGetGenericNack(t *testing.T) {
	checkLeaks(t)
	var protocolErrors atomic.Int32
	addr := startServer(t, &Server{Hooks: Hooks{ProtocolError: func(string, error) { protocolErrors.Add(1) }}})
	p := dialRaw(t, addr)
	p.sendBytes([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	p.expect(GenericNACKID, StatusInvalidCommandLength, 0)
	p.expectClosed()
	if n := protocolErrors.Load(); n != 1 {
		t.Errorf("protocol error hook called %d times, want 1", n)
	}
}

func TestServerShortCommandLengthCloses(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{})
	p := dialRaw(t, addr)
	p.sendBytes(hexWords(t, "0000000c 00000015 00000000 00000001"))
	p.expect(GenericNACKID, StatusInvalidCommandLength, 0)
	p.expectClosed()
}

func TestServerSubmitWithTrailingNUL(t *testing.T) {
	checkLeaks(t)
	got := make(chan []byte, 1)
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		got <- req.(*SubmitSM).ShortMessage
		return okHandler(ctx, s, req)
	})}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	// sm_length 60, followed by the 60 octets and a NUL it does not count.
	p.sendBytes(hexWords(t, `0000006f 00000004 00000000 00000008 00050041 434d4530 31000101
		31323031 35353530 31303400 00000000 00010000 003c5265 6d696e64 65723a20 796f7572
		20746162 6c652066 6f722074 776f2069 7320626f 6f6b6564 20666f72 2037706d 20746f6e
		69676874 2e205468 782100`))
	p.expect(SubmitSMRespID, StatusOK, 8)
	text := <-got
	if want := "Reminder: your table for two is booked for 7pm tonight. Thx!"; string(text) != want {
		t.Errorf("short_message = %q, want %q", text, want)
	}
	p.send(&EnquireLink{Header: Header{SequenceNumber: 9}})
	p.expect(EnquireLinkRespID, StatusOK, 9)
}

func TestServerBindStateErrors(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler})

	t.Run("before bind", func(t *testing.T) {
		p := dialRaw(t, addr)
		sm := testSubmit("too early")
		sm.SequenceNumber = 5
		p.send(sm)
		p.expect(SubmitSMRespID, StatusInvalidBindStatus, 5)
		p.send(&EnquireLink{Header: Header{SequenceNumber: 6}})
		p.expect(EnquireLinkRespID, StatusInvalidBindStatus, 6)
		p.send(&Unbind{Header: Header{SequenceNumber: 7}})
		p.expect(UnbindRespID, StatusInvalidBindStatus, 7)
		// The connection stays open for the bind.
		p.bindRaw()
	})
	t.Run("second bind", func(t *testing.T) {
		p := dialRaw(t, addr)
		p.bindRaw()
		again := &BindTransmitter{SystemID: testSystemID, Password: testPassword, InterfaceVersion: 0x34}
		again.SequenceNumber = 2
		p.send(again)
		p.expect(BindTransmitterRespID, StatusAlreadyBound, 2)
		p.send(&EnquireLink{Header: Header{SequenceNumber: 3}})
		p.expect(EnquireLinkRespID, StatusOK, 3)
	})
	t.Run("receiver submits", func(t *testing.T) {
		cfg := testClientConfig(addr)
		cfg.BindType = BindTypeReceiver
		c := dialClient(t, cfg)
		_, err := c.Submit(testCtx(t), testSubmit("not allowed"))
		var se *StatusError
		if !errors.As(err, &se) || se.Status != StatusInvalidBindStatus {
			t.Fatalf("Submit error = %v, want ESME_RINVBNDSTS", err)
		}
		if !c.Bound() {
			t.Error("receiver unbound after a rejected submit")
		}
	})
	t.Run("transmitter cannot get deliver_sm", func(t *testing.T) {
		cfg := testClientConfig(addr)
		cfg.BindType = BindTypeTransmitter
		cfg.SystemID = "txonly"
		dialClient(t, cfg)
		var tx *ServerSession
		for _, ss := range lastSessions(t, addr) {
			if ss.SystemID() == "txonly" {
				tx = ss
			}
		}
		if tx == nil {
			t.Fatal("transmitter session not found")
		}
		_, err := tx.Deliver(testCtx(t), &DeliverSM{ShortMessage: []byte("x")})
		if !errors.Is(err, ErrNotBound) {
			t.Errorf("Deliver to a transmitter error = %v, want ErrNotBound", err)
		}
	})
}

// servers maps a test server's address to the server, for subtests that
// only know the address.
var servers sync.Map

func lastSessions(t *testing.T, addr string) []*ServerSession {
	t.Helper()
	v, ok := servers.Load(addr)
	if !ok {
		t.Fatalf("no server recorded for %s", addr)
	}
	return v.(*Server).Sessions()
}

func TestServerAnswersMalformedPDUs(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: okHandler})
	p := dialRaw(t, addr)
	p.bindRaw()

	// Unknown command_id 0x00000099: generic_nack ESME_RINVCMDID.
	p.sendBytes(hexWords(t, "00000010 00000099 00000000 00000011"))
	p.expect(GenericNACKID, StatusInvalidCommandID, 0x11)

	// submit_sm whose sm_length (0x10) runs past the end of the PDU.
	p.sendBytes(hexWords(t, `0000002f 00000004 00000000 00000012 00010131 32303135 35353031
		30310000 00000000 00000000 00000010 414243`))
	p.expect(SubmitSMRespID, StatusInvalidMsgLength, 0x12)

	// submit_sm with both short_message and message_payload.
	sm := testSubmit("text")
	sm.TLVs.SetMessagePayload([]byte("payload"))
	sm.SequenceNumber = 0x13
	p.send(sm)
	p.expect(SubmitSMRespID, StatusInvalidTLVLength, 0x13)

	// Still bound after all of that.
	ok := testSubmit("fine")
	ok.SequenceNumber = 0x14
	p.send(ok)
	p.expect(SubmitSMRespID, StatusOK, 0x14)
}

func TestServerHandlerPanicAnswersSystemError(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{Handler: HandlerFunc(func(context.Context, *ServerSession, PDU) PDU {
		panic("handler bug")
	})})
	c := dialClient(t, testClientConfig(addr))
	_, err := c.Submit(testCtx(t), testSubmit("boom"))
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusSystemError {
		t.Fatalf("Submit error = %v, want ESME_RSYSERR", err)
	}
	if !c.Bound() {
		t.Error("session dropped after a handler panic")
	}
}

func TestServerRejectedBindClosesConnection(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{})
	p := dialRaw(t, addr)
	bind := &BindTransceiver{SystemID: testSystemID, Password: "wrong", InterfaceVersion: 0x34}
	bind.SequenceNumber = 1
	p.send(bind)
	p.expect(BindTransceiverRespID, StatusInvalidPassword, 1)
	p.expectClosed()
}

func TestServerLimitsBindsPerSystemID(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxBindsPerSystemID: 1})
	first := dialRaw(t, addr)
	first.bindRaw()

	second := dialRaw(t, addr)
	bind := &BindTransceiver{SystemID: testSystemID, Password: testPassword, InterfaceVersion: 0x34}
	bind.SequenceNumber = 1
	second.send(bind)
	second.expect(BindTransceiverRespID, StatusBindFailed, 1)
	second.expectClosed()

	// Once the first unbinds, the slot is free again.
	first.send(&Unbind{Header: Header{SequenceNumber: 2}})
	first.expect(UnbindRespID, StatusOK, 2)
	first.expectClosed()
	third := dialRaw(t, addr)
	waitFor(t, "the bind slot to free", func() bool {
		return len(lastSessions(t, addr)) == 0
	})
	third.bindRaw()
}

func TestServerBindRespCarriesInterfaceVersion(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{SystemID: "optgate"})
	p := dialRaw(t, addr)
	bind := &BindTransceiver{SystemID: testSystemID, Password: testPassword, InterfaceVersion: 0x34}
	bind.SequenceNumber = 1
	p.send(bind)
	resp := p.expect(BindTransceiverRespID, StatusOK, 1).(*BindTransceiverResp)
	if resp.SystemID != "optgate" {
		t.Errorf("bind_resp system_id = %q, want optgate", resp.SystemID)
	}
	if v, err := resp.TLVs.SCInterfaceVersion(); err != nil || v != 0x34 {
		t.Errorf("sc_interface_version = %#x, %v; want 0x34", v, err)
	}
}

func TestServerShutdownUnbindsAndWaitsForHandlers(t *testing.T) {
	checkLeaks(t)
	started := make(chan struct{})
	srv := &Server{Handler: HandlerFunc(func(ctx context.Context, s *ServerSession, req PDU) PDU {
		close(started)
		time.Sleep(100 * time.Millisecond)
		return okHandler(ctx, s, req)
	})}
	srv.Authenticator = testAuthenticator
	l, errc := serveLoopback(t, srv)

	p := dialRaw(t, l.Addr().String())
	p.bindRaw()
	sm := testSubmit("in flight at shutdown")
	sm.SequenceNumber = 2
	p.send(sm)
	<-started

	shutdownErr := make(chan error, 1)
	go func() { shutdownErr <- srv.Shutdown(testCtx(t)) }()
	// The server unbinds first; the handler's response still arrives
	// before the connection closes.
	var sawUnbind, sawResp bool
	for !sawUnbind || !sawResp {
		pdu := p.read()
		if pdu == nil {
			t.FailNow()
		}
		switch pdu.CommandID() {
		case UnbindID:
			sawUnbind = true
			p.send(NewResponse(pdu, StatusOK))
		case SubmitSMRespID:
			sawResp = true
			if pdu.PDUHeader().CommandStatus != StatusOK {
				t.Errorf("submit_sm_resp status %v", pdu.PDUHeader().CommandStatus)
			}
		default:
			t.Fatalf("unexpected %v", pdu.CommandID())
		}
	}
	p.expectClosed()
	if err := <-shutdownErr; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown returned %v, want ErrServerClosed", err)
	}
}

func TestServerShutdownDeadlineClosesSilentPeers(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Authenticator: testAuthenticator}
	l, errc := serveLoopback(t, srv)
	p := dialRaw(t, l.Addr().String())
	p.bindRaw()

	// The peer never responds to the unbind.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown error = %v, want DeadlineExceeded", err)
	}
	p.expect(UnbindID, StatusOK, 0)
	p.expectClosed()
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

func TestServerCloseEndsEverything(t *testing.T) {
	checkLeaks(t)
	srv := &Server{Authenticator: testAuthenticator, Handler: okHandler}
	l, errc := serveLoopback(t, srv)
	p := dialRaw(t, l.Addr().String())
	p.bindRaw()
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p.expectClosed()
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

func TestServerEnquireLinkClosesDeadPeer(t *testing.T) {
	checkLeaks(t)
	closed := make(chan error, 1)
	srv := &Server{
		EnquireLinkInterval: 50 * time.Millisecond,
		EnquireLinkTimeout:  100 * time.Millisecond,
		Hooks: Hooks{BindStateChanged: func(_ string, s SessionState, err error) {
			if s == SessionClosed {
				closed <- err
			}
		}},
	}
	addr := startServer(t, srv)
	p := dialRaw(t, addr)
	p.bindRaw()
	// Read the enquire_link and leave it unanswered.
	p.expect(EnquireLinkID, StatusOK, 0)
	select {
	case err := <-closed:
		if !errors.Is(err, ErrLinkDead) {
			t.Errorf("close reason %v, want ErrLinkDead", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server kept a peer that does not answer enquire_link")
	}
}

// flakyListener fails its first Accept calls with a temporary error.
type flakyListener struct {
	net.Listener
	failures atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestServerRetriesTemporaryAcceptErrors(t *testing.T) {
	checkLeaks(t)
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &flakyListener{Listener: inner}
	l.failures.Store(3)
	srv := &Server{Authenticator: testAuthenticator}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()

	p := dialRaw(t, inner.Addr().String())
	p.bindRaw()
	if n := l.failures.Load(); n >= 0 {
		t.Errorf("%d accept failures left, want all 3 retried", n+1)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-errc; !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve returned %v, want ErrServerClosed", err)
	}
}

func TestClientServerOverTLS(t *testing.T) {
	checkLeaks(t)
	cert := testcert.New(t)
	srv := &Server{
		Handler:   okHandler,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert.TLS}, MinVersion: tls.VersionTLS12},
	}
	addr := startServer(t, srv)
	cfg := testClientConfig(addr)
	cfg.TLS = cert.ClientConfig()
	c := dialClient(t, cfg)
	resp, err := c.Submit(testCtx(t), testSubmit("over tls"))
	if err != nil || resp.MessageID == "" {
		t.Fatalf("Submit over TLS = %v, %v", resp, err)
	}
}

// serveLoopback starts srv on a loopback listener and returns the listener
// and the channel that receives the result of Serve. Unlike startServer it
// registers no cleanup, for tests that stop the server themselves.
func serveLoopback(t *testing.T, srv *Server) (net.Listener, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	return l, errc
}
