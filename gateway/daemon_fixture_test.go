package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers of the daemon tests.
const (
	acmeTollFree = "+18885550100" // acme's ready toll-free number
	acmeNotReady = "+18885550101" // acme's number without voicemail
	strangerTF   = "+18005550177" // a toll-free number of no account
	sub1         = "+12015550101"
	sub2         = "+12015550102"
	sub3         = "+12015550103"
)

// daemonYAML is the configuration of the daemon tests: one account, acme,
// bound as acme01/secret1, and the built-in simulator as carrier sim.
// The placeholders are the simulator's port, the data directory, acme01's
// password hash and the simulator's port again.
const daemonYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: false}
  simulator: {enabled: true, addr: "127.0.0.1:%d", receipt_delay: 0s}
store:
  embedded: {path: "%s/consent.db"}
logging: {mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
      - {number: "+18885550101", greeting: "builtin:demo"}
    esme:
      - {system_id: acme01, password_hash: "%s", max_binds: 2}
carriers:
  - name: sim
    address: "127.0.0.1:%d"
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// daemonOptions change a daemon fixture before it starts.
type daemonOptions struct {
	// config changes the parsed configuration.
	config func(c *config.Config)
	// options changes the daemon options.
	options func(o *DaemonOptions)
	// now is the start of the fixture's clock. Default: 10:00 in New
	// Jersey, outside quiet hours.
	now time.Time
	// before runs after New and before Start.
	before func(d *Daemon)
}

// daemonFixture is a whole optgate started in-process on free loopback
// ports, with the built-in simulator as its only carrier.
type daemonFixture struct {
	t   testing.TB
	ctx context.Context
	dir string
	cfg *config.Config
	d   *Daemon
	sim *smscsim.Simulator
	clk *testClock
}

// testClock is a clock the test sets.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func newDaemonFixture(t testing.TB, opts daemonOptions) *daemonFixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	f := &daemonFixture{t: t, ctx: ctx, dir: t.TempDir(), clk: &testClock{now: opts.now}}
	if f.clk.now.IsZero() {
		f.clk.now = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	}
	port := freePort(t)
	cfg, err := config.Parse([]byte(fmt.Sprintf(daemonYAML, port, f.dir, testHash(t, "secret1"), port)), "test.yaml")
	if err != nil {
		t.Fatalf("parse test configuration: %v", err)
	}
	if opts.config != nil {
		opts.config(cfg)
	}
	f.cfg = cfg

	do := DaemonOptions{
		Carrier: CarrierPoolConfig{
			RetryBackoff: 10 * time.Millisecond, ThrottlePause: 10 * time.Millisecond,
			MaxThrottlePause: 40 * time.Millisecond, ReconnectDelay: 20 * time.Millisecond,
			MaxReconnectDelay: 100 * time.Millisecond,
		},
		ESME:     ESMEServerConfig{FailedBindDelay: 5 * time.Millisecond, MaxFailedBindDelay: 20 * time.Millisecond},
		Dispatch: DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		Now:      f.clock,
	}
	if opts.options != nil {
		opts.options(&do)
	}
	f.d, err = NewDaemon(cfg, nil, do)
	if err != nil {
		t.Fatalf("new daemon: %v", err)
	}
	if opts.before != nil {
		opts.before(f.d)
	}
	if err := f.d.Start(ctx); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.d.Stop(stopCtx); err != nil {
			t.Errorf("stop daemon: %v", err)
		}
	})
	f.sim = f.d.Simulator()
	f.waitFor("the carrier to bind", f.d.carriersReady)
	return f
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (f *daemonFixture) clock() time.Time { return f.clk.Now() }

// waitFor polls cond until it holds, failing the test after 10 seconds.
func (f *daemonFixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// setState gives a subscriber a consent state with acme through an
// operator import.
func (f *daemonFixture) setState(number string, state consent.State) {
	f.t.Helper()
	_, err := f.d.consentStore.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: "acme",
		Number: number, Import: state, Source: consent.SourceImport, Time: f.clock()})
	if err != nil {
		f.t.Fatal(err)
	}
}

// consentState returns the subscriber's consent state with acme.
func (f *daemonFixture) consentState(number string) consent.State {
	f.t.Helper()
	rec, err := f.d.consentStore.Get(f.ctx, "acme", number)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec.State
}

// inject sends an MO from the simulator and fails unless optgate responds
// with ESME_ROK.
func (f *daemonFixture) inject(from, to, text string) {
	f.t.Helper()
	status, err := f.sim.Inject(f.ctx, smscsim.MO{From: from, To: to, Text: text})
	if err != nil {
		f.t.Fatalf("inject %q: %v", text, err)
	}
	if status != smpp.StatusOK {
		f.t.Fatalf("inject %q: deliver_sm_resp %v, want ESME_ROK", text, status)
	}
}

