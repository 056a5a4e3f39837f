package sip

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/testcert"
)

// blockingMT is an MTService whose Submit waits until release is closed
// or its context ends.
type blockingMT struct {
	release chan struct{}
	started chan struct{}
}

func (m *blockingMT) Submit(ctx context.Context, _ gateway.MT) (gateway.Result, error) {
	m.started <- struct{}{}
	select {
	case <-m.release:
		return gateway.Result{MessageID: "0123456789abcdef", Segments: 1}, nil
	case <-ctx.Done():
		return gateway.Result{}, &gateway.Error{Code: gateway.CodeCarrierTimeout, Err: ctx.Err()}
	}
}

func (m *blockingMT) RequestOptIn(context.Context, gateway.OptInRequest) (gateway.OptInResult, error) {
	return gateway.OptInResult{}, errors.New("not used")
}

// bareAccounts are accounts for servers without a routing core.
func bareAccounts() []config.Account {
	return []config.Account{{
		ID: "acme", BusinessName: "Acme Dental",
		TollFree:  []config.TollFreeNumber{{Number: tfReady, Greeting: config.DemoGreeting, Voicemail: config.Voicemail{Enabled: true}}},
		SIPTrunks: []config.SIPTrunk{{Name: "office", AllowedCIDRs: []string{"127.0.0.0/8"}}},
	}}
}

