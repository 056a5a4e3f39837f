package gateway

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// windowTarget is a WindowDeliverer whose responses wait until the test
// opens its gate. It records the order of sends, the items in flight and
// the items it accepted.
type windowTarget struct {
	window int
	gate   chan struct{}

	mu          sync.Mutex
	sent        []uint64
	resends     []bool // PossibleResend of each send
	accepted    []uint64
	inFlight    int
	maxInFlight int
	// fail holds the errors to return for a seq, one per attempt.
	fail map[uint64][]error
	// held seqs wait for release instead of gate.
	held    map[uint64]bool
	release chan struct{}
}

func newWindowTarget(window int) *windowTarget {
	return &windowTarget{window: window, gate: make(chan struct{}), fail: map[uint64][]error{},
		held: map[uint64]bool{}, release: make(chan struct{})}
}

func (w *windowTarget) Window() int { return w.window }

func (w *windowTarget) Deliver(ctx context.Context, it Item) error {
	wait, err := w.Send(ctx, it)
	if err != nil {
		return err
	}
	return wait()
}

func (w *windowTarget) Send(ctx context.Context, it Item) (func() error, error) {
	w.mu.Lock()
	w.sent = append(w.sent, it.Seq)
	w.resends = append(w.resends, it.PossibleResend)
	w.inFlight++
	w.maxInFlight = max(w.maxInFlight, w.inFlight)
	gate := w.gate
	if w.held[it.Seq] {
		gate = w.release
	}
	w.mu.Unlock()
	return func() error {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.inFlight--
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errs := w.fail[it.Seq]; len(errs) > 0 {
			w.fail[it.Seq] = errs[1:]
			return errs[0]
		}
		w.accepted = append(w.accepted, it.Seq)
		return nil
	}, nil
}

func (w *windowTarget) resent() []bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.resends)
}

func (w *windowTarget) sentCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.sent)
}

// ackRecorder is a Queue that records the seqs of each Ack call.
type ackRecorder struct {
	Queue
	mu   sync.Mutex
	acks [][]uint64
}

func (a *ackRecorder) Ack(ctx context.Context, queue string, seqs ...uint64) error {
	a.mu.Lock()
	a.acks = append(a.acks, slices.Clone(seqs))
	a.mu.Unlock()
	return a.Queue.Ack(ctx, queue, seqs...)
}

func (a *ackRecorder) calls() [][]uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.acks)
}

