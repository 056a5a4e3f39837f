package smpp

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// checkLeaks fails the test if goroutines are left once every cleanup
// registered after it has run.
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// hexWords decodes hex written in space-separated groups.
func hexWords(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// testCredentials are accepted by testAuthenticator.
const (
	testSystemID = "acme"
	testPassword = "secret"
)

var testAuthenticator = AuthenticatorFunc(func(_ context.Context, req BindRequest) CommandStatus {
	if req.Password != testPassword {
		return StatusInvalidPassword
	}
	return StatusOK
})

// startServer serves srv on a free loopback port and shuts it down when the
// test ends, checking that Serve returned ErrServerClosed.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if srv.Authenticator == nil {
		srv.Authenticator = testAuthenticator
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	addr := l.Addr().String()
	servers.Store(addr, srv)
	t.Cleanup(func() {
		servers.Delete(addr)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return addr
}

// testClientConfig returns a config with short delays for tests.
func testClientConfig(addr string) ClientConfig {
	return ClientConfig{
		Addr:                addr,
		SystemID:            testSystemID,
		Password:            testPassword,
		ResponseTimeout:     2 * time.Second,
		EnquireLinkInterval: -1,
		ReconnectDelay:      20 * time.Millisecond,
		MaxReconnectDelay:   100 * time.Millisecond,
		ThrottlePause:       50 * time.Millisecond,
	}
}

// dialClient binds a client and closes it when the test ends.
func dialClient(t *testing.T, cfg ClientConfig) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawPeer is one end of an SMPP connection driven byte by byte by a test,
// to send what our own client or server never would.
type rawPeer struct {
	t    testing.TB
	conn net.Conn
	fr   *FrameReader
}

func newRawPeer(t testing.TB, conn net.Conn) *rawPeer {
	return &rawPeer{t: t, conn: conn, fr: NewFrameReader(conn, 0)}
}

func dialRaw(t *testing.T, addr string) *rawPeer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return newRawPeer(t, conn)
}

func (p *rawPeer) send(pdu PDU) {
	p.t.Helper()
	if err := WritePDU(p.conn, pdu); err != nil {
		p.t.Errorf("raw peer write %v: %v", pdu.CommandID(), err)
	}
}

func (p *rawPeer) sendBytes(b []byte) {
	p.t.Helper()
	if _, err := p.conn.Write(b); err != nil {
		p.t.Errorf("raw peer write: %v", err)
	}
}

// read returns the next PDU, or nil after reporting an error.
func (p *rawPeer) read() PDU {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	pdu, err := p.fr.ReadPDU()
	if err != nil {
		p.t.Errorf("raw peer read: %v", err)
		return nil
	}
	return pdu
}

// expect reads the next PDU and checks its command id, status and, when
// seq is not 0, its sequence number.
func (p *rawPeer) expect(id CommandID, status CommandStatus, seq uint32) PDU {
	p.t.Helper()
	pdu := p.read()
	if pdu == nil {
		p.t.FailNow()
	}
	h := pdu.PDUHeader()
	if pdu.CommandID() != id || h.CommandStatus != status || (seq != 0 && h.SequenceNumber != seq) {
		p.t.Fatalf("got %v seq %d status %v, want %v seq %d status %v",
			pdu.CommandID(), h.SequenceNumber, h.CommandStatus, id, seq, status)
	}
	return pdu
}

// expectClosed checks that the other side closes the connection.
func (p *rawPeer) expectClosed() {
	p.t.Helper()
	_ = p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	pdu, err := p.fr.ReadPDU()
	if err == nil {
		p.t.Fatalf("got %v, want the connection closed", pdu.CommandID())
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !isConnReset(err) {
		p.t.Fatalf("read error %v, want end of stream", err)
	}
}

func isConnReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "connection reset")
}

// bindRaw binds the raw peer as transceiver with the test credentials.
func (p *rawPeer) bindRaw() {
	p.t.Helper()
	bind := &BindTransceiver{SystemID: testSystemID, Password: testPassword, InterfaceVersion: InterfaceVersion34}
	bind.SequenceNumber = 1
	p.send(bind)
	p.expect(BindTransceiverRespID, StatusOK, 1)
}

// rawSMSC listens on a loopback port and runs serve for each connection on
// its own goroutine. Everything stops when the test ends.
func rawSMSC(t *testing.T, serve func(p *rawPeer)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				serve(newRawPeer(t, conn))
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// readQuiet is read for raw SMSC goroutines, which end quietly when the
// client hangs up.
func (p *rawPeer) readQuiet() (PDU, bool) {
	_ = p.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	pdu, err := p.fr.ReadPDU()
	return pdu, err == nil
}

func TestSequencerWrapsToOne(t *testing.T) {
	var s Sequencer
	if got := s.Next(); got != 1 {
		t.Fatalf("first Next = %d, want 1", got)
	}
	s.SetNext(0x7FFFFFFE)
	want := []uint32{0x7FFFFFFE, 0x7FFFFFFF, 1, 2}
	for i, w := range want {
		if got := s.Next(); got != w {
			t.Errorf("Next #%d = %#x, want %#x", i, got, w)
		}
	}
	s.SetNext(0)
	if got := s.Next(); got != 1 {
		t.Errorf("Next after SetNext(0) = %d, want 1", got)
	}
	s.SetNext(0x80000000)
	if got := s.Next(); got != 1 {
		t.Errorf("Next after SetNext(0x80000000) = %d, want 1", got)
	}
}

func TestSessionStateNames(t *testing.T) {
	tests := map[SessionState]string{
		SessionOpen: "OPEN", SessionBoundTX: "BOUND_TX", SessionBoundRX: "BOUND_RX",
		SessionBoundTRX: "BOUND_TRX", SessionClosed: "CLOSED",
	}
	for state, want := range tests {
		if got := state.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", state, got, want)
		}
	}
}

func TestThrottledMatchesBothStatuses(t *testing.T) {
	for _, status := range []CommandStatus{StatusThrottled, StatusMsgQueueFull} {
		err := &StatusError{CommandID: SubmitSMRespID, Status: status}
		if !Throttled(err) {
			t.Errorf("Throttled(%v) = false, want true", status)
		}
	}
	if Throttled(&StatusError{Status: StatusSubmitFailed}) {
		t.Error("Throttled(ESME_RSUBMITFAIL) = true, want false")
	}
	if Throttled(errors.New("other")) {
		t.Error("Throttled(plain error) = true, want false")
	}
}
