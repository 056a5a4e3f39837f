package consent_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// Numbers used by the engine tests. The 201 area code is in New Jersey
// (Eastern time); 907 is Alaska, which spans two zones.
const (
	acme        = "acme"
	tfAcme      = "+18885550100"
	tfAcme2     = "+18005550100"
	tfNotReady  = "+18335550100"
	tfBeta      = "+18445550100"
	tfShadow    = "+18555550100"
	tfQuiet     = "+18665550100"
	subscriber  = "+12015550101"
	subscriber2 = "+12015550102"
	alaska      = "+19075550101"
)

// testClock is a settable clock for the engine.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// noon is 12:00 in New York.
var noon = time.Date(2026, 3, 2, 17, 0, 0, 0, time.UTC)

type fixture struct {
	t        *testing.T
	e        *consent.Engine
	store    consent.Store
	clock    *testClock
	accounts *consent.AccountSet
}

func testAccounts() []consent.Account {
	ready := func(n string) consent.TollFreeNumber {
		return consent.TollFreeNumber{Number: n, Greeting: true, Voicemail: true}
	}
	return []consent.Account{
		{
			ID: acme, BusinessName: "Acme Dental",
			TollFree: []consent.TollFreeNumber{
				ready(tfAcme), ready(tfAcme2),
				{Number: tfNotReady, Greeting: true},
			},
			Template: consent.Template{Details: "Appointment reminders."},
		},
		{ID: "beta", BusinessName: "Beta Books", TollFree: []consent.TollFreeNumber{ready(tfBeta)}},
		{ID: "shadow", BusinessName: "Shadow Co", Shadow: true, TollFree: []consent.TollFreeNumber{ready(tfShadow)}},
		{ID: "quiet", BusinessName: "Quiet Co", QuietHours: true, TollFree: []consent.TollFreeNumber{ready(tfQuiet)}},
		{
			ID: "chicago", BusinessName: "Chicago Co", QuietHours: true, TimeZone: mustZone("America/Chicago"),
			TollFree: []consent.TollFreeNumber{ready("+18775550100")},
		},
		{ID: "idle", BusinessName: "Idle Co", TollFree: []consent.TollFreeNumber{{Number: "+18775550199"}}},
	}
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWithStore(t, openBolt(t))
}

func newFixtureWithStore(t *testing.T, s consent.Store) *fixture {
	t.Helper()
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatalf("account set: %v", err)
	}
	clock := &testClock{now: noon}
	e, err := consent.NewEngine(s, set, consent.Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	return &fixture{t: t, e: e, store: s, clock: clock, accounts: set}
}

// optIn sends a request from the account's first ready number and replies
// to it with YES.
func (f *fixture) optIn(account, number string) {
	f.t.Helper()
	res, err := f.e.RequestOptIn(context.Background(), consent.OptInRequest{Account: account, To: number})
	if err != nil {
		f.t.Fatalf("request %s/%s: %v", account, number, err)
	}
	f.mo(number, res.From, "YES")
}

func (f *fixture) mo(from, to, text string) consent.MOResult {
	f.t.Helper()
	res, err := f.e.HandleMO(context.Background(), consent.MO{
		From: from, To: to, Text: text, MessageIDs: []string{"m-" + text}, Source: consent.SourceSMPP,
	})
	if err != nil {
		f.t.Fatalf("MO %q from %s to %s: %v", text, from, to, err)
	}
	return res
}

func (f *fixture) request(account, number string) (consent.RequestResult, error) {
	return f.e.RequestOptIn(context.Background(), consent.OptInRequest{Account: account, To: number})
}

func (f *fixture) check(account, from, to string) consent.Decision {
	return f.e.CheckMT(context.Background(), consent.MT{Account: account, From: from, To: to})
}

