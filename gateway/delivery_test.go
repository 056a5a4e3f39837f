package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// recordingTarget is a Deliverer that records what it accepts and fails
// on demand.
type recordingTarget struct {
	mu        sync.Mutex
	got       []Item
	attempts  int
	bound     atomic.Bool
	failFirst int   // fail this many attempts with a temporary error
	permanent int64 // fail the item with this Seq permanently
	done      chan struct{}
	want      int
}

func (r *recordingTarget) Deliver(ctx context.Context, it Item) error {
	if !r.bound.Load() {
		return ErrTargetUnavailable
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.attempts <= r.failFirst {
		return errors.New("webhook answered 503")
	}
	if int64(it.Seq) == r.permanent {
		return Permanent(errors.New("webhook answered 410"))
	}
	r.got = append(r.got, it)
	if len(r.got) == r.want {
		close(r.done)
	}
	return nil
}

func (r *recordingTarget) items() []Item {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Item(nil), r.got...)
}

func openTestStore(t *testing.T, path string) *BoltStore {
	t.Helper()
	s, err := OpenBoltStore(path, BoltStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// mixedItems returns n items for queue acme, MO and receipts interleaved.
func mixedItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		items[i] = Item{Queue: "acme", Kind: KindMO, Enqueued: time.Unix(int64(1000+i), 0).UTC(),
			MO: &MOItem{ID: fmt.Sprintf("mo-%d", i), Text: fmt.Sprintf("text %d", i)}}
		if i%2 == 1 {
			items[i] = Item{Queue: "acme", Kind: KindReceipt, Enqueued: items[i].Enqueued,
				Receipt: &ReceiptItem{MessageID: fmt.Sprintf("msg-%d", i)}}
		}
	}
	return items
}

func newTestDispatcher(t *testing.T, q Queue, target Deliverer) *Dispatcher {
	t.Helper()
	d, err := NewDispatcher(DispatcherConfig{
		Queue: q, Targets: TargetFunc(func(string) (Deliverer, bool) { return target, true }),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func waitDone(t *testing.T, done chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("items not delivered within 10s")
	}
}

func TestDispatcherDeliversInOrderAfterBind(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	store := openTestStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	ctx := context.Background()
	if _, err := store.Enqueue(ctx, mixedItems(6)); err != nil {
		t.Fatal(err)
	}
	target := &recordingTarget{done: make(chan struct{}), want: 6}
	d := newTestDispatcher(t, store, target)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}

	// The business binds a second later. MaxBackoff is 20s, so only
	// TargetReady can make the items flow within the wait below.
	time.Sleep(time.Second)
	if n := len(target.items()); n != 0 {
		t.Fatalf("%d items delivered before the bind", n)
	}
	target.bound.Store(true)
	d.TargetReady("acme")
	waitDone(t, target.done)

	got := target.items()
	for i, it := range got {
		if it.Seq != uint64(i+1) {
			t.Errorf("delivery %d has seq %d, want %d", i, it.Seq, i+1)
		}
	}
	if got[0].MO == nil || got[1].Receipt == nil {
		t.Errorf("kinds out of order: %v, %v", got[0].Kind, got[1].Kind)
	}
	waitEmpty(t, store, "acme")
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func waitEmpty(t *testing.T, q Queue, queue string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for q.Depths()[queue] != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue %s still holds %d items", queue, q.Depths()[queue])
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDispatcherRetriesInOrder(t *testing.T) {
	store := openTestStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	ctx := context.Background()
	target := &recordingTarget{done: make(chan struct{}), want: 3, failFirst: 3}
	target.bound.Store(true)
	d := newTestDispatcher(t, store, target)
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(ctx)
	if _, err := store.Enqueue(ctx, mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	d.Notify("acme")
	waitDone(t, target.done)
	got := target.items()
	for i, it := range got {
		if it.Seq != uint64(i+1) {
			t.Errorf("delivery %d has seq %d", i, it.Seq)
		}
	}
	target.mu.Lock()
	attempts := target.attempts
	target.mu.Unlock()
	if attempts != 6 {
		t.Errorf("attempts = %d, want 3 failures and 3 deliveries", attempts)
	}
}

func TestDispatcherDeadLettersPermanentFailure(t *testing.T) {
	store := openTestStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	ctx := context.Background()
	target := &recordingTarget{done: make(chan struct{}), want: 2, permanent: 2}
	target.bound.Store(true)
	d := newTestDispatcher(t, store, target)
	if _, err := store.Enqueue(ctx, mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Stop(ctx)
	waitDone(t, target.done)
	waitEmpty(t, store, "acme")
	got := target.items()
	if got[0].Seq != 1 || got[1].Seq != 3 {
		t.Errorf("delivered seqs %d, %d; want 1 and 3", got[0].Seq, got[1].Seq)
	}
	dead, reasons, err := store.DeadLetters(ctx, "acme")
	if err != nil || len(dead) != 1 || dead[0].Seq != 2 {
		t.Fatalf("dead letters = %+v, %v", dead, err)
	}
	if reasons[0] == "" {
		t.Errorf("dead letter has no reason")
	}
}

func TestDispatcherStopsWithoutLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	store := openTestStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	target := &recordingTarget{}
	d := newTestDispatcher(t, store, target)
	ctx := context.Background()
	if err := d.Start(ctx, "acme", "other", ReplyQueue); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Enqueue(ctx, mixedItems(2)); err != nil {
		t.Fatal(err)
	}
	d.Notify("acme") // the target is unbound, so the worker waits
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if n := store.Depths()["acme"]; n != 2 {
		t.Errorf("depth after stop = %d, want 2 undelivered items kept", n)
	}
}

func TestReplyDelivererClassifiesErrors(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	d := ReplyDeliverer(f.mt)
	reply := Item{Queue: ReplyQueue, Kind: KindReply,
		Reply: &ReplyItem{Account: "acme", From: tfReady, To: subscriber, Text: "confirmation"}}
	f.link.fail = func(int) error { return ErrLinkUnavailable }
	if err := d.Deliver(f.ctx, reply); err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("unavailable carrier: %v, want a temporary error", err)
	}
	stolen := reply
	stolen.Reply = &ReplyItem{Account: "acme", From: tfOther, To: subscriber, Text: "x"}
	if err := d.Deliver(f.ctx, stolen); !errors.Is(err, ErrPermanent) {
		t.Errorf("sender of another account: %v, want permanent", err)
	}
	f.link.fail = nil
	if err := d.Deliver(f.ctx, reply); err != nil {
		t.Errorf("deliver reply: %v", err)
	}
}

func TestQueueDepthMetric(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	if _, err := f.store.Enqueue(f.ctx, mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	families, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, fam := range families {
		if fam.GetName() != "optgate_gateway_queue_items" {
			continue
		}
		for _, m := range fam.GetMetric() {
			if m.GetLabel()[0].GetValue() == "acme" && m.GetGauge().GetValue() == 3 {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("optgate_gateway_queue_items{queue=\"acme\"} 3 not exported")
	}
}
