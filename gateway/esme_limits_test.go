package gateway

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/smpp"
)

// rawDialFrom opens a TCP connection to the business SMPP port from the
// local IP address src, without binding.
func (f *daemonFixture) rawDialFrom(src string) net.Conn {
	f.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	conn, err := d.Dial("tcp", f.d.SMPPAddr().String())
	if err != nil {
		f.t.Skipf("cannot dial from %s: %v", src, err)
	}
	f.t.Cleanup(func() { conn.Close() })
	return conn
}

// expectClosedConn fails the test unless the server closes conn within
// five seconds without sending anything.
func expectClosedConn(t *testing.T, conn net.Conn, what string) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	n, err := conn.Read(b[:])
	var ne net.Error
	switch {
	case n > 0:
		t.Fatalf("%s: got data, want the connection closed", what)
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("%s: still open after 5s, want it closed", what)
	case err == nil || !(errors.Is(err, io.EOF) || isReset(err)):
		t.Fatalf("%s: read error %v, want end of stream", what, err)
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// rawBind sends bind_transceiver on conn and returns the response status.
func rawBind(t *testing.T, conn net.Conn, systemID, password string) smpp.CommandStatus {
	t.Helper()
	bind := &smpp.BindTransceiver{SystemID: systemID, Password: password,
		InterfaceVersion: smpp.InterfaceVersion34}
	bind.SequenceNumber = 1
	if err := smpp.WritePDU(conn, bind); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := smpp.NewFrameReader(conn, 0).ReadPDU()
	if err != nil {
		t.Fatalf("bind response: %v", err)
	}
	return resp.PDUHeader().CommandStatus
}

func TestESMEIdleConnectionsOfOneAddressLeaveRoomForOthers(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Listeners.SMPP.MaxUnbound = 4
		c.Listeners.SMPP.MaxUnboundPerSource = 2
		c.Listeners.SMPP.BindTimeout = 400 * time.Millisecond
		c.Listeners.SMPP.MaxFailedBindDelay = c.Listeners.SMPP.FailedBindDelay
	}})
	first := f.rawDialFrom("127.0.0.1")
	f.rawDialFrom("127.0.0.1")
	f.waitFor("two unbound connections", func() bool {
		_, unbound := f.d.esme.srv.Connections()
		return unbound == 2
	})
	expectClosedConn(t, f.rawDialFrom("127.0.0.1"), "third idle connection from one address")

	if got := rawBind(t, f.rawDialFrom("127.0.0.2"), "acme01", "secret1"); got != smpp.StatusOK {
		t.Fatalf("bind from another address: %v, want ESME_ROK", got)
	}
	// The idle connections close at the bind timeout, freeing the address.
	expectClosedConn(t, first, "idle connection past bind_timeout")
	f.waitFor("the idle connections to close", func() bool {
		_, unbound := f.d.esme.srv.Connections()
		return unbound == 0
	})
	if got := rawBind(t, f.rawDialFrom("127.0.0.1"), "acme01", "secret1"); got != smpp.StatusOK {
		t.Fatalf("bind from the first address after the timeout: %v, want ESME_ROK", got)
	}
}

func TestESMERebindAfterDroppedConnection(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Accounts[0].ESMEs[0].MaxBinds = 1
	}})
	for i := range 20 {
		conn := f.rawDialFrom("127.0.0.1")
		if got := rawBind(t, conn, "acme01", "secret1"); got != smpp.StatusOK {
			t.Fatalf("bind %d: %v, want ESME_ROK", i+1, got)
		}
		// The ESME drops the connection without unbind and binds again at
		// once, usually before the server has read the end of the stream.
		_ = conn.Close()
		next := f.rawDialFrom("127.0.0.1")
		if got := rawBind(t, next, "acme01", "secret1"); got != smpp.StatusOK {
			t.Fatalf("rebind %d right after a dropped connection: %v, want ESME_ROK (max_binds 1)", i+1, got)
		}
		_ = next.Close()
	}
}

func TestESMEServerTakesListenerLimits(t *testing.T) {
	l := config.SMPPListener{BindTimeout: 3 * time.Second, MaxUnbound: 40, MaxUnboundPerSource: 4, Window: 25}
	cfg := ESMEServerConfig{Backend: func() ESMEBackend { return ESMEBackend{} }}
	cfg.SetListenerDefaults(l)
	e, err := NewESMEServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.srv.BindTimeout != 3*time.Second || e.srv.MaxUnbound != 40 || e.srv.MaxUnboundPerSource != 4 ||
		e.srv.InboundWindow != 25 {
		t.Errorf("server has bind timeout %v, max unbound %d, per source %d, inbound window %d; "+
			"want 3s, 40, 4, 25", e.srv.BindTimeout, e.srv.MaxUnbound, e.srv.MaxUnboundPerSource, e.srv.InboundWindow)
	}

	// Values set in the options win over the configuration.
	cfg = ESMEServerConfig{Backend: cfg.Backend, InboundWindow: 7}
	cfg.SetListenerDefaults(l)
	if cfg.InboundWindow != 7 || cfg.MaxUnbound != 40 {
		t.Errorf("inbound window %d, max unbound %d; want 7 from the options and 40 from the listener",
			cfg.InboundWindow, cfg.MaxUnbound)
	}
}

func TestESMEServerDefaultLimits(t *testing.T) {
	e, err := NewESMEServer(ESMEServerConfig{Backend: func() ESMEBackend { return ESMEBackend{} }})
	if err != nil {
		t.Fatal(err)
	}
	if e.srv.BindTimeout != 10*time.Second || e.srv.MaxUnbound != 128 || e.srv.MaxUnboundPerSource != 16 {
		t.Errorf("server has bind timeout %v, max unbound %d, per source %d; want 10s, 128, 16",
			e.srv.BindTimeout, e.srv.MaxUnbound, e.srv.MaxUnboundPerSource)
	}
}