// startWindowDispatcher enqueues n items for acme and starts a dispatcher
// that delivers them to target.
func startWindowDispatcher(t *testing.T, target *windowTarget, n int) (*BoltStore, *ackRecorder, *Dispatcher) {
	t.Helper()
	store := openTestStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	queue := &ackRecorder{Queue: store}
	ctx := context.Background()
	if _, err := store.Enqueue(ctx, mixedItems(n)); err != nil {
		t.Fatal(err)
	}
	d := newTestDispatcher(t, queue, target)
	if err := d.Start(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	return store, queue, d
}

func waitSent(t *testing.T, target *windowTarget, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for target.sentCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d items sent, want %d", target.sentCount(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func seqs(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func TestDispatcherWindowSendsInOrder(t *testing.T) {
	target := newWindowTarget(4)
	store, queue, _ := startWindowDispatcher(t, target, 10)

	// Four items go out before any response arrives.
	waitSent(t, target, 4)
	close(target.gate)
	waitEmpty(t, store, "acme")

	target.mu.Lock()
	defer target.mu.Unlock()
	if want := seqs(1, 10); !slices.Equal(target.sent, want) {
		t.Errorf("sent %v, want %v", target.sent, want)
	}
	if target.maxInFlight != 4 {
		t.Errorf("at most %d items in flight, want the window of 4", target.maxInFlight)
	}
	calls := queue.calls()
	// Responses that arrive while an Ack runs share the next one.
	if len(calls) > 10 {
		t.Errorf("ack calls %v, want at most one per item", calls)
	}
	if acked := slices.Sorted(slices.Values(slices.Concat(calls...))); !slices.Equal(acked, seqs(1, 10)) {
		t.Errorf("acked %v, want each of 1..10 once", acked)
	}
}

func TestDispatcherWindowFailureMidWindow(t *testing.T) {
	target := newWindowTarget(6)
	target.fail[3] = []error{errors.New("deliver_sm_resp ESME_RSYSERR")}
	target.fail[5] = []error{Permanent(errors.New("deliver_sm_resp ESME_RX_P_APPN"))}
	store, queue, _ := startWindowDispatcher(t, target, 6)

	waitSent(t, target, 6)
	close(target.gate)
	waitEmpty(t, store, "acme")

	target.mu.Lock()
	sent, accepted := slices.Clone(target.sent), slices.Clone(target.accepted)
	target.mu.Unlock()
	// Item 3 failed once and is sent again after the window; item 5 is
	// never retried.
	if want := []uint64{1, 2, 3, 4, 5, 6, 3}; !slices.Equal(sent, want) {
		t.Errorf("sent %v, want %v", sent, want)
	}
	if got := slices.Sorted(slices.Values(accepted)); !slices.Equal(got, []uint64{1, 2, 3, 4, 6}) {
		t.Errorf("accepted %v, want 1, 2, 3, 4 and 6 once each", got)
	}
	calls := queue.calls()
	if len(calls) < 2 {
		t.Fatalf("ack calls %v, want the window's then the retry's", calls)
	}
	last := len(calls) - 1
	window := slices.Sorted(slices.Values(slices.Concat(calls[:last]...)))
	if want := []uint64{1, 2, 4, 6}; !slices.Equal(window, want) {
		t.Errorf("window acks %v, want %v once each", calls[:last], want)
	}
	if want := []uint64{3}; !slices.Equal(calls[last], want) {
		t.Errorf("last ack %v, want the retry's %v", calls[last], want)
	}
	dead, _, err := store.DeadLetters(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(dead) != 1 || dead[0].Seq != 5 {
		t.Errorf("dead letters %v, want item 5", dead)
	}
}

func TestDispatcherWindowStopKeepsItems(t *testing.T) {
	target := newWindowTarget(3)
	store, queue, d := startWindowDispatcher(t, target, 5)

	waitSent(t, target, 3)
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := store.Depths()["acme"]; n != 5 {
		t.Errorf("queue holds %d items after a stop with no responses, want all 5", n)
	}
	if calls := queue.calls(); len(calls) != 0 {
		t.Errorf("ack calls %v, want none", calls)
	}
	if n := target.sentCount(); n != 3 {
		t.Errorf("%d items sent, want the window of 3", n)
	}
}

func TestDispatcherWindowAcksEachResponse(t *testing.T) {
	target := newWindowTarget(4)
	target.held[1] = true
	store, queue, _ := startWindowDispatcher(t, target, 4)

	// Items 2 to 4 are answered while item 1 is not.
	waitSent(t, target, 4)
	close(target.gate)
	deadline := time.Now().Add(5 * time.Second)
	for store.Depths()["acme"] != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("queue holds %d items while only item 1 waits for its response, want 1",
				store.Depths()["acme"])
		}
		time.Sleep(time.Millisecond)
	}
	acked := slices.Sorted(slices.Values(slices.Concat(queue.calls()...)))
	if want := []uint64{2, 3, 4}; !slices.Equal(acked, want) {
		t.Errorf("acked %v before item 1's response, want %v", acked, want)
	}

	close(target.release)
	waitEmpty(t, store, "acme")
	if n := target.sentCount(); n != 4 {
		t.Errorf("%d items sent, want 4", n)
	}
}

func TestDispatcherMarksResentItems(t *testing.T) {
	target := newWindowTarget(3)
	target.fail[2] = []error{errors.New("deliver_sm_resp ESME_RSYSERR")}
	close(target.gate)
	store, _, first := startWindowDispatcher(t, target, 3)
	waitEmpty(t, store, "acme")
	if err := first.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	rec := &recordingTarget{done: make(chan struct{}), want: 2}
	rec.bound.Store(true)
	queue := &failingAck{Queue: store, fail: 1}
	if _, err := store.Enqueue(context.Background(), mixedItems(2)); err != nil {
		t.Fatal(err)
	}
	d := newTestDispatcher(t, queue, rec)
	if err := d.Start(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Stop(context.Background()) })
	waitEmpty(t, store, "acme")

	target.mu.Lock()
	sent := slices.Clone(target.sent)
	target.mu.Unlock()
	if want := []uint64{1, 2, 3, 2}; !slices.Equal(sent, want) {
		t.Fatalf("window sent %v, want %v", sent, want)
	}
	if got := target.resent(); !slices.Equal(got, []bool{false, false, false, true}) {
		t.Errorf("window PossibleResend by send %v, want only the second send of item 2", got)
	}
	// The first Ack of item 4 fails, so it goes out again, marked.
	var marks []string
	for _, it := range rec.items() {
		marks = append(marks, fmt.Sprintf("%d:%v", it.Seq, it.PossibleResend))
	}
	if want := []string{"4:false", "4:true", "5:false"}; !slices.Equal(marks, want) {
		t.Errorf("single deliveries %v, want %v", marks, want)
	}
}

// failingAck is a Queue whose first fail Acks fail without removing
// anything.
type failingAck struct {
	Queue
	mu   sync.Mutex
	fail int
}

func (f *failingAck) Ack(ctx context.Context, queue string, seqs ...uint64) error {
	f.mu.Lock()
	fail := f.fail > 0
	f.fail--
	f.mu.Unlock()
	if fail {
		return errors.New("ack: store timed out")
	}
	return f.Queue.Ack(ctx, queue, seqs...)
}
