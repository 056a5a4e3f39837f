package smpp

import (
	"net"
	"testing"
	"time"
)

// dialFrom connects to addr from the local IP address src, so that a test
// can play peers at two addresses over loopback.
func dialFrom(t *testing.T, src, addr string) *rawPeer {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", src, err)
	}
	t.Cleanup(func() { conn.Close() })
	return newRawPeer(t, conn)
}

func TestServerMaxUnboundPerSourceLeavesRoomForOthers(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxUnbound: 4, MaxUnboundPerSource: 2})
	dialFrom(t, "127.0.0.1", addr)
	dialFrom(t, "127.0.0.1", addr)
	waitFor(t, "two unbound connections", func() bool {
		_, unbound := connections(t, addr)
		return unbound == 2
	})

	dialFrom(t, "127.0.0.1", addr).expectClosed()

	// Another address still has room below MaxUnbound and binds.
	dialFrom(t, "127.0.0.2", addr).bindRaw()
}

func TestServerMaxUnboundPerSourceFreedOnBind(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxUnboundPerSource: 1})
	first := dialFrom(t, "127.0.0.1", addr)
	waitFor(t, "one unbound connection", func() bool {
		_, unbound := connections(t, addr)
		return unbound == 1
	})
	dialFrom(t, "127.0.0.1", addr).expectClosed()

	first.bindRaw()
	dialFrom(t, "127.0.0.1", addr).bindRaw()
}

func TestServerBindTimeoutClosesUnboundConnection(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{BindTimeout: 100 * time.Millisecond})
	idle := dialRaw(t, addr)
	// An enquire_link before the bind does not keep the connection open.
	idle.send(&EnquireLink{Header: Header{SequenceNumber: 1}})
	idle.expect(EnquireLinkRespID, StatusInvalidBindStatus, 1)
	idle.expectClosed()
	waitFor(t, "the connection to be removed", func() bool {
		open, unbound := connections(t, addr)
		return open == 0 && unbound == 0
	})
}

func TestServerBindTimeoutSparesBoundSession(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{BindTimeout: 50 * time.Millisecond})
	p := dialRaw(t, addr)
	p.bindRaw()
	time.Sleep(150 * time.Millisecond)
	p.send(&EnquireLink{Header: Header{SequenceNumber: 2}})
	p.expect(EnquireLinkRespID, StatusOK, 2)
}

func TestServerRejectsNegativeBindLimits(t *testing.T) {
	for _, srv := range []*Server{{MaxUnboundPerSource: -1}, {BindTimeout: -time.Second}} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(l); err == nil {
			t.Errorf("Serve with MaxUnboundPerSource %d, BindTimeout %v returned nil, want an error",
				srv.MaxUnboundPerSource, srv.BindTimeout)
		}
	}
}