func startBareServer(t *testing.T, mt MTService, change func(c *Config)) *Server {
	t.Helper()
	cfg := Config{Listener: config.SIPListener{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0"}, Accounts: bareAccounts()}
	if change != nil {
		change(&cfg)
	}
	s, err := NewServer(cfg, Deps{MT: mt})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

func TestServerBusyAnswers503(t *testing.T) {
	mt := &blockingMT{release: make(chan struct{}), started: make(chan struct{}, 4)}
	s := startBareServer(t, mt, func(c *Config) { c.MaxRequests = 1 })
	first := make(chan int, 1)
	go func() {
		conn := dialTCP(t, s.Addr("tcp").String())
		conn.send(message(tfReady, customer, "text/plain", "one"))
		first <- conn.final().StatusCode
	}()
	<-mt.started
	res := exchangeUDP(t, s.Addr("udp").String(), message(tfReady, customer, "text/plain", "two"))
	if res.StatusCode != 503 || header(res, "Retry-After") != "1" {
		t.Errorf("second request: %d, Retry-After %q; want 503 and 1", res.StatusCode, header(res, "Retry-After"))
	}
	close(mt.release)
	if got := <-first; got != 202 {
		t.Errorf("first request: %d, want 202", got)
	}
}

func TestServerRequestTimeout(t *testing.T) {
	mt := &blockingMT{release: make(chan struct{}), started: make(chan struct{}, 4)}
	s := startBareServer(t, mt, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
	res := exchangeUDP(t, s.Addr("udp").String(), message(tfReady, customer, "text/plain", "slow"))
	if res.StatusCode != 504 || !strings.Contains(header(res, "Warning"), "carrier_timeout") {
		t.Errorf("status = %d (%s), want 504 carrier_timeout", res.StatusCode, header(res, "Warning"))
	}
}

func TestServerStopEndsRequests(t *testing.T) {
	mt := &blockingMT{release: make(chan struct{}), started: make(chan struct{}, 4)}
	cfg := Config{Listener: config.SIPListener{UDPAddr: "127.0.0.1:0"}, Accounts: bareAccounts()}
	s, err := NewServer(cfg, Deps{MT: mt})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr("udp").String()

	var wg sync.WaitGroup
	wg.Add(1)
	var status int
	go func() {
		defer wg.Done()
		status = exchangeUDP(t, addr, message(tfReady, customer, "text/plain", "in flight")).StatusCode
	}()
	<-mt.started

	// The request in flight finishes within Stop's deadline.
	time.AfterFunc(100*time.Millisecond, func() { close(mt.release) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	wg.Wait()

	if status != 202 {
		t.Errorf("request in flight during Stop: %d, want 202", status)
	}
	if err := s.Start(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Start after Stop = %v, want ErrServerClosed", err)
	}
}

func TestServerOtherMethods(t *testing.T) {
	s := startBareServer(t, &blockingMT{}, nil)
	addr := s.Addr("udp").String()
	register := message(tfReady, customer, "", "")
	register.method = "REGISTER"
	register = register.with("CSeq", "CSeq: 1 REGISTER").with("Content-Type", "")
	res := exchangeUDP(t, addr, register)
	if res.StatusCode != 405 || !strings.Contains(header(res, "Allow"), "MESSAGE") {
		t.Errorf("REGISTER: %d, Allow %q; want 405 listing MESSAGE", res.StatusCode, header(res, "Allow"))
	}
	info := message(tfReady, customer, contentOptIn, "")
	info.method = "INFO"
	info = info.with("CSeq", "CSeq: 1 INFO").with("To", "To: <sip:"+customer+"@127.0.0.1>;tag=nosuchdialog")
	if res := exchangeUDP(t, addr, info); res.StatusCode != 481 {
		t.Errorf("INFO outside a call: %d, want 481", res.StatusCode)
	}
}

func TestNewServerChecksConfig(t *testing.T) {
	if _, err := NewServer(Config{Listener: config.SIPListener{UDPAddr: "127.0.0.1:0"}}, Deps{}); err == nil {
		t.Error("NewServer without an MT service succeeded")
	}
	if _, err := NewServer(Config{}, Deps{MT: &blockingMT{}}); err == nil {
		t.Error("NewServer without a listen address succeeded")
	}
	accounts := bareAccounts()
	accounts[0].SIPTrunks = []config.SIPTrunk{{Name: "pbx", Username: "u", Realm: "optgate", PasswordHA1: "abc"}}
	_, err := NewServer(Config{Listener: config.SIPListener{UDPAddr: "127.0.0.1:0"}, Accounts: accounts},
		Deps{MT: &blockingMT{}})
	if err == nil || !strings.Contains(err.Error(), "password_ha1") {
		t.Errorf("NewServer with a 3-digit H(A1) = %v, want an error naming password_ha1", err)
	}
}

func configListenerUDP() config.SIPListener {
	return config.SIPListener{UDPAddr: "127.0.0.1:0"}
}

func TestServerTLSListener(t *testing.T) {
	cert := testcert.New(t)
	s := startBareServer(t, instantMT{}, func(c *Config) {
		c.Listener = config.SIPListener{TLSAddr: "127.0.0.1:0",
			TLS: config.TLS{CertFile: cert.CertFile, KeyFile: cert.KeyFile}}
	})
	if s.Addr("udp") != nil || s.Addr("tcp") != nil {
		t.Errorf("udp %v, tcp %v: want only TLS", s.Addr("udp"), s.Addr("tcp"))
	}
	addr := s.Addr("tls").String()
	conn, err := tls.Dial("tcp", addr, cert.ClientConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &tcpConn{t: t, conn: conn, r: bufio.NewReader(conn), addr: addr}
	m := message(tfReady, customer, "text/plain", "over TLS")
	if _, err := conn.Write(m.bytes("tls", conn.LocalAddr(), addr)); err != nil {
		t.Fatal(err)
	}
	if res := c.final(); res.StatusCode != 202 {
		t.Errorf("status = %d %s, want 202", res.StatusCode, res.Reason)
	}
}

func TestServerReportsFailedListener(t *testing.T) {
	s := startBareServer(t, instantMT{}, func(c *Config) { c.Listener = configListenerUDP() })
	// Closing the socket behind the server's back stops its serve loop.
	s.mu.Lock()
	_ = s.closers[0].Close()
	s.mu.Unlock()
	select {
	case err := <-s.Failed():
		if !strings.Contains(err.Error(), "udp listener") {
			t.Errorf("error = %v, want it to name the udp listener", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("no error for the stopped listener")
	}
}
