package security

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// header reads one PDU header from conn: command_length, command_id,
// command_status and sequence_number (SMPP 3.4 section 3.2).
func header(t *testing.T, conn net.Conn) (length, id, status, seq uint32) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var h [16]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		t.Fatalf("read a PDU header: %v", err)
	}
	return binary.BigEndian.Uint32(h[0:]), binary.BigEndian.Uint32(h[4:]),
		binary.BigEndian.Uint32(h[8:]), binary.BigEndian.Uint32(h[12:])
}

// expectClosed fails the test unless the server closes conn.
func expectClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(make([]byte, 64))
	if err == nil {
		t.Fatalf("read %d more bytes, want the connection closed", n)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the connection is still open after 5s, want it closed")
	}
}

// TestOversizedPDURejected sends headers whose command_length is over the
// server's 64 KiB limit, or under the 16-octet header. SMPP 3.4 section
// 5.1.3 has ESME_RINVCMDLEN for both, in a generic_nack, and the server
// then closes the connection because the stream cannot be framed again.
func TestOversizedPDURejected(t *testing.T) {
	r := newRig(t, rigOptions{})
	other := r.mustBind(globexSystemID, globexPassword)
	r.optIn("globex", subscriber)
	for _, length := range []uint32{64<<10 + 1, 1 << 30, 0xFFFFFFFF, 8} {
		t.Run(fmt.Sprint(length), func(t *testing.T) {
			conn, err := net.Dial("tcp", r.d.SMPPAddr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var h [16]byte
			binary.BigEndian.PutUint32(h[0:], length)
			binary.BigEndian.PutUint32(h[4:], uint32(smpp.BindTransceiverID))
			binary.BigEndian.PutUint32(h[12:], 7)
			if _, err := conn.Write(h[:]); err != nil {
				t.Fatal(err)
			}
			_, id, status, _ := header(t, conn)
			if smpp.CommandID(id) != smpp.GenericNACKID || smpp.CommandStatus(status) != smpp.StatusInvalidCommandLength {
				t.Errorf("response %v status %v, want generic_nack ESME_RINVCMDLEN", smpp.CommandID(id), smpp.CommandStatus(status))
			}
			expectClosed(t, conn)
		})
	}
	if st := submit(r.ctx, t, other, globexTollFree, subscriber, "after the oversized PDUs"); st != smpp.StatusOK {
		t.Errorf("globex's submit after the attack: status %v, want ESME_ROK", st)
	}
}

func TestHTTPBodyTooLarge(t *testing.T) {
	r := newRig(t, rigOptions{})
	text := strings.Repeat("x", 70<<10)
	body := `{"from":"` + acmeTollFree + `","to":"` + subscriber + `","text":"` + text + `"}`
	for _, path := range []string{"/v1/messages", "/v1/optin-requests"} {
		if code, resp := r.do(http.MethodPost, path, acmeToken, "application/json", []byte(body)); code != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s with a 70 KiB body: status %d, want 413; body %.200s", path, code, resp)
		}
	}
}

