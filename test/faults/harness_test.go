package faults

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/faultproxy"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers of the fault tests.
const (
	tollFree  = "+18885550100" // the account's toll-free number
	optedIn   = "+12015550101" // opted in before each test
	noConsent = "+12015550102" // never opted in: every MT to it must be blocked
	stopper   = "+12015550103" // sends STOP during a Redis fault
)

// Credentials of the test account. Its secrets are hashed at the lowest
// bcrypt cost, so the tests spend no time on bcrypt.
const (
	systemID  = "acme01"
	password  = "secret1"
	keyPrefix = "faults:"
)

// waitTimeout bounds every wait of the tests for a state to be reached.
const waitTimeout = 20 * time.Second

// businessResponseTimeout is how long the business's SMPP client waits for
// a response.
const businessResponseTimeout = 10 * time.Second

// inProcessYAML is the configuration of the in-process daemon. The
// placeholders are the simulator's port, the data directory, the password
// hash, the carrier address (a proxy), the carrier window, the
// enquire_link interval and the Redis address (another proxy).
const inProcessYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: false}
  simulator: {enabled: true, addr: "127.0.0.1:%d", receipt_delay: 0s}
store:
  type: redis
  embedded: {path: "%s/consent.db"}
  redis:
    addr: %q
    key_prefix: "faults:"
    dial_timeout: 300ms
    read_timeout: 300ms
    write_timeout: 300ms
logging: {mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: %q, max_binds: 4}
carriers:
  - name: sim
    address: %q
    system_id: optgate
    password: simpass
    window: %d
    enquire_link: %s
    routes: ["+1"]
