package sip

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// Numbers of the tests.
const (
	tfReady    = "+18885550100" // acme's ready toll-free number
	tfNotReady = "+18885550101" // acme's number without voicemail
	tfBeta     = "+18005550100" // beta's ready toll-free number
	tfNobody   = "+18005550177" // a toll-free number of no account
	customer   = "+12015550101"
	customer2  = "+12015550102"
)

// Digest credentials of beta's trunk.
const (
	betaUser     = "beta-pbx"
	betaPassword = "s3cret-beta"
)

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// fixtureYAML is the configuration of the tests. acme's trunk is allowed
// by address; beta's needs digest authentication. The placeholders are
// the greeting file, acme's delivery, beta's H(A1) and the simulator's
// address.
const fixtureYAML = `
listeners:
  sip: {udp_addr: "127.0.0.1:0", tcp_addr: "127.0.0.1:0"}
accounts:
  - id: acme
    business_name: Acme Dental
    toll_free:
      - {number: "+18885550100", greeting: %[1]q, voicemail: {enabled: true, max_duration: 10s}}
      - {number: "+18885550101", greeting: %[1]q}
    sip_trunks:
      - {name: office, allowed_cidrs: ["127.0.0.1/32"]}
    delivery: %[2]s
  - id: beta
    business_name: Beta Books
    toll_free:
      - {number: "+18005550100", greeting: %[1]q, voicemail: {enabled: true}}
    sip_trunks:
      - {name: beta-pbx, username: beta-pbx, realm: optgate, password_ha1: %[3]q}
    delivery: {type: sip, sip_uri: "sip:pbx@127.0.0.1:9"}
carriers:
  - name: sim
    address: %[4]q
    system_id: optgate
    password: simpass
    routes: ["+1"]
`

// fixtureOptions change a fixture before it starts.
type fixtureOptions struct {
	// delivery is acme's delivery setting in YAML flow form. Default: SIP
	// to the discard port, where nothing listens.
	delivery string
	// sip changes the SIP server's configuration.
	sip func(c *Config)
	// greeting is the length of the test greeting. Default 200ms.
	greeting time.Duration
}

// fixture is the SIP server wired to the real routing core: the gateway
// MT service on bbolt stores, with the SMSC simulator as its carrier.
type fixture struct {
	t          testing.TB
	ctx        context.Context
	dir        string
	cfg        *config.Config
	sim        *smscsim.Simulator
	consent    *failingStore
	core       *gateway.Core
	carriers   *gateway.CarrierSet
	srv        *Server
	voicemails *FileVoicemails
	reg        *prometheus.Registry
	logs       *logBuffer
}

// lateMT forwards to the core's MT service, which is built after the
// server because the core delivers through the server.
type lateMT struct{ mt *gateway.MTService }

func (l *lateMT) Submit(ctx context.Context, mt gateway.MT) (gateway.Result, error) {
	return l.mt.Submit(ctx, mt)
}

func (l *lateMT) RequestOptIn(ctx context.Context, req gateway.OptInRequest) (gateway.OptInResult, error) {
	return l.mt.RequestOptIn(ctx, req)
}

func newFixture(t testing.TB, opts fixtureOptions) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*testTimeout)
	t.Cleanup(cancel)
	f := &fixture{t: t, ctx: ctx, dir: t.TempDir(), reg: prometheus.NewRegistry(), logs: &logBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", f.logs.String())
		}
	})
	logger := zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(zap.NewDevelopmentEncoderConfig()),
		zapcore.AddSync(f.logs), zapcore.DebugLevel))

	f.sim = smscsim.New(smscsim.Config{Addr: "127.0.0.1:0", SystemID: "optgate", Password: "simpass"})
	if err := f.sim.Start(ctx); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { _ = f.sim.Close() })

	if opts.greeting == 0 {
		opts.greeting = 200 * time.Millisecond
	}
	greeting := filepath.Join(f.dir, "greeting.wav")
	writeToneWAV(t, greeting, opts.greeting, 440, 8000)
	if opts.delivery == "" {
		opts.delivery = `{type: sip, sip_uri: "sip:pbx@127.0.0.1:9"}`
	}
	yaml := fmt.Sprintf(fixtureYAML, greeting, opts.delivery, ha1(betaUser, "optgate", betaPassword),
		f.sim.Addr().String())
	cfg, err := config.Parse([]byte(yaml), "test.yaml")
	if err != nil {
		t.Fatalf("parse test configuration: %v", err)
	}
	f.cfg = cfg
	f.buildCore(logger, opts)
	return f
}