// TestBindFloodSlowedOthersUnaffected floods the business server with
// wrong-password binds from one address while globex, bound before the
// flood, keeps sending. The later binds of the flood wait, acme's binds
// stop at max_binds, and every globex submit meanwhile is accepted.
func TestBindFloodSlowedOthersUnaffected(t *testing.T) {
	const flood = 12
	r := newRig(t, rigOptions{})
	r.optIn("globex", subscriber)
	globex := r.mustBind(globexSystemID, globexPassword)

	var sent, failed atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent.Add(1)
			st, err := trySubmit(r.ctx, globex, globexTollFree, subscriber, fmt.Sprintf("during the flood %d", i))
			if err != nil || st != smpp.StatusOK {
				failed.Add(1)
				t.Errorf("globex submit %d during the flood: status %v, error %v; want ESME_ROK", i, st, err)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	})

	var slowest time.Duration
	for i := range flood {
		begin := time.Now()
		_, err := r.bind(acmeSystemID, fmt.Sprintf("guess%03d", i), nil)
		took := time.Since(begin)
		if got := bindStatus(t, err); got != smpp.StatusInvalidPassword {
			t.Errorf("guess %d: bind status %v, want ESME_RINVPASWD", i, got)
		}
		slowest = max(slowest, took)
	}
	// The waits double from failedDelay up to maxFailedDelay, so the last
	// guesses each waited at least maxFailedDelay.
	begin := time.Now()
	_, err := r.bind(acmeSystemID, "lastgues", nil)
	if took := time.Since(begin); took < maxFailedDelay {
		t.Errorf("a bind after %d failures took %v, want at least %v", flood, took, maxFailedDelay)
	}
	if got := bindStatus(t, err); got != smpp.StatusInvalidPassword {
		t.Errorf("last guess: bind status %v, want ESME_RINVPASWD", got)
	}

	// acme's max_binds is 2: a third bind with the right password fails.
	r.mustBind(acmeSystemID, acmePassword)
	r.mustBind(acmeSystemID, acmePassword)
	_, err = r.bind(acmeSystemID, acmePassword, nil)
	if got := bindStatus(t, err); got != smpp.StatusBindFailed {
		t.Errorf("third acme bind: status %v, want ESME_RBINDFAIL", got)
	}

	close(stop)
	wg.Wait()
	if sent.Load() < 5 {
		t.Errorf("globex sent only %d texts during the flood; the test did not overlap them", sent.Load())
	}
	t.Logf("flood of %d bad binds, slowest %v; globex sent %d texts meanwhile, %d failed", flood, slowest, sent.Load(), failed.Load())
}

// TestIdleConnectionsLimited opens connections that never bind up to the
// server's limit of unbound connections. The next one is closed at once,
// a bound account keeps sending, and a bind succeeds again once an idle
// connection goes away.
func TestIdleConnectionsLimited(t *testing.T) {
	const limit = 4
	r := newRig(t, rigOptions{maxUnbound: limit})
	r.optIn("globex", subscriber)
	globex := r.mustBind(globexSystemID, globexPassword)

	var idle []net.Conn
	for range limit {
		conn, err := net.Dial("tcp", r.d.SMPPAddr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close() })
		idle = append(idle, conn)
	}
	// The server counts a connection once it has accepted it, so wait
	// until the next one is refused.
	waitFor(t, "a connection over the limit to be closed", func() bool {
		conn, err := net.Dial("tcp", r.d.SMPPAddr().String())
		if err != nil {
			return true
		}
		defer conn.Close()
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	})
	if st := submit(r.ctx, t, globex, globexTollFree, subscriber, "while idle connections wait"); st != smpp.StatusOK {
		t.Errorf("globex submit while the unbound connections are full: status %v, want ESME_ROK", st)
	}

	_ = idle[0].Close()
	waitFor(t, "a bind after an idle connection closed", func() bool {
		_, err := r.bind(acmeSystemID, acmePassword, nil)
		return err == nil
	})
}

// TestAPIAuthFailuresSlowed sends wrong tokens from one address; each
// failure doubles the wait of the next request from it, from
// listeners.http.failed_auth_delay up to max_failed_auth_delay.
func TestAPIAuthFailuresSlowed(t *testing.T) {
	r := newRig(t, rigOptions{})
	for range 4 {
		if code, _ := r.do(http.MethodGet, "/v1/consent/"+subscriber, "guessed-token", "", nil); code != http.StatusUnauthorized {
			t.Fatalf("wrong token: status %d, want 401", code)
		}
	}
	begin := time.Now()
	code, _ := r.do(http.MethodGet, "/v1/consent/"+subscriber, "guessed-token", "", nil)
	if took := time.Since(begin); took < maxFailedAuthDelay {
		t.Errorf("the request after 4 failures took %v, want at least %v", took, maxFailedAuthDelay)
	}
	if code != http.StatusUnauthorized {
		t.Errorf("wrong token: status %d, want 401", code)
	}
}