func TestCheckMTReasons(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.mo(subscriber2, tfAcme, "STOP")
	limit := "+12015550103"
	for range 2 {
		if _, err := f.request(acme, limit); err != nil {
			t.Fatalf("request: %v", err)
		}
	}
	voided := "+12015550104"
	f.optIn(acme, voided)
	if _, err := f.e.ImportVoided(context.Background(), strings.NewReader(voided+"\n"), []string{acme}); err != nil {
		t.Fatalf("import voided: %v", err)
	}

	tests := []struct {
		name              string
		account, from, to string
		want              consent.Reason
	}{
		{"opted in", acme, tfAcme, subscriber, consent.ReasonNone},
		{"opted in, other sender of the account", acme, tfAcme2, subscriber, consent.ReasonNone},
		{"national format", acme, tfAcme, "(201) 555-0101", consent.ReasonNone},
		{"no consent", acme, tfAcme, "+12015550150", consent.ReasonNoConsent},
		{"opted out", acme, tfAcme, subscriber2, consent.ReasonOptedOut},
		{"request limit", acme, tfAcme, limit, consent.ReasonRequestLimit},
		{"voided", acme, tfAcme, voided, consent.ReasonVoided},
		{"other account", "beta", tfBeta, subscriber, consent.ReasonNoConsent},
		{"unknown account", "nobody", tfAcme, subscriber, consent.ReasonUnknownAccount},
		{"invalid recipient", acme, tfAcme, "not a number", consent.ReasonInvalidNumber},
		{"sender not toll-free", acme, "+12015550150", subscriber, consent.ReasonSenderNotTollFree},
		{"alphanumeric sender", acme, "ACME", subscriber, consent.ReasonSenderNotTollFree},
		{"sender of another account", acme, tfBeta, subscriber, consent.ReasonSenderNotOwned},
		{"sender not ready", acme, tfNotReady, subscriber, consent.ReasonSenderNotReady},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := f.check(tc.account, tc.from, tc.to)
			if d.Reason != tc.want {
				t.Errorf("reason = %q, want %q", d.Reason, tc.want)
			}
			if d.Allowed != (tc.want == consent.ReasonNone) {
				t.Errorf("allowed = %v with reason %q", d.Allowed, d.Reason)
			}
			if d.Temporary || d.Shadow {
				t.Errorf("temporary/shadow = %v/%v, want false/false", d.Temporary, d.Shadow)
			}
		})
	}
}

// countingStore counts the store calls the engine makes.
type countingStore struct {
	consent.Store
	mu          sync.Mutex
	gets, batch int
}

func (s *countingStore) Get(ctx context.Context, account, number string) (consent.Record, error) {
	s.mu.Lock()
	s.gets++
	s.mu.Unlock()
	return s.Store.Get(ctx, account, number)
}

func (s *countingStore) GetMany(ctx context.Context, keys []consent.Key) ([]consent.Record, error) {
	s.mu.Lock()
	s.batch++
	s.mu.Unlock()
	return s.Store.GetMany(ctx, keys)
}

func TestCheckMTBatchOneRoundTrip(t *testing.T) {
	cs := &countingStore{Store: openBolt(t)}
	f := newFixtureWithStore(t, cs)
	f.optIn(acme, subscriber)
	f.mo(subscriber2, tfAcme, "STOP")
	mts := []consent.MT{
		{Account: acme, From: tfAcme, To: subscriber},
		{Account: acme, From: tfAcme, To: subscriber2},
		{Account: "nobody", From: tfAcme, To: subscriber},
		{Account: acme, From: tfNotReady, To: subscriber},
		{Account: acme, From: tfAcme, To: "+12015550150"},
		{Account: "beta", From: tfBeta, To: subscriber},
		{Account: "shadow", From: tfShadow, To: subscriber},
	}

	cs.gets, cs.batch = 0, 0
	got := f.e.CheckMTBatch(context.Background(), mts)
	if cs.batch != 1 || cs.gets != 0 {
		t.Errorf("batch made %d GetMany and %d Get calls, want 1 and 0", cs.batch, cs.gets)
	}
	if len(got) != len(mts) {
		t.Fatalf("got %d decisions for %d MTs", len(got), len(mts))
	}
	for i, mt := range mts {
		if want := f.e.CheckMT(context.Background(), mt); got[i] != want {
			t.Errorf("batch decision %d (%+v) = %+v, CheckMT gives %+v", i, mt, got[i], want)
		}
	}
	if got[0].Reason != consent.ReasonNone || got[1].Reason != consent.ReasonOptedOut {
		t.Errorf("batch reasons %q, %q; want allowed, opted_out", got[0].Reason, got[1].Reason)
	}
	if len(f.e.CheckMTBatch(context.Background(), nil)) != 0 {
		t.Error("empty batch returned decisions")
	}
}