// business is an ESME bound to the daemon's SMPP server.
type business struct {
	client *smpp.Client
	// delivered receives every deliver_sm the business gets, in the order
	// they arrived on the connection.
	delivered chan *smpp.DeliverSM

	// The client runs handlers concurrently, so a handler's turn says
	// nothing of arrival order. arrived lists the sequence numbers of the
	// deliver_sm PDUs as the connection read them, and waiting holds those
	// whose handler ran before an earlier PDU's did.
	mu      sync.Mutex
	arrived []uint32
	waiting map[uint32]*smpp.DeliverSM
}

// received notes the arrival of a deliver_sm.
func (b *business) received(h smpp.Header) {
	if h.CommandID != smpp.DeliverSMID {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.arrived = append(b.arrived, h.SequenceNumber)
	b.flush()
}

// handled passes d on to delivered once every deliver_sm that arrived
// before it was passed on.
func (b *business) handled(d *smpp.DeliverSM) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waiting[d.PDUHeader().SequenceNumber] = d
	b.flush()
}

// flush passes on the handled deliver_sm PDUs whose turn has come. The
// caller holds mu.
func (b *business) flush() {
	for len(b.arrived) > 0 {
		next, ok := b.waiting[b.arrived[0]]
		if !ok {
			return
		}
		delete(b.waiting, b.arrived[0])
		b.arrived = b.arrived[1:]
		b.delivered <- next
	}
}

// bind binds an ESME and closes it when the test ends.
func (f *daemonFixture) bind(systemID, password string, bindType smpp.BindType) *business {
	f.t.Helper()
	b, err := f.dial(systemID, password, bindType)
	if err != nil {
		f.t.Fatalf("bind %s: %v", systemID, err)
	}
	return b
}

func (f *daemonFixture) dial(systemID, password string, bindType smpp.BindType) (*business, error) {
	b := &business{delivered: make(chan *smpp.DeliverSM, 100), waiting: map[uint32]*smpp.DeliverSM{}}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), SystemID: systemID, Password: password, BindType: bindType,
		ReconnectDelay: time.Hour,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				b.handled(d)
			}
			return smpp.StatusOK
		},
		// A rejected bind ends the wait at once instead of at the timeout.
		// The client reports the rejection twice: first as the session's
		// close (an smpp.ErrClosed), then with the bind error that Dial
		// returns, which is the one to wait for.
		Hooks: smpp.Hooks{PDUReceived: func(_ string, h smpp.Header) { b.received(h) }, BindStateChanged: func(_ string, state smpp.SessionState, err error) {
			var st *smpp.StatusError
			if state == smpp.SessionClosed && errors.As(err, &st) && !errors.Is(err, smpp.ErrClosed) {
				cancel()
			}
		}},
	})
	if err != nil {
		return nil, err
	}
	b.client = c
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return b, nil
}

// next returns the next deliver_sm the business gets, failing the test
// after 10 seconds.
func (b *business) next(t testing.TB) *smpp.DeliverSM {
	t.Helper()
	select {
	case d := <-b.delivered:
		return d
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a deliver_sm at the business")
		return nil
	}
}

// submitSM builds a GSM text submit_sm between two E.164 numbers.
func submitSM(t testing.TB, from, to, text string, registered uint8) *smpp.SubmitSM {
	t.Helper()
	data, err := smpp.EncodeText(text, smpp.CodingDefault, smpp.TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &smpp.SubmitSM{
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: strings.TrimPrefix(from, "+"),
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: strings.TrimPrefix(to, "+"),
		RegisteredDelivery: registered, ShortMessage: data,
	}
}

// submit sends a submit_sm and returns optgate's message id and the
// command_status of the response.
func (b *business) submit(t testing.TB, sm *smpp.SubmitSM) (string, smpp.CommandStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := b.client.Submit(ctx, sm)
	var st *smpp.StatusError
	if errors.As(err, &st) {
		id := ""
		if resp != nil {
			id = resp.MessageID
		}
		return id, st.Status
	}
	if err != nil {
		t.Fatalf("submit_sm: %v", err)
	}
	return resp.MessageID, smpp.StatusOK
}

// gathered returns the sum of a counter or gauge on reg over the series
// whose labels include want.
func gathered(t testing.TB, reg *prometheus.Registry, name string, want map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	total := 0.0
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	series:
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue series
				}
			}
			total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return total
}

// tlvString returns a C-octet string TLV of d, or "" when it is absent.
func tlvString(d *smpp.DeliverSM, tag smpp.Tag) string {
	s, err := d.TLVs.CString(tag)
	if err != nil {
		return ""
	}
	return s
}
