package gateway

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// failingEnqueueStore fails Enqueue while fail is set, as a queue write
// lost to a crash would.
type failingEnqueueStore struct {
	Store
	fail atomic.Bool
}

func (s *failingEnqueueStore) Enqueue(ctx context.Context, items []Item, finished ...smpp.PartKey) ([]Item, error) {
	if s.fail.Load() {
		return nil, errDiskGone
	}
	return s.Store.Enqueue(ctx, items, finished...)
}

// replyQueuedFailingStore fails every EventReplyQueued and applies the
// other events.
type replyQueuedFailingStore struct {
	consent.Store
}

func (s replyQueuedFailingStore) Apply(ctx context.Context, ev consent.Event) (consent.Applied, error) {
	if ev.Kind == consent.EventReplyQueued {
		return consent.Applied{}, errDiskGone
	}
	return s.Store.Apply(ctx, ev)
}

// newMOService returns an MO service on the fixture's registry, router and
// receipts with another queue store and engine.
func (f *coreFixture) newMOService(store Store, engine *consent.Engine) *MOService {
	f.t.Helper()
	s, err := NewMOService(MOConfig{Registry: f.registry, Router: f.router, Engine: engine, Store: store,
		Receipts: f.receipts, Notify: f.notify, Metrics: f.metrics, Now: f.clock})
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// countUnsubscribed returns how many of the PDUs are opt-out confirmations.
func countUnsubscribed(pdus []*smpp.SubmitSM) int {
	n := 0
	for _, p := range pdus {
		if strings.Contains(string(p.ShortMessage), "unsubscribed") {
			n++
		}
	}
	return n
}

func TestHandleDeliverRedeliveredStopConfirmsOnce(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)

	// The first delivery reaches the consent store, then optgate stops
	// before the queue write and the deliver_sm_resp.
	crashed, err := f.engine.HandleMO(f.ctx, consent.MO{From: subscriber, To: tfReady, Text: "STOP",
		MessageIDs: []string{"lost-mo"}, Source: consent.SourceSMPP})
	if err != nil {
		t.Fatal(err)
	}
	if crashed.Effect.Outcome != consent.OutcomeOptedOut || len(crashed.Replies) != 1 {
		t.Fatalf("first STOP: effect %+v, %d replies, want opted_out with a confirmation", crashed.Effect, len(crashed.Replies))
	}

	// The carrier redelivers after optgate is back.
	f.advance(time.Minute)
	f.sendMO(subscriber, "STOP")
	items := f.queue("acme")
	if len(items) != 1 || items[0].MO.Keyword != "opt_out" || items[0].MO.Outcome != "none" {
		t.Fatalf("account queue = %+v, want the redelivered STOP with outcome none", items)
	}
	replies := f.flushReplies()
	if len(replies) != 1 || countUnsubscribed(replies) != 1 {
		t.Fatalf("carrier got %d replies (%d confirmations), want exactly 1 confirmation", len(replies), countUnsubscribed(replies))
	}

	// A third STOP, later still, gets nothing.
	f.advance(time.Minute)
	f.sendMO(subscriber, "STOP")
	if replies := f.flushReplies(); len(replies) != 0 {
		t.Errorf("third STOP: carrier got %d replies, want none", len(replies))
	}

	h, err := f.consent.History(f.ctx, "acme", subscriber)
	if err != nil {
		t.Fatal(err)
	}
	var marks []consent.AuditEntry
	for _, e := range h {
		if e.Event == consent.EventReplyQueued {
			marks = append(marks, e)
		}
	}
	if len(marks) != 1 {
		t.Fatalf("%d reply_queued audit entries, want 1", len(marks))
	}
	if ids := marks[0].MessageIDs; len(ids) != 1 || ids[0] != items[0].MO.ID {
		t.Errorf("reply_queued message ids = %v, want the redelivered MO's id %s", ids, items[0].MO.ID)
	}
	rec, err := f.consent.Get(f.ctx, "acme", subscriber)
	if err != nil {
		t.Fatal(err)
	}
	if rec.State != consent.StateOptedOut || rec.PendingReply != consent.ReplyNone {
		t.Errorf("record state %s, pending reply %s, want opted_out with none pending", rec.State, rec.PendingReply)
	}
}

func TestHandleDeliverStopAfterQueueFailure(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	store := &failingEnqueueStore{Store: f.store}
	mo := f.newMOService(store, f.engine)

	store.fail.Store(true)
	pdu := moPDU(subscriber, tfReady, smpp.CodingDefault, []byte("STOP"))
	if st := mo.HandleDeliver(f.ctx, "sim", pdu); st != smpp.StatusTempAppError {
		t.Fatalf("STOP with the queue failing: status %v, want ESME_RX_T_APPN", st)
	}
	if n := len(f.queue(ReplyQueue)); n != 0 {
		t.Fatalf("%d replies queued by the failed delivery, want 0", n)
	}

	store.fail.Store(false)
	f.advance(time.Minute)
	if st := mo.HandleDeliver(f.ctx, "sim", pdu); st != smpp.StatusOK {
		t.Fatalf("redelivered STOP: status %v, want ESME_ROK", st)
	}
	if n := countUnsubscribed(f.flushReplies()); n != 1 {
		t.Errorf("redelivered STOP: %d confirmations, want 1", n)
	}
	f.advance(time.Minute)
	if st := mo.HandleDeliver(f.ctx, "sim", pdu); st != smpp.StatusOK {
		t.Fatalf("third STOP: status %v, want ESME_ROK", st)
	}
	if n := len(f.flushReplies()); n != 0 {
		t.Errorf("third STOP: %d replies, want none", n)
	}
}

func TestHandleDeliverReplyQueuedFailureNotFatal(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	engine, err := consent.NewEngine(replyQueuedFailingStore{Store: f.consent}, f.registry, consent.Options{Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	mo := f.newMOService(f.store, engine)

	pdu := moPDU(subscriber, tfReady, smpp.CodingDefault, []byte("STOP"))
	if st := mo.HandleDeliver(f.ctx, "sim", pdu); st != smpp.StatusOK {
		t.Fatalf("STOP: status %v, want ESME_ROK although the reply mark failed", st)
	}
	if n := countUnsubscribed(f.flushReplies()); n != 1 {
		t.Errorf("STOP: %d confirmations, want 1", n)
	}
	if n := engine.Stats().StoreErrors; n != 1 {
		t.Errorf("store errors counted = %d, want 1 for the failed mark", n)
	}
	rec, err := f.consent.Get(f.ctx, "acme", subscriber)
	if err != nil {
		t.Fatal(err)
	}
	if rec.PendingReply != consent.ReplyOptOut {
		t.Errorf("pending reply = %s, want opt_out: the mark failed", rec.PendingReply)
	}

	// The cost of the failed mark: a later redelivery confirms once more.
	f.advance(time.Minute)
	if st := mo.HandleDeliver(f.ctx, "sim", pdu); st != smpp.StatusOK {
		t.Fatalf("second STOP: status %v", st)
	}
	if n := countUnsubscribed(f.flushReplies()); n != 1 {
		t.Errorf("second STOP after a failed mark: %d confirmations, want 1", n)
	}
}