// failingStore fails every call with err, or with the context's error once
// the context is done when block is set.
type failingStore struct {
	consent.Store
	err   error
	block bool
}

func (s *failingStore) fail(ctx context.Context) error {
	if s.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return s.err
}

func (s *failingStore) Get(ctx context.Context, _, _ string) (consent.Record, error) {
	return consent.Record{}, s.fail(ctx)
}

func (s *failingStore) GetMany(ctx context.Context, _ []consent.Key) ([]consent.Record, error) {
	return nil, s.fail(ctx)
}

func (s *failingStore) Apply(ctx context.Context, _ consent.Event) (consent.Applied, error) {
	return consent.Applied{}, s.fail(ctx)
}

func TestStoreFailureFailsClosed(t *testing.T) {
	inner := openBolt(t)
	f := newFixtureWithStore(t, inner)
	f.optIn(acme, subscriber)
	if d := f.check(acme, tfAcme, subscriber); !d.Allowed {
		t.Fatalf("MT before the failure blocked: %+v", d)
	}

	stores := map[string]*failingStore{
		"error":   {Store: inner, err: errors.New("connection refused")},
		"timeout": {Store: inner, block: true},
	}
	for name, fs := range stores {
		t.Run(name, func(t *testing.T) {
			f := newFixtureWithStore(t, fs)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			mt := consent.MT{Account: acme, From: tfAcme, To: subscriber}
			want := consent.Decision{Reason: consent.ReasonStoreUnavailable, Temporary: true}
			if d := f.e.CheckMT(ctx, mt); d != want {
				t.Errorf("CheckMT = %+v, want %+v", d, want)
			}
			for i, d := range f.e.CheckMTBatch(ctx, []consent.MT{mt, mt}) {
				if d != want {
					t.Errorf("CheckMTBatch[%d] = %+v, want %+v", i, d, want)
				}
			}
			_, err := f.e.HandleMO(ctx, consent.MO{From: subscriber, To: tfAcme, Text: "STOP"})
			if !errors.Is(err, consent.ErrStoreUnavailable) {
				t.Errorf("HandleMO error = %v, want ErrStoreUnavailable", err)
			}
			_, err = f.e.RequestOptIn(ctx, consent.OptInRequest{Account: acme, To: subscriber2})
			if !errors.Is(err, consent.ErrStoreUnavailable) {
				t.Errorf("RequestOptIn error = %v, want ErrStoreUnavailable", err)
			}
			if n := f.e.Stats().StoreErrors; n != 4 {
				t.Errorf("store errors counted = %d, want 4 (one per call)", n)
			}
		})
	}

	t.Run("shadow", func(t *testing.T) {
		f := newFixtureWithStore(t, stores["error"])
		d := f.check("shadow", tfShadow, subscriber)
		want := consent.Decision{Allowed: true, Reason: consent.ReasonStoreUnavailable, Temporary: true, Shadow: true}
		if d != want {
			t.Errorf("shadow decision = %+v, want %+v", d, want)
		}
	})
}

