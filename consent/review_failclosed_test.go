package consent_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// deafStore answers reads with an opted-in record but ignores the
// context's deadline: it waits for release, or with answerLate for the
// deadline to pass, before it answers. It stands for a store stuck on a
// network call that does not honour the context.
type deafStore struct {
	consent.Store
	answerLate bool
	release    chan struct{}
}

func newDeafStore(t *testing.T, inner consent.Store, answerLate bool) *deafStore {
	s := &deafStore{Store: inner, answerLate: answerLate, release: make(chan struct{})}
	t.Cleanup(func() { close(s.release) })
	return s
}

func (s *deafStore) wait(ctx context.Context) {
	if s.answerLate {
		<-ctx.Done()
		return
	}
	<-s.release
}

func (s *deafStore) Get(ctx context.Context, _, _ string) (consent.Record, error) {
	s.wait(ctx)
	return consent.Record{State: consent.StateOptedIn, Seq: 2}, nil
}

func (s *deafStore) GetMany(ctx context.Context, keys []consent.Key) ([]consent.Record, error) {
	s.wait(ctx)
	out := make([]consent.Record, len(keys))
	for i := range out {
		out[i] = consent.Record{State: consent.StateOptedIn, Seq: 2}
	}
	return out, nil
}

// callWithin runs fn and fails the test when it has not returned long
// after the 20ms deadline the test gives the engine.
func callWithin(t *testing.T, name string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s still waits for the store 10s after its 20ms deadline", name)
	}
}

func TestStoreIgnoringDeadlineFailsClosed(t *testing.T) {
	for _, late := range []bool{false, true} {
		name := "hangs"
		if late {
			name = "answers after the deadline"
		}
		t.Run(name, func(t *testing.T) {
			f := newFixtureWithStore(t, newDeafStore(t, openBolt(t), late))
			mt := consent.MT{Account: acme, From: tfAcme, To: subscriber}
			want := consent.Decision{Reason: consent.ReasonStoreUnavailable, Temporary: true}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			var d consent.Decision
			callWithin(t, "CheckMT", func() { d = f.e.CheckMT(ctx, mt) })
			if d != want {
				t.Errorf("CheckMT = %+v, want %+v", d, want)
			}

			ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			var batch []consent.Decision
			callWithin(t, "CheckMTBatch", func() { batch = f.e.CheckMTBatch(ctx, []consent.MT{mt, mt}) })
			for i, d := range batch {
				if d != want {
					t.Errorf("CheckMTBatch[%d] = %+v, want %+v", i, d, want)
				}
			}
			if n := f.e.Stats().StoreErrors; n != 2 {
				t.Errorf("store errors counted = %d, want 2", n)
			}
		})
	}
}

// TestShadowModeNeverBlocks sends every kind of blocked MT through an
// engine in shadow mode: each is allowed, keeps the reason it would have
// been blocked for, and is counted under that reason.
func TestShadowModeNeverBlocks(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.mo(subscriber2, tfAcme, "STOP")
	limit := "+12015550103"
	for range 2 {
		if _, err := f.request(acme, limit); err != nil {
			t.Fatal(err)
		}
	}
	voided := "+12015550104"
	f.optIn(acme, voided)
	if _, err := f.e.ImportVoided(context.Background(), strings.NewReader(voided+"\n"), []string{acme}); err != nil {
		t.Fatal(err)
	}
	f.optIn("quiet", subscriber)

	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatal(err)
	}
	night := time.Date(2026, 3, 2, 23, 30, 0, 0, mustZone("America/New_York"))
	e, err := consent.NewEngine(f.store, set, consent.Options{Shadow: true, Now: func() time.Time { return night }})
	if err != nil {
		t.Fatal(err)
	}
	mts := []struct {
		mt   consent.MT
		want consent.Reason
	}{
		{consent.MT{Account: acme, From: tfAcme, To: "+12015550150"}, consent.ReasonNoConsent},
		{consent.MT{Account: acme, From: tfAcme, To: subscriber2}, consent.ReasonOptedOut},
		{consent.MT{Account: acme, From: tfAcme, To: limit}, consent.ReasonRequestLimit},
		{consent.MT{Account: acme, From: tfAcme, To: voided}, consent.ReasonVoided},
		{consent.MT{Account: acme, From: "+12015550150", To: subscriber}, consent.ReasonSenderNotTollFree},
		{consent.MT{Account: acme, From: tfBeta, To: subscriber}, consent.ReasonSenderNotOwned},
		{consent.MT{Account: acme, From: tfNotReady, To: subscriber}, consent.ReasonSenderNotReady},
		{consent.MT{Account: "quiet", From: tfQuiet, To: subscriber}, consent.ReasonQuietHours},
		{consent.MT{Account: acme, From: tfAcme, To: "12"}, consent.ReasonInvalidNumber},
		{consent.MT{Account: "nobody", From: tfAcme, To: subscriber}, consent.ReasonUnknownAccount},
		{consent.MT{Account: acme, From: tfAcme, To: subscriber}, consent.ReasonNone},
	}
	batch := make([]consent.MT, 0, len(mts))
	for _, tc := range mts {
		d := e.CheckMT(context.Background(), tc.mt)
		if !d.Allowed || !d.Shadow || d.Reason != tc.want {
			t.Errorf("shadow CheckMT(%+v) = %+v, want allowed in shadow mode with reason %q", tc.mt, d, tc.want)
		}
		batch = append(batch, tc.mt)
	}
	for i, d := range e.CheckMTBatch(context.Background(), batch) {
		if !d.Allowed || !d.Shadow || d.Reason != mts[i].want {
			t.Errorf("shadow CheckMTBatch[%d] = %+v, want allowed with reason %q", i, d, mts[i].want)
		}
	}

	st := e.Stats()
	if len(st.Blocked) != 0 {
		t.Errorf("shadow mode counted blocks: %v", st.Blocked)
	}
	for _, tc := range mts[:len(mts)-1] {
		if st.ShadowAllowed[tc.want] != 2 {
			t.Errorf("shadow count for %q = %d, want 2", tc.want, st.ShadowAllowed[tc.want])
		}
	}
	if st.Allowed != 2 {
		t.Errorf("allowed count = %d, want 2", st.Allowed)
	}
	// Shadow mode never changes consent: the records are as before.
	if d := f.check(acme, tfAcme, subscriber2); d.Allowed {
		t.Errorf("outside shadow mode the opted-out number is allowed: %+v", d)
	}
}
