// Package multi tests several optgate instances that share one Redis: a
// business bound to one instance gets, exactly once, the MO texts and
// delivery receipts that the carrier delivers to another.
package multi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/internal/testredis"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

const (
	tollFree   = "+18885550100"
	subscriber = "+12015550101"
	keyPrefix  = "multi:"
)

// instanceYAML is the configuration of one instance. Both instances list
// the same account and the same carrier, but each binds only its own half
// of it. Instance a binds a transmitter, which submits the business's
// texts. Instance b binds a receiver, to which the carrier delivers MO
// texts and receipts. The placeholders are the Redis address, the consumer name,
// the password hash of acme01, the simulator's address and the bind type.
const instanceYAML = `
listeners:
  smpp: {addr: "127.0.0.1:0"}
  http: {addr: "127.0.0.1:0"}
  sip: {enabled: false}
store:
  type: redis
  redis: {addr: "%s", key_prefix: "` + keyPrefix + `", consumer: "%s", queue_poll: 20ms}
logging: {mask_numbers: true}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "` + tollFree + `", greeting: "builtin:demo", voicemail: {enabled: true}}
    esme:
      - {system_id: acme01, password_hash: "%s", max_binds: 4}
carriers:
  - name: sim
    address: "%s"
    system_id: optgate
    password: simpass
    bind_type: %s
    routes: ["+1"]
`

// cluster is one simulator, one Redis and the instances' configurations.
type cluster struct {
	t    *testing.T
	ctx  context.Context
	srv  *testredis.Server
	sim  *smscsim.Simulator
	cfgs map[string]*config.Config
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := &cluster{t: t, ctx: ctx, srv: testredis.Start(t), cfgs: map[string]*config.Config{}}
	c.sim = smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", SystemID: "optgate", Password: "simpass",
		Behaviour: smscsim.Behaviour{ReceiptDelay: 200 * time.Millisecond}})
	if err := c.sim.Start(ctx); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = c.sim.Close() })

	hash := daemontest.Hash(t, "secret1")
	for name, bindType := range map[string]string{"gw-a": "transmitter", "gw-b": "receiver"} {
		yaml := fmt.Sprintf(instanceYAML, c.srv.Addr, name, hash, c.sim.Addr(), bindType)
		cfg, err := config.Parse([]byte(yaml), name+".yaml")
		if err != nil {
			t.Fatalf("parse configuration of %s: %v", name, err)
		}
		c.cfgs[name] = cfg
	}
	return c
}

// start starts the instance with the given consumer name and waits until
// its carrier half is bound.
func (c *cluster) start(name string) *gateway.Daemon {
	c.t.Helper()
	d, err := gateway.NewDaemon(c.cfgs[name], nil, gateway.DaemonOptions{
		Carrier: gateway.CarrierPoolConfig{ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond},
		ESME:    gateway.ESMEServerConfig{FailedBindDelay: 5 * time.Millisecond, MaxFailedBindDelay: 20 * time.Millisecond},
		Dispatch: gateway.DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
			Poll: 20 * time.Millisecond},
	})
	if err != nil {
		c.t.Fatalf("new daemon %s: %v", name, err)
	}
	if err := d.Start(c.ctx); err != nil {
		c.t.Fatalf("start daemon %s: %v", name, err)
	}
	c.t.Cleanup(func() { stop(c.t, d, 10*time.Second) })
	waitFor(c.t, name+"'s carrier bind", daemontest.CarriersBound(d))
	return d
}

// stop stops a daemon within timeout. A zero timeout stops it at once,
// without draining, as close to a crash as an in-process daemon gets.
func stop(t *testing.T, d *gateway.Daemon, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := d.Stop(ctx)
	if timeout > 0 && err != nil {
		t.Errorf("stop daemon: %v", err)
	}
}