func TestQuietHours(t *testing.T) {
	f := newFixture(t)
	// 16:00 in New York is daytime everywhere in the US.
	f.clock.Set(noon.Add(4 * time.Hour))
	for _, n := range []string{subscriber, alaska, nonGeo} {
		f.optIn("quiet", n)
		f.optIn("chicago", n)
	}
	if _, err := f.request("quiet", subscriber2); err != nil {
		t.Fatalf("request: %v", err)
	}

	at := func(hour, minute int, zone string) time.Time {
		return time.Date(2026, 3, 2, hour, minute, 0, 0, mustZone(zone))
	}
	tests := []struct {
		name    string
		account string
		from    string
		to      string
		now     time.Time
		want    consent.Reason
	}{
		{"before 8:00", "quiet", tfQuiet, subscriber, at(7, 59, "America/New_York"), consent.ReasonQuietHours},
		{"at 8:00", "quiet", tfQuiet, subscriber, at(8, 0, "America/New_York"), consent.ReasonNone},
		{"at 20:59", "quiet", tfQuiet, subscriber, at(20, 59, "America/New_York"), consent.ReasonNone},
		{"at 21:00", "quiet", tfQuiet, subscriber, at(21, 0, "America/New_York"), consent.ReasonQuietHours},
		{"consent reason first", "quiet", tfQuiet, subscriber2, at(23, 0, "America/New_York"), consent.ReasonNoConsent},
		{"unknown zone, 8:00 Adak", "quiet", tfQuiet, nonGeo, at(8, 0, "America/Adak"), consent.ReasonNone},
		{"unknown zone, 7:59 Adak", "quiet", tfQuiet, nonGeo, at(7, 59, "America/Adak"), consent.ReasonQuietHours},
		{"unknown zone, 9:00 Pacific", "quiet", tfQuiet, nonGeo, at(9, 0, "America/Los_Angeles"), consent.ReasonQuietHours},
		{"unknown zone, 20:59 Eastern", "quiet", tfQuiet, nonGeo, at(20, 59, "America/New_York"), consent.ReasonNone},
		{"unknown zone, 21:30 Eastern", "quiet", tfQuiet, nonGeo, at(21, 30, "America/New_York"), consent.ReasonQuietHours},
		{"unknown zone, account zone", "chicago", "+18775550100", nonGeo, at(7, 30, "America/Chicago"), consent.ReasonQuietHours},
		{"unknown zone, account zone day", "chicago", "+18775550100", nonGeo, at(8, 30, "America/Chicago"), consent.ReasonNone},
		{"known zone beats account zone", "chicago", "+18775550100", subscriber, at(8, 30, "America/Chicago"), consent.ReasonNone},
		{"account without quiet hours", acme, tfAcme, subscriber, at(3, 0, "America/New_York"), consent.ReasonNoConsent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Set(tc.now)
			d := f.check(tc.account, tc.from, tc.to)
			if d.Reason != tc.want {
				t.Errorf("reason = %q, want %q", d.Reason, tc.want)
			}
			if d.Temporary != (tc.want == consent.ReasonQuietHours) {
				t.Errorf("temporary = %v for reason %q", d.Temporary, d.Reason)
			}
		})
	}

	f.clock.Set(at(22, 0, "America/New_York"))
	if _, err := f.request("quiet", "+12015550105"); !errors.Is(err, consent.ErrQuietHours) {
		t.Errorf("request at night: %v, want ErrQuietHours", err)
	}
}

func TestShadowMode(t *testing.T) {
	f := newFixture(t)
	d := f.check("shadow", tfShadow, subscriber)
	want := consent.Decision{Allowed: true, Reason: consent.ReasonNoConsent, Shadow: true}
	if d != want {
		t.Errorf("shadow decision = %+v, want %+v", d, want)
	}
	f.optIn("shadow", subscriber)
	want = consent.Decision{Allowed: true, Shadow: true}
	if d := f.check("shadow", tfShadow, subscriber); d != want {
		t.Errorf("shadow decision after opt-in = %+v, want %+v", d, want)
	}
	// Shadow mode changes only decisions: STOP still opts out and the
	// decision still names the reason.
	f.mo(subscriber, tfShadow, "STOP")
	want = consent.Decision{Allowed: true, Reason: consent.ReasonOptedOut, Shadow: true}
	if d := f.check("shadow", tfShadow, subscriber); d != want {
		t.Errorf("shadow decision after STOP = %+v, want %+v", d, want)
	}
	st := f.e.Stats()
	if st.ShadowAllowed[consent.ReasonNoConsent] != 1 || st.ShadowAllowed[consent.ReasonOptedOut] != 1 {
		t.Errorf("shadow counts = %v, want one no_consent and one opted_out", st.ShadowAllowed)
	}
	if st.Allowed != 1 || len(st.Blocked) != 0 {
		t.Errorf("allowed = %d, blocked = %v; want 1 and none", st.Allowed, st.Blocked)
	}

	// Options.Shadow applies to every account.
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consent.NewEngine(f.store, set, consent.Options{Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	d = e.CheckMT(context.Background(), consent.MT{Account: acme, From: tfAcme, To: "+12015550150"})
	if !d.Allowed || !d.Shadow || d.Reason != consent.ReasonNoConsent {
		t.Errorf("global shadow decision = %+v", d)
	}
}
