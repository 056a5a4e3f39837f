package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// fakeRedis replies to RESP2 commands on in-memory connections: to PING
// with PONG and to every other command with reply, a raw RESP value such
// as "-READONLY ...\r\n". With reply empty it reads commands and never
// replies, as a stalled server does. With reset set every read of the
// client fails with ECONNRESET.
type fakeRedis struct {
	reply string
	reset bool

	mu    sync.Mutex
	conns []net.Conn
}

func (f *fakeRedis) dial(context.Context, string, string) (net.Conn, error) {
	client, server := net.Pipe()
	f.mu.Lock()
	f.conns = append(f.conns, client, server)
	f.mu.Unlock()
	go f.serve(server)
	if f.reset {
		return &resetConn{Conn: client}, nil
	}
	return client, nil
}

func (f *fakeRedis) serve(conn net.Conn) {
	r := bufio.NewReader(conn)
	for {
		cmd, err := readCommand(r)
		if err != nil {
			return
		}
		switch {
		case strings.EqualFold(cmd[0], "ping"):
			_, err = io.WriteString(conn, "+PONG\r\n")
		case f.reply != "":
			_, err = io.WriteString(conn, f.reply)
		}
		if err != nil {
			return
		}
	}
}

func (f *fakeRedis) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		_ = c.Close()
	}
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil || n < 1 {
		return nil, fmt.Errorf("not a RESP array: %q", line)
	}
	out := make([]string, n)
	for i := range out {
		if _, err := r.ReadString('\n'); err != nil { // $<len>
			return nil, err
		}
		arg, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		out[i] = strings.TrimSuffix(arg, "\r\n")
	}
	return out, nil
}

// resetConn fails every read with ECONNRESET, as a connection the server
// reset does.
type resetConn struct {
	net.Conn
}

func (c *resetConn) Read([]byte) (int, error) {
	return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
}

// fakeClient returns a client that dials f, without retries so that each
// failure comes back at once.
func fakeClient(t *testing.T, f *fakeRedis, readTimeout time.Duration) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{
		Addr: "fake:6379", Dialer: f.dial, Protocol: 2, DisableIdentity: true,
		MaxRetries: -1, ReadTimeout: readTimeout, ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() {
		_ = rdb.Close()
		f.close()
	})
	return rdb
}

// closedPortAddr returns a loopback address nothing listens on.
func closedPortAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// storeErrorCase is one class of Redis failure and how to produce it on
// a fresh client.
type storeErrorCase struct {
	name string
	// open returns a client that passed PING and fails the next command
	// with the class's error, or nil for a class that needs no client.
	open func(t *testing.T) *redis.Client
	// err builds the error directly, for classes without a client.
	err func(t *testing.T) error
}

func replyCase(name, reply string) storeErrorCase {
	return storeErrorCase{name: name, open: func(t *testing.T) *redis.Client {
		return fakeClient(t, &fakeRedis{reply: reply}, time.Second)
	}}
}

// transientStoreCases are the Redis-side failures that must yield a
// temporary status.
func transientStoreCases() []storeErrorCase {
	return []storeErrorCase{
		replyCase("readonly", "-READONLY You can't write against a read only replica.\r\n"),
		replyCase("loading", "-LOADING Redis is loading the dataset in memory\r\n"),
		replyCase("masterdown", "-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n"),
		replyCase("tryagain", "-TRYAGAIN Multiple keys request during rehashing of slot\r\n"),
		replyCase("clusterdown", "-CLUSTERDOWN The cluster is down\r\n"),
		replyCase("moved", "-MOVED 3999 127.0.0.1:6381\r\n"),
		replyCase("ask", "-ASK 3999 127.0.0.1:6381\r\n"),
		replyCase("noreplicas", "-NOREPLICAS Not enough good replicas to write.\r\n"),
		{name: "connection refused", open: func(t *testing.T) *redis.Client {
			rdb := redis.NewClient(&redis.Options{Addr: closedPortAddr(t), MaxRetries: -1,
				DialTimeout: time.Second})
			t.Cleanup(func() { _ = rdb.Close() })
			return rdb
		}},
		{name: "connection reset", open: func(t *testing.T) *redis.Client {
			return fakeClient(t, &fakeRedis{reply: "+OK\r\n", reset: true}, time.Second)
		}},
		{name: "read timeout", open: func(t *testing.T) *redis.Client {
			return fakeClient(t, &fakeRedis{}, 50*time.Millisecond)
		}},
		{name: "store deadline", err: func(t *testing.T) error {
			rdb := fakeClient(t, &fakeRedis{}, 10*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			return rdb.Get(ctx, "k").Err()
		}},
		{name: "pool timeout", err: func(t *testing.T) error {
			rdb := redis.NewClient(&redis.Options{
				Addr: "fake:6379", Dialer: (&fakeRedis{}).dial, Protocol: 2, DisableIdentity: true,
				MaxRetries: -1, PoolSize: 1, PoolTimeout: 50 * time.Millisecond, ReadTimeout: 5 * time.Second,
			})
			t.Cleanup(func() { _ = rdb.Close() })
			// The only connection waits for a reply that never comes.
			go func() { _ = rdb.Get(context.Background(), "held").Err() }()
			time.Sleep(50 * time.Millisecond)
			return rdb.Get(context.Background(), "k").Err()
		}},
		{name: "wait not met", err: func(*testing.T) error {
			return fmt.Errorf("enqueue 1 items: %w: 0 of 1 replicas within 1s", ErrNotReplicated)
		}},
		{name: "consent wait not met", err: func(*testing.T) error {
			return fmt.Errorf("apply: %w", consent.ErrNotReplicated)
		}},
		{name: "store closed", err: func(*testing.T) error { return ErrStoreClosed }},
	}
}

// produce returns the error of one command on the case's client.
func (c storeErrorCase) produce(t *testing.T) error {
	t.Helper()
	if c.err != nil {
		return c.err(t)
	}
	rdb := c.open(t)
	return rdb.Set(context.Background(), "k", "v", 0).Err()
}

func TestStoreTemporaryClasses(t *testing.T) {
	for _, tc := range transientStoreCases() {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.produce(t)
			if err == nil {
				t.Fatal("the fault produced no error")
			}
			if !StoreTemporary(err) {
				t.Errorf("StoreTemporary(%v) = false, want true", err)
			}
			st := StatusOf(fmt.Errorf("send: %w", err))
			if st.Code != CodeStoreUnavailable || st.SMPP != 0x0481 || st.HTTP != http.StatusServiceUnavailable {
				t.Errorf("StatusOf(%v) = %s, SMPP %#04x, HTTP %d; want store_unavailable, 0x0481, 503",
					err, st.Code, uint32(st.SMPP), st.HTTP)
			}
			if e := apiErrorFromGateway(err); e.status != http.StatusServiceUnavailable || !e.Temporary {
				t.Errorf("HTTP error for %v: status %d, temporary %v; want 503, true", err, e.status, e.Temporary)
			}
		})
	}
}

func TestStoreTemporaryRejectsOtherErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply string
		err   error
	}{
		{name: "wrong type", reply: "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"},
		{name: "script error", reply: "-ERR user_script:1: Script attempted to access nonexistent global variable\r\n"},
		{name: "canceled", err: fmt.Errorf("put message: %w", context.Canceled)},
		{name: "bad record", err: errors.New("message abc: invalid character 'x'")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err
			if tc.reply != "" {
				err = fakeClient(t, &fakeRedis{reply: tc.reply}, time.Second).Set(context.Background(), "k", "v", 0).Err()
			}
			if StoreTemporary(err) {
				t.Errorf("StoreTemporary(%v) = true, want false", err)
			}
			if st := StatusOf(err); st.Code != CodeInternal {
				t.Errorf("StatusOf(%v) = %s, want internal_error", err, st.Code)
			}
		})
	}
}

// classConsentStore fails every consent read with err.
type classConsentStore struct {
	consent.Store
	err error
}

func (s *classConsentStore) Get(context.Context, string, string) (consent.Record, error) {
	return consent.Record{}, s.err
}

// TestMTStoreFailureStatuses checks the submit_sm_resp command_status and
// the HTTP status of an MT whose consent read fails with each class.
func TestMTStoreFailureStatuses(t *testing.T) {
	for _, tc := range transientStoreCases() {
		t.Run(tc.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			engine, err := consent.NewEngine(&classConsentStore{Store: f.consent, err: tc.produce(t)}, f.registry,
				consent.Options{Now: f.clock})
			if err != nil {
				t.Fatal(err)
			}
			mt, err := NewMTService(MTConfig{Registry: f.registry, Router: f.router, Links: StaticLinks{"sim": f.link},
				Engine: engine, Store: f.store, Receipts: f.receipts, Now: f.clock})
			if err != nil {
				t.Fatal(err)
			}
			_, err = mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hello",
				Source: consent.SourceHTTP})
			st := StatusOf(err)
			if st.SMPP != 0x0481 {
				t.Errorf("submit_sm_resp command_status = %#04x, want 0x0481 (store_unavailable)", uint32(st.SMPP))
			}
			if e := apiErrorFromGateway(err); e.status != http.StatusServiceUnavailable {
				t.Errorf("HTTP status = %d, want 503", e.status)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("the carrier got %d submit_sm, want none", n)
			}
		})
	}
}

// TestMOStoreFailureStatuses checks the deliver_sm_resp command_status of
// an MO, an MO segment and a receipt whose gateway store write fails with
// each class that a Redis reply or connection produces.
func TestMOStoreFailureStatuses(t *testing.T) {
	pdus := []struct {
		name string
		pdu  smpp.PDU
	}{
		{"mo", moPDU(subscriber, tfReady, 0, []byte("hello"))},
		{"segment", concatPart(7, 2, 1, "first half ")},
		{"receipt", receiptPDU("id:C0001 stat:DELIVRD err:000", nil)},
	}
	for _, tc := range transientStoreCases() {
		if tc.open == nil {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			rdb := tc.open(t)
			store := &RedisStore{rdb: rdb, opts: RedisStoreOptions{Consumer: "a", Group: "g", Lease: time.Minute,
				MaxUnmatched: 10, Timeout: 2 * time.Second}, prefix: "t:{gw}:"}
			reg := prometheus.NewRegistry()
			metrics, err := NewMetrics(reg, nil)
			if err != nil {
				t.Fatal(err)
			}
			receipts, err := NewReceiptService(ReceiptConfig{Router: f.router, Store: store, Metrics: metrics,
				Now: f.clock})
			if err != nil {
				t.Fatal(err)
			}
			mo, err := NewMOService(MOConfig{Registry: f.registry, Router: f.router, Engine: f.engine, Store: store,
				Receipts: receipts, Metrics: metrics, Now: f.clock})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range pdus {
				if st := mo.HandleDeliver(f.ctx, "sim", p.pdu); st != DeliverTemporaryFailure {
					t.Errorf("%s: deliver_sm_resp command_status = %v, want ESME_RX_T_APPN", p.name, st)
				}
			}
			for direction, want := range map[string]float64{dirMO: 2, dirReceipt: 1} {
				got := gathered(t, reg, "optgate_gateway_messages_total",
					map[string]string{"direction": direction, "outcome": outcomeFailed, "reason": "store_unavailable"})
				if got != want {
					t.Errorf("%s failures counted as store_unavailable: %v, want %v", direction, got, want)
				}
			}
		})
	}
}