// optIn records the subscriber's opt-in with acme, as an operator import.
func (c *cluster) optIn(number string) {
	c.t.Helper()
	st, err := consent.OpenRedis(c.ctx, consent.RedisOptions{URL: c.srv.URL(), KeyPrefix: keyPrefix})
	if err != nil {
		c.t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Apply(c.ctx, consent.Event{Kind: consent.EventImport, Account: "acme", Number: number,
		Import: consent.StateOptedIn, Source: consent.SourceImport, Time: time.Now()})
	if err != nil {
		c.t.Fatal(err)
	}
}

// inbox counts what a business gets, across its binds: MO texts by
// optgate's MO id and receipts by message id.
type inbox struct {
	mu       sync.Mutex
	mo       map[string]int
	receipts map[string]int
}

func newInbox() *inbox { return &inbox{mo: map[string]int{}, receipts: map[string]int{}} }

func (in *inbox) handle(_ context.Context, req smpp.PDU) smpp.CommandStatus {
	d, ok := req.(*smpp.DeliverSM)
	if !ok {
		return smpp.StatusOK
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, err := d.TLVs.ReceiptedMessageID(); err == nil {
		in.receipts[id]++
		return smpp.StatusOK
	}
	if id, err := d.TLVs.CString(gateway.TagMOID); err == nil {
		in.mo[text(d)+"|"+id]++
	}
	return smpp.StatusOK
}

func text(d *smpp.DeliverSM) string {
	s, err := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{})
	if err != nil {
		return fmt.Sprintf("undecodable %x", d.ShortMessage)
	}
	return s
}

// counts returns, for MO texts and receipts, how many distinct ones
// arrived and how many arrived more than once.
func (in *inbox) counts() (mo, moDup, receipts, receiptDup int) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, n := range in.mo {
		mo++
		if n > 1 {
			moDup++
		}
	}
	for _, n := range in.receipts {
		receipts++
		if n > 1 {
			receiptDup++
		}
	}
	return
}

// moTexts returns the MO texts that arrived.
func (in *inbox) moTexts() map[string]bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := map[string]bool{}
	for k := range in.mo {
		t, _, _ := strings.Cut(k, "|")
		out[t] = true
	}
	return out
}

// bind binds the business as a transceiver to d.
func bind(t *testing.T, ctx context.Context, d *gateway.Daemon, in *inbox) *smpp.Client {
	t.Helper()
	c, err := daemontest.Bind(t, ctx, smpp.ClientConfig{
		Addr: d.SMPPAddr().String(), SystemID: "acme01", Password: "secret1",
		BindType: smpp.BindTypeTransceiver, ReconnectDelay: time.Hour, Handler: in.handle,
	}, 5*time.Second)
	if err != nil {
		t.Fatalf("bind the business: %v", err)
	}
	return c
}

// submit sends one text to the subscriber with a receipt requested and
// returns optgate's message id.
func submit(t *testing.T, ctx context.Context, c *smpp.Client, text string) string {
	t.Helper()
	sm, err := daemontest.NewSubmit(tollFree, subscriber, text)
	if err != nil {
		t.Fatal(err)
	}
	sm.RegisteredDelivery = smpp.RegisteredDeliveryReceiptAlways
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.Submit(sctx, sm)
	if err != nil {
		t.Fatalf("submit %q: %v", text, err)
	}
	return resp.MessageID
}

// inject sends an MO text from the subscriber through the carrier, which
// delivers it to instance b's receiver bind.
func (c *cluster) inject(text string) error {
	status, err := c.sim.Inject(c.ctx, smscsim.MO{From: subscriber, To: tollFree, Text: text})
	if err != nil {
		return err
	}
	if status != smpp.StatusOK {
		return fmt.Errorf("deliver_sm_resp %v", status)
	}
	return nil
}

// waitFor polls cond until it holds, failing the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	daemontest.WaitFor(t, 20*time.Second, what, cond)
}