`

// rig is an in-process optgate whose carrier link and Redis connection
// each run through a faultproxy.
type rig struct {
	t       *testing.T
	ctx     context.Context
	d       *gateway.Daemon
	sim     *smscsim.Simulator
	carrier *faultproxy.Proxy // optgate to the simulator
	redis   *faultproxy.Proxy // optgate to redis-server
	store   consent.Store     // a direct connection to redis-server, not proxied
}

// rigOptions change a rig before it starts.
type rigOptions struct {
	// window is the carrier session's window. Default 10.
	window int
	// enquireLink is the carrier session's enquire_link interval. Default
	// 500ms.
	enquireLink time.Duration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	if o.window == 0 {
		o.window = 10
	}
	if o.enquireLink == 0 {
		o.enquireLink = 500 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r := &rig{t: t, ctx: ctx}

	server := testredis.Start(t)
	r.redis = startProxy(t, server.Addr)
	simPort, err := testredis.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	r.carrier = startProxy(t, fmt.Sprintf("127.0.0.1:%d", simPort))

	dir := t.TempDir()
	text := fmt.Sprintf(inProcessYAML, simPort, dir, r.redis.Addr(), daemontest.Hash(t, password), r.carrier.Addr(), o.window,
		o.enquireLink)
	cfg, err := config.Parse([]byte(text), "faults.yaml")
	if err != nil {
		t.Fatalf("parse the test configuration: %v", err)
	}
	r.d = daemontest.Start(t, ctx, cfg, nil, gateway.DaemonOptions{
		Carrier: gateway.CarrierPoolConfig{
			RetryBackoff: 10 * time.Millisecond, ThrottlePause: 10 * time.Millisecond,
			MaxThrottlePause: 40 * time.Millisecond, ReconnectDelay: 20 * time.Millisecond,
			MaxReconnectDelay: 200 * time.Millisecond,
		},
		ESME:     gateway.ESMEServerConfig{FailedBindDelay: 5 * time.Millisecond, MaxFailedBindDelay: 20 * time.Millisecond},
		Dispatch: gateway.DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
		// 10:00 in New Jersey, outside quiet hours.
		Now: func() time.Time { return time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC) },
	}, 15*time.Second)
	r.sim = r.d.Simulator()

	r.store, err = consent.OpenRedis(ctx, consent.RedisOptions{URL: server.URL(), KeyPrefix: keyPrefix})
	if err != nil {
		t.Fatalf("open the test's own connection to redis-server: %v", err)
	}
	t.Cleanup(func() { _ = r.store.Close() })
	r.setState(optedIn, consent.StateOptedIn)
	r.waitReady(true)
	return r
}

func startProxy(t *testing.T, target string) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// setState imports a consent state for a subscriber of acme straight into
// redis-server.
func (r *rig) setState(number string, state consent.State) {
	r.t.Helper()
	_, err := r.store.Apply(r.ctx, consent.Event{Kind: consent.EventImport, Account: "acme",
		Number: number, Import: state, Source: consent.SourceImport, Time: time.Now()})
	if err != nil {
		r.t.Fatalf("import %v for %s: %v", state, number, err)
	}
}

func (r *rig) state(number string) consent.State {
	r.t.Helper()
	rec, err := r.store.Get(r.ctx, "acme", number)
	if err != nil {
		r.t.Fatalf("read the consent record of %s: %v", number, err)
	}
	return rec.State
}

// ready reports whether GET /readyz returns 200.
func (r *rig) ready() bool {
	ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.d.HTTPAddr().String()+"/readyz", nil)
	if err != nil {
		r.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (r *rig) waitReady(want bool) {
	r.t.Helper()
	waitFor(r.t, fmt.Sprintf("/readyz to report ready=%v", want), func() bool { return r.ready() == want })
}

// atCarrier counts the texts the simulator accepted with a response, by
// text, and the ones it received at all.
func (r *rig) atCarrier() (accepted, received map[string]int) {
	accepted, received = map[string]int{}, map[string]int{}
	for _, m := range r.sim.Messages() {
		received[m.Text]++
		if m.Status == smpp.StatusOK && !m.Dropped {
			accepted[m.Text]++
		}
	}
	return accepted, received
}

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	daemontest.WaitFor(t, waitTimeout, what, cond)
}

// business is an ESME of acme bound to optgate. It records the text of
// every deliver_sm it gets that is not a delivery receipt, with optgate's
// MO id from the vendor TLV 0x1400 and the possible-resend bit of the MO
// flags TLV 0x1403.
type business struct {
	client *smpp.Client
	mu     sync.Mutex
	texts  map[string]int
	ids    map[string][]string // MO ids by text, one entry per deliver_sm
	resent map[string][]bool   // possible-resend bits by text, as ids
}

func bindBusiness(t testing.TB, ctx context.Context, addr string, bindType smpp.BindType) *business {
	t.Helper()
	b := &business{texts: map[string]int{}, ids: map[string][]string{}, resent: map[string][]bool{}}
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := smpp.Dial(dialCtx, smpp.ClientConfig{
		Addr: addr, SystemID: systemID, Password: password, BindType: bindType,
		WindowSize: 64, ReconnectDelay: 50 * time.Millisecond,
		// The response timeout of common ESME clients. optgate must
		// answer within it, also when the carrier does not.
		ResponseTimeout: businessResponseTimeout,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			d, ok := req.(*smpp.DeliverSM)
			if !ok || d.ESMClass&smpp.ESMClassMessageTypeMask == smpp.ESMClassDeliveryReceipt {
				return smpp.StatusOK
			}
			text, err := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{})
			if err != nil {
				text = fmt.Sprintf("undecodable %x", d.ShortMessage)
			}
			id, _ := d.TLVs.CString(gateway.TagMOID)
			flags, _ := d.TLVs.Uint8(gateway.TagMOFlags)
			b.mu.Lock()
			b.texts[text]++
			b.ids[text] = append(b.ids[text], id)
			b.resent[text] = append(b.resent[text], flags&gateway.MOFlagPossibleResend != 0)
			b.mu.Unlock()
			return smpp.StatusOK
		},
	})
	if err != nil {
		t.Fatalf("bind %s as %v: %v", systemID, bindType, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	b.client = c
	return b
}

func (b *business) received() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.texts))
	for k, v := range b.texts {
		out[k] = v
	}
	return out
}

// moIDs returns the MO ids each text arrived with, one per deliver_sm.
func (b *business) moIDs() map[string][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]string, len(b.ids))
	for k, v := range b.ids {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// resendBits returns the possible-resend bit of each deliver_sm of each
// text, in the order of moIDs.
func (b *business) resendBits() map[string][]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string][]bool, len(b.resent))
	for k, v := range b.resent {
		out[k] = append([]bool(nil), v...)
	}
	return out
}

// submit sends one GSM text and returns the command_status of the
// submit_sm_resp, or an error when there was none within the client's
// response timeout.
func (b *business) submit(ctx context.Context, to, text string) (smpp.CommandStatus, error) {
	sm, err := daemontest.NewSubmit(tollFree, to, text)
	if err != nil {
		return 0, err
	}
	// The client's own response timeout ends the wait; this bounds only
	// a wait for a free slot of the client's window.
	return daemontest.SubmitStatus(ctx, b.client, sm, businessResponseTimeout+5*time.Second)
}

// tally is the outcome of one fault.
type tally struct {
	fault        string
	sent         int // messages the test sent
	acknowledged int // accepted with ESME_ROK, to the business or the carrier
	delivered    int // distinct acknowledged messages that reached their peer
	lost         int // acknowledged but never delivered
	duplicated   int // delivered more than once
	wronglyAllow int // MT to a number without consent that was accepted or reached the carrier
	// redelivered counts deliveries of an MO again under the same MO id,
	// which the business drops by that id. It is reported, not failed;
	// a repeat without the possible-resend bit counts as duplicated.
	redelivered int
}

// report prints the tally as one line and fails the test when anything
// was lost, duplicated or wrongly allowed.
func (c tally) report(t testing.TB) {
	t.Helper()
	line := fmt.Sprintf("fault=%q sent=%d acknowledged=%d delivered=%d lost=%d duplicated=%d mt_wrongly_allowed=%d redelivered_same_id=%d",
		c.fault, c.sent, c.acknowledged, c.delivered, c.lost, c.duplicated, c.wronglyAllow, c.redelivered)
	fmt.Println(line)
	t.Log(line)
	if c.lost != 0 {
		t.Errorf("%s: %d acknowledged messages lost", c.fault, c.lost)
	}
	if c.duplicated != 0 {
		t.Errorf("%s: %d messages delivered more than once", c.fault, c.duplicated)
	}
	if c.wronglyAllow != 0 {
		t.Errorf("%s: %d MT to a number without consent allowed", c.fault, c.wronglyAllow)
	}
}
