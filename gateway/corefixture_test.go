package gateway

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// Numbers used across the core tests.
const (
	tfReady     = "+18885550100" // the account's ready toll-free number
	tfNotReady  = "+18885550101" // the account's number without voicemail
	tfOther     = "+18005550177" // a toll-free number of no account
	subscriber  = "+12015550101"
	subscriber2 = "+12015550102"
)

// coreLink is a fake CarrierLink. It records every PDU and answers with
// ids from nextID, or with the error fail returns for the n-th submit
// (counted from 1).
type coreLink struct {
	mu     sync.Mutex
	pdus   []*smpp.SubmitSM
	nextID func(n int) string
	fail   func(n int) error
	// before runs before the answer, outside the lock.
	before func(n int, pdu *smpp.SubmitSM)
}

func (l *coreLink) Submit(ctx context.Context, pdu *smpp.SubmitSM) (string, error) {
	l.mu.Lock()
	l.pdus = append(l.pdus, pdu)
	n := len(l.pdus)
	l.mu.Unlock()
	if l.before != nil {
		l.before(n, pdu)
	}
	if l.fail != nil {
		if err := l.fail(n); err != nil {
			return "", err
		}
	}
	if l.nextID != nil {
		return l.nextID(n), nil
	}
	return fmt.Sprintf("C%04d", n), nil
}

func (l *coreLink) sent() []*smpp.SubmitSM {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]*smpp.SubmitSM(nil), l.pdus...)
}

// failingConsentStore wraps a consent store whose reads and writes fail
// while fail is set, to check that the gateway fails closed.
type failingConsentStore struct {
	consent.Store
	fail atomic.Bool
}

var errDiskGone = errors.New("test: disk gone")

func (s *failingConsentStore) Get(ctx context.Context, account, number string) (consent.Record, error) {
	if s.fail.Load() {
		return consent.Record{}, errDiskGone
	}
	return s.Store.Get(ctx, account, number)
}

func (s *failingConsentStore) GetMany(ctx context.Context, keys []consent.Key) ([]consent.Record, error) {
	if s.fail.Load() {
		return nil, errDiskGone
	}
	return s.Store.GetMany(ctx, keys)
}

func (s *failingConsentStore) Apply(ctx context.Context, ev consent.Event) (consent.Applied, error) {
	if s.fail.Load() {
		return consent.Applied{}, errDiskGone
	}
	return s.Store.Apply(ctx, ev)
}

// coreOptions change the fixture's configuration.
type coreOptions struct {
	account func(a *config.Account)
	carrier func(c *config.Carrier)
	now     time.Time
}

// coreFixture is the routing core on real stores in a temporary
// directory, with a fake carrier link.
type coreFixture struct {
	t        testing.TB
	ctx      context.Context
	dir      string
	store    *BoltStore
	consent  *failingConsentStore
	engine   *consent.Engine
	registry *Registry
	router   *Router
	link     *coreLink
	reg      *prometheus.Registry
	metrics  *Metrics
	mt       *MTService
	mo       *MOService
	receipts *ReceiptService
	now      time.Time

	mu       sync.Mutex
	notified []string
}