// TestBusinessOnOtherInstance binds the business to instance a only. The
// carrier delivers every MO text and receipt to instance b, and each must
// reach the business exactly once.
func TestBusinessOnOtherInstance(t *testing.T) {
	c := newCluster(t)
	c.optIn(subscriber)
	a := c.start("gw-a")
	c.start("gw-b")
	in := newInbox()
	client := bind(t, c.ctx, a, in)

	const texts, mos = 20, 20
	ids := map[string]bool{}
	for i := range texts {
		ids[submit(t, c.ctx, client, fmt.Sprintf("appointment reminder %d", i))] = true
	}
	for i := range mos {
		if err := c.inject(fmt.Sprintf("see you at %d", i)); err != nil {
			t.Fatalf("inject MO %d: %v", i, err)
		}
	}
	waitFor(t, "every MO text and receipt at the business", func() bool {
		mo, _, receipts, _ := in.counts()
		return mo >= mos && receipts >= texts
	})
	// Anything delivered twice would arrive within a few polls.
	time.Sleep(300 * time.Millisecond)

	mo, moDup, receipts, receiptDup := in.counts()
	t.Logf("submitted %d texts and injected %d MO texts; the business got %d receipts (%d duplicated) "+
		"and %d MO texts (%d duplicated)", texts, mos, receipts, receiptDup, mo, moDup)
	if mo != mos || moDup != 0 {
		t.Errorf("business got %d distinct MO texts, %d duplicated; want %d, none duplicated", mo, moDup, mos)
	}
	if receipts != texts || receiptDup != 0 {
		t.Errorf("business got %d distinct receipts, %d duplicated; want %d, none duplicated", receipts, receiptDup, texts)
	}
	in.mu.Lock()
	for id := range in.receipts {
		if !ids[id] {
			t.Errorf("receipt for %s, which is no message id the business got", id)
		}
	}
	in.mu.Unlock()

	// HELP arrives at b, which has no transmitter bind, so the consent
	// reply must go out through a.
	if err := c.inject("HELP"); err != nil {
		t.Fatalf("inject HELP: %v", err)
	}
	waitFor(t, "the HELP reply at the carrier", func() bool { return len(c.replies()) > 0 })
	time.Sleep(300 * time.Millisecond)
	replies := c.replies()
	t.Logf("HELP reply sent %d times by %v", len(replies), replies)
	if len(replies) != 1 {
		t.Errorf("HELP reply sent %d times, want once", len(replies))
	}
	if got, _, _, _ := in.counts(); got != mos+1 {
		t.Errorf("business got %d MO texts after HELP, want %d", got, mos+1)
	}
}

// replies returns the system_id of each message the carrier got from the
// toll-free number that is no business text, which leaves the consent
// engine's replies.
func (c *cluster) replies() []string {
	var out []string
	for _, m := range c.sim.Messages() {
		if m.Source == strings.TrimPrefix(tollFree, "+") && !strings.HasPrefix(m.FullText, "appointment reminder") {
			out = append(out, m.SystemID)
		}
	}
	return out
}

// TestInstanceKilledMidStream stops instance a without draining while MO
// texts and receipts keep arriving at instance b, then starts a again
// under the same consumer name. Nothing may be lost or duplicated.
func TestInstanceKilledMidStream(t *testing.T) {
	c := newCluster(t)
	c.optIn(subscriber)
	a := c.start("gw-a")
	c.start("gw-b")
	in := newInbox()
	client := bind(t, c.ctx, a, in)

	const texts, mos = 10, 60
	for i := range texts {
		submit(t, c.ctx, client, fmt.Sprintf("reminder %d", i))
	}
	injected := make(chan error, 1)
	go func() {
		for i := range mos {
			if err := c.inject(fmt.Sprintf("reply %d", i)); err != nil {
				injected <- fmt.Errorf("inject MO %d: %w", i, err)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
		injected <- nil
	}()

	// Kill a once some MO texts went through it, while the receipts of
	// its texts (200ms delay) and the rest of the MO texts are on the way.
	waitFor(t, "the first MO texts", func() bool { mo, _, _, _ := in.counts(); return mo >= 10 })
	stop(t, a, 0)
	moAtKill, _, receiptsAtKill, _ := in.counts()
	time.Sleep(200 * time.Millisecond)

	a = c.start("gw-a")
	bind(t, c.ctx, a, in)
	if err := <-injected; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every MO text and receipt after the restart", func() bool {
		mo, _, receipts, _ := in.counts()
		return mo >= mos && receipts >= texts
	})
	time.Sleep(300 * time.Millisecond)

	mo, moDup, receipts, receiptDup := in.counts()
	t.Logf("at the kill the business had %d MO texts and %d receipts; in the end %d of %d MO texts "+
		"(%d duplicated) and %d of %d receipts (%d duplicated)",
		moAtKill, receiptsAtKill, mo, mos, moDup, receipts, texts, receiptDup)
	if mo != mos || moDup != 0 {
		t.Errorf("business got %d distinct MO texts, %d duplicated; want %d, none duplicated", mo, moDup, mos)
	}
	got := in.moTexts()
	for i := range mos {
		if !got[fmt.Sprintf("reply %d", i)] {
			t.Errorf("MO text %q lost", fmt.Sprintf("reply %d", i))
		}
	}
	if receipts != texts || receiptDup != 0 {
		t.Errorf("business got %d distinct receipts, %d duplicated; want %d, none duplicated", receipts, receiptDup, texts)
	}
}
