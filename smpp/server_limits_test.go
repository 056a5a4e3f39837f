package smpp

import (
	"errors"
	"net"
	"testing"
)

// connections returns the open and unbound connection counts of the test
// server at addr.
func connections(t *testing.T, addr string) (open, unbound int) {
	t.Helper()
	v, ok := servers.Load(addr)
	if !ok {
		t.Fatalf("no server recorded for %s", addr)
	}
	return v.(*Server).Connections()
}

func TestServerMaxUnboundClosesExtraConnections(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxUnbound: 2})
	first := dialRaw(t, addr)
	dialRaw(t, addr)
	waitFor(t, "two unbound connections", func() bool {
		_, unbound := connections(t, addr)
		return unbound == 2
	})

	third := dialRaw(t, addr)
	third.expectClosed()

	// A bound session no longer counts against MaxUnbound.
	first.bindRaw()
	fourth := dialRaw(t, addr)
	waitFor(t, "the fourth connection to be served", func() bool {
		open, unbound := connections(t, addr)
		return open == 3 && unbound == 2
	})
	fourth.bindRaw()
}

func TestServerMaxUnboundFreedOnClose(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxUnbound: 1})
	first := dialRaw(t, addr)
	waitFor(t, "one unbound connection", func() bool {
		_, unbound := connections(t, addr)
		return unbound == 1
	})
	dialRaw(t, addr).expectClosed()

	_ = first.conn.Close()
	waitFor(t, "the closed connection to be removed", func() bool {
		open, unbound := connections(t, addr)
		return open == 0 && unbound == 0
	})
	dialRaw(t, addr).bindRaw()
}

func TestServerMaxConnectionsCountsBound(t *testing.T) {
	checkLeaks(t)
	addr := startServer(t, &Server{MaxConnections: 2})
	first := dialRaw(t, addr)
	first.bindRaw()
	dialRaw(t, addr).bindRaw()

	dialRaw(t, addr).expectClosed()

	first.send(&Unbind{Header: Header{SequenceNumber: 2}})
	first.expect(UnbindRespID, StatusOK, 2)
	first.expectClosed()
	waitFor(t, "the unbound session to be removed", func() bool {
		open, _ := connections(t, addr)
		return open == 1
	})
	dialRaw(t, addr).bindRaw()
}

func TestServerRejectsNegativeConnectionLimits(t *testing.T) {
	for _, srv := range []*Server{{MaxConnections: -1}, {MaxUnbound: -1}} {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Serve(l); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("Serve with MaxConnections %d, MaxUnbound %d returned %v, want ErrInvalidConfig",
				srv.MaxConnections, srv.MaxUnbound, err)
		}
	}
}