// testHash is a bcrypt hash at the lowest cost, so tests stay fast.
func testHash(t testing.TB, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func testAccount(t testing.TB) config.Account {
	return config.Account{
		ID:           "acme",
		BusinessName: "Acme Dental",
		TollFree: []config.TollFreeNumber{
			{Number: tfReady, Greeting: "greeting.wav", Voicemail: config.Voicemail{Enabled: true}},
			{Number: tfNotReady, Greeting: "greeting.wav"},
		},
		ESMEs:         []config.ESME{{SystemID: "acme01", PasswordHash: testHash(t, "secret1"), MaxBinds: 2}},
		APITokens:     []config.APIToken{{Name: "main", Hash: testHash(t, "tok-acme")}},
		Delivery:      config.Delivery{Type: config.DeliverySMPP},
		ReceiptPolicy: config.ReceiptWorst,
	}
}

func testCarrier() config.Carrier {
	return config.Carrier{
		Name: "sim", Address: "127.0.0.1:2776", SystemID: "optgate", Routes: []string{"+1"},
		DataCoding0: config.DataCodingGSM7, LongMessages: config.LongUDH, DefaultRegion: "US",
		MessageID: config.MessageIDFormat{Format: config.MessageIDAsIs, LeadingZeros: config.LeadingZerosKeep},
	}
}

func newCoreFixture(t testing.TB, opts coreOptions) *coreFixture {
	t.Helper()
	f := &coreFixture{t: t, ctx: context.Background(), dir: t.TempDir(), link: &coreLink{}, now: opts.now}
	if f.now.IsZero() {
		f.now = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	}
	acct := testAccount(t)
	if opts.account != nil {
		opts.account(&acct)
	}
	carrier := testCarrier()
	if opts.carrier != nil {
		opts.carrier(&carrier)
	}

	var err error
	if f.registry, err = NewRegistry([]config.Account{acct}, RegistryOptions{}); err != nil {
		t.Fatal(err)
	}
	if f.router, err = NewRouter([]config.Carrier{carrier}); err != nil {
		t.Fatal(err)
	}
	f.store = f.openStore()
	cs, err := consent.OpenBolt(filepath.Join(f.dir, "consent.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.Close() })
	f.consent = &failingConsentStore{Store: cs}
	f.engine, err = consent.NewEngine(f.consent, f.registry, consent.Options{Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.reg = prometheus.NewRegistry()
	if f.metrics, err = NewMetrics(f.reg, f.store.Depths); err != nil {
		t.Fatal(err)
	}
	f.receipts, err = NewReceiptService(ReceiptConfig{Router: f.router, Store: f.store, Notify: f.notify,
		Metrics: f.metrics, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.mt, err = NewMTService(MTConfig{Registry: f.registry, Router: f.router, Links: StaticLinks{"sim": f.link},
		Engine: f.engine, Store: f.store, Receipts: f.receipts, Notify: f.notify, Metrics: f.metrics, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.mo, err = NewMOService(MOConfig{Registry: f.registry, Router: f.router, Engine: f.engine, Store: f.store,
		Receipts: f.receipts, Notify: f.notify, Metrics: f.metrics, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *coreFixture) openStore() *BoltStore {
	f.t.Helper()
	s, err := OpenBoltStore(filepath.Join(f.dir, "gateway.db"), BoltStoreOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}

func (f *coreFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *coreFixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func (f *coreFixture) notify(queue string) {
	f.mu.Lock()
	f.notified = append(f.notified, queue)
	f.mu.Unlock()
}

// setState gives a subscriber a consent state with the account through an
// operator import, the way records are seeded outside the SMS flows.
func (f *coreFixture) setState(number string, state consent.State) {
	f.t.Helper()
	_, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: "acme", Number: number,
		Import: state, Source: consent.SourceImport, Time: f.clock()})
	if err != nil {
		f.t.Fatal(err)
	}
}

// queue returns the items of a queue.
func (f *coreFixture) queue(name string) []Item {
	f.t.Helper()
	items, err := f.store.Peek(f.ctx, name, 1000)
	if err != nil {
		f.t.Fatal(err)
	}
	return items
}

// counter returns the value of a counter of the fixture's registry, summed
// over the series whose labels include want.
func (f *coreFixture) counter(name string, want map[string]string) float64 {
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

// decodeHexPDU decodes a PDU from the spaced hex of the wire cases.
func decodeHexPDU(t testing.TB, spaced string) smpp.PDU {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(spaced), ""))
	if err != nil {
		t.Fatal(err)
	}
	p, err := smpp.DecodePDU(b)
	if err != nil {
		t.Fatalf("decode pdu: %v", err)
	}
	return p
}

// moPDU builds a deliver_sm from a subscriber to a toll-free number.
func moPDU(from, to string, coding smpp.DataCoding, short []byte) *smpp.DeliverSM {
	return &smpp.DeliverSM{
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: strings.TrimPrefix(from, "+"),
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: strings.TrimPrefix(to, "+"),
		DataCoding: coding, ShortMessage: short,
	}
}

// receiptPDU builds a receipt deliver_sm with the given text and TLVs.
func receiptPDU(text string, tlvs smpp.TLVs) *smpp.DeliverSM {
	p := moPDU(subscriber, tfReady, smpp.CodingDefault, []byte(text))
	p.ESMClass = smpp.ESMClassDeliveryReceipt
	p.TLVs = tlvs
	return p
}