// buildCore wires the consent engine, the routing core, the carrier binds
// and the SIP server, and starts them.
func (f *fixture) buildCore(logger *zap.Logger, opts fixtureOptions) {
	t := f.t
	registry, err := gateway.NewRegistry(f.cfg.Accounts, gateway.RegistryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	router, err := gateway.NewRouter(f.cfg.Carriers)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := consent.OpenBolt(filepath.Join(f.dir, "consent.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	f.consent = &failingStore{Store: cs}
	engine, err := consent.NewEngine(f.consent, registry, consent.Options{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := gateway.OpenBoltStore(filepath.Join(f.dir, "gateway.db"), gateway.BoltStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	metrics, err := gateway.NewMetrics(prometheus.NewRegistry(), store.Depths)
	if err != nil {
		t.Fatal(err)
	}
	if f.voicemails, err = NewFileVoicemails(filepath.Join(f.dir, "voicemail"), Retention{}); err != nil {
		t.Fatal(err)
	}

	mt := &lateMT{}
	sipCfg := Config{Listener: f.cfg.Listeners.SIP, Accounts: f.cfg.Accounts, TempDir: f.dir,
		SilenceTimeout: 400 * time.Millisecond, RequestTimeout: 10 * time.Second}
	if opts.sip != nil {
		opts.sip(&sipCfg)
	}
	f.srv, err = NewServer(sipCfg, Deps{MT: mt, Voicemails: f.voicemails, Logger: logger, Registerer: f.reg})
	if err != nil {
		t.Fatalf("new sip server: %v", err)
	}
	targets, err := gateway.AccountTargets(registry, nil, f.srv)
	if err != nil {
		t.Fatal(err)
	}

	var core *gateway.Core
	carriers, err := gateway.NewCarrierSet(f.cfg.Carriers, gateway.CarrierPoolConfig{
		Deliver: func(ctx context.Context, carrier string, pdu smpp.PDU) smpp.CommandStatus {
			return core.MO.HandleDeliver(ctx, carrier, pdu)
		},
		Logger:         logger,
		ReconnectDelay: 20 * time.Millisecond, MaxReconnectDelay: 100 * time.Millisecond,
		BindWait: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	core, err = gateway.NewCore(gateway.CoreConfig{
		Registry: registry, Router: router, Engine: engine, Store: store, Links: carriers,
		Targets: targets, Metrics: metrics, Logger: logger,
		Dispatch: gateway.DispatcherConfig{MinBackoff: 10 * time.Millisecond, MaxBackoff: 200 * time.Millisecond},
	})
	if err != nil {
		t.Fatal(err)
	}
	mt.mt = core.MT
	f.core, f.carriers = core, carriers

	if err := carriers.Start(f.ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = carriers.Stop(context.Background()) })
	if err := core.Start(f.ctx, registry.IDs()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = core.Stop(context.Background()) })
	if err := f.srv.Start(f.ctx); err != nil {
		t.Fatalf("start sip server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := f.srv.Stop(ctx); err != nil {
			t.Errorf("stop sip server: %v", err)
		}
	})
	waitFor(t, "the carrier to bind", func() bool { return carriers.Pools()[0].BoundSessions() > 0 })
}

// failingStore is a consent store whose reads and writes fail while fail
// is set, to check that the gateway fails closed.
type failingStore struct {
	consent.Store
	fail atomic.Bool
}

var errDiskGone = errors.New("test: disk gone")

func (s *failingStore) Get(ctx context.Context, account, number string) (consent.Record, error) {
	if s.fail.Load() {
		return consent.Record{}, errDiskGone
	}
	return s.Store.Get(ctx, account, number)
}

func (s *failingStore) GetMany(ctx context.Context, keys []consent.Key) ([]consent.Record, error) {
	if s.fail.Load() {
		return nil, errDiskGone
	}
	return s.Store.GetMany(ctx, keys)
}

func (s *failingStore) Apply(ctx context.Context, ev consent.Event) (consent.Applied, error) {
	if s.fail.Load() {
		return consent.Applied{}, errDiskGone
	}
	return s.Store.Apply(ctx, ev)
}

// addr returns the server's address for network "udp" or "tcp".
func (f *fixture) addr(network string) string {
	f.t.Helper()
	a := f.srv.Addr(network)
	if a == nil {
		f.t.Fatalf("server does not listen on %s", network)
	}
	return a.String()
}

// setState gives a customer a consent state with an account through an
// operator import, the way records are seeded outside the SMS flows.
func (f *fixture) setState(account, number string, state consent.State) {
	f.t.Helper()
	_, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: account, Number: number,
		Import: state, Source: consent.SourceImport, Time: time.Now()})
	if err != nil {
		f.t.Fatal(err)
	}
}

// consentRecord returns the customer's consent record with an account.
func (f *fixture) consentRecord(account, number string) consent.Record {
	f.t.Helper()
	rec, err := f.consent.Get(f.ctx, account, number)
	if err != nil {
		f.t.Fatal(err)
	}
	return rec
}

// waitMessages waits until the simulator received n messages.
func (f *fixture) waitMessages(n int) []smscsim.Message {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	msgs, err := f.sim.WaitMessages(ctx, n)
	if err != nil {
		f.t.Fatalf("waiting for %d messages at the simulator, got %d: %v", n, len(msgs), err)
	}
	return msgs
}

// counter returns the value of a counter of the server's registry, summed
// over the series whose labels include want.
func (f *fixture) counter(name string, want map[string]string) float64 {
	f.t.Helper()
	families, err := f.reg.Gather()
	if err != nil {
		f.t.Fatal(err)
	}
	total := 0.0
	for _, fam := range families {
		if fam.GetName() != name {
			continue
		}
	metrics:
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if labels[k] != v {
					continue metrics
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// waitFor polls cond until it holds, failing the test after testTimeout.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ha1 returns the MD5 digest H(A1) of RFC 2617 section 3.2.2.2.
func ha1(user, realm, password string) string {
	sum := md5.Sum([]byte(user + ":" + realm + ":" + password))
	return hex.EncodeToString(sum[:])
}

// writeToneWAV writes a 8000 Hz 16-bit mono WAV file of a sine tone.
func writeToneWAV(t testing.TB, path string, length time.Duration, freq, amplitude float64) {
	t.Helper()
	pcm := tonePCM(length, freq, amplitude)
	data := append(wavHeader(int64(len(pcm))), pcm...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tonePCM returns 8000 Hz 16-bit little-endian samples of a sine tone;
// amplitude 0 gives silence.
func tonePCM(length time.Duration, freq, amplitude float64) []byte {
	n := int(length.Seconds() * sampleRate)
	var buf bytes.Buffer
	for i := range n {
		v := amplitude * math.Sin(2*math.Pi*freq*float64(i)/sampleRate)
		_ = binary.Write(&buf, binary.LittleEndian, int16(v))
	}
	return buf.Bytes()
}

// logBuffer collects the server's log for failed tests. Goroutines of
// sipgo may log after a test ends, so the log does not go to t.Log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// contains reports whether the log has a line with every part.
func (b *logBuffer) contains(parts ...string) bool {
	for _, line := range strings.Split(b.String(), "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

// freeUDP returns a loopback UDP listener on a free port.
func freeUDP(t testing.TB) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc
}
