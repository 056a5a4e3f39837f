// Package gwstoretest is the behaviour suite every gateway.Store must
// pass: the id map with unmatched receipts, the partial MO texts, the
// delivery queues with their dead letters, expiry through Sweep, and the
// closed state. Each store implementation runs it from its own tests:
//
//	gwstoretest.Run(t, func(t *testing.T) gwstoretest.Opener { ... })
package gwstoretest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// Opener opens one store state. Its first call finds the state empty.
// Each later call opens the same state again, as a restart would, and
// finds what the earlier stores wrote. A test closes a store before it
// opens the state again, and Run closes every store at the end of its
// test.
type Opener func() gateway.Store

// Factory returns an Opener for a new, empty state of its own, so that
// tests do not see each other's entries.
type Factory func(t testing.TB) Opener

// DeadLetterReader is the interface through which the suite reads dead
// letters. Stores that do not implement it skip those checks.
type DeadLetterReader interface {
	DeadLetters(ctx context.Context, queue string) ([]gateway.Item, []string, error)
}

// Run runs the whole suite as subtests.
func Run(t *testing.T, factory Factory) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"EnqueuePeekAck", testEnqueuePeekAck},
		{"AckMany", testAckMany},
		{"EnqueueSeqPerQueue", testEnqueueSeqPerQueue},
		{"EnqueueRejectsItemWithoutQueue", testEnqueueRejectsItemWithoutQueue},
		{"QueuePersistsAcrossReopen", testQueuePersistsAcrossReopen},
		{"DeadLetter", testDeadLetter},
		{"QueueRetentionLimits", testQueueRetentionLimits},
		{"PutMessageAndRead", testPutMessageAndRead},
		{"PutMessageRejectsMissingFields", testPutMessageRejectsMissingFields},
		{"ApplyReceiptMatchesAnyKey", testApplyReceiptMatchesAnyKey},
		{"ReceiptBeforeMapping", testReceiptBeforeMapping},
		{"ReceiptBeforeMappingWithoutMatch", testReceiptBeforeMappingWithoutMatch},
		{"StaleKeptReceiptSkipped", testStaleKeptReceiptSkipped},
		{"UnmatchedReceiptExpires", testUnmatchedReceiptExpires},
		{"IDMapExpires", testIDMapExpires},
		{"ExpiryMovesWithRewrite", testExpiryMovesWithRewrite},
		{"SettledRecordDeletedAfterGrace", testSettledRecordDeletedAfterGrace},
		{"UnsettledRecordKeptUntilTTL", testUnsettledRecordKeptUntilTTL},
		{"ConcurrentReceiptsOneRecord", testConcurrentReceiptsOneRecord},
		{"PartsComplete", testPartsComplete},
		{"PartsRejectInvalidSegment", testPartsRejectInvalidSegment},
		{"EnqueueDeletesFinishedParts", testEnqueueDeletesFinishedParts},
		{"PartsExpire", testPartsExpire},
		{"ClosedStore", testClosedStore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, tracked(t, factory(t)))
		})
	}
}

// tracked wraps open so that every store it opens is closed at the end
// of the test.
func tracked(t testing.TB, open Opener) Opener {
	return func() gateway.Store {
		s := open()
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
}

// mixedItems returns n items for queue acme, MO texts and receipts
// interleaved, enqueued one second apart from Unix time 1000.
func mixedItems(n int) []gateway.Item {
	items := make([]gateway.Item, n)
	for i := range items {
		enqueued := time.Unix(int64(1000+i), 0).UTC()
		items[i] = gateway.Item{Queue: "acme", Kind: gateway.KindMO, Enqueued: enqueued,
			MO: &gateway.MOItem{ID: fmt.Sprintf("mo-%d", i), Text: fmt.Sprintf("text %d", i),
				From: "+12015550101", To: "+18005550100", Segments: 1}}
		if i%2 == 1 {
			items[i] = gateway.Item{Queue: "acme", Kind: gateway.KindReceipt, Enqueued: enqueued,
				Receipt: &gateway.ReceiptItem{MessageID: fmt.Sprintf("msg-%d", i), State: smpp.StateDelivered,
					Stat: "DELIVRD", Segments: 1}}
		}
	}
	return items
}

func seqs(items []gateway.Item) []uint64 {
	out := make([]uint64, len(items))
	for i, it := range items {
		out[i] = it.Seq
	}
	return out
}

func mustEnqueue(t *testing.T, s gateway.Store, items []gateway.Item, finished ...smpp.PartKey) []gateway.Item {
	t.Helper()
	out, err := s.Enqueue(context.Background(), items, finished...)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	return out
}

func mustPeek(t *testing.T, s gateway.Store, queue string, n int) []gateway.Item {
	t.Helper()
	items, err := s.Peek(context.Background(), queue, n)
	if err != nil {
		t.Fatalf("Peek %s: %v", queue, err)
	}
	return items
}

func testEnqueuePeekAck(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	in := mixedItems(4)
	out := mustEnqueue(t, s, in)
	if got, want := seqs(out), []uint64{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Fatalf("Enqueue seqs = %v, want %v", got, want)
	}
	if in[0].Seq != 0 {
		t.Errorf("Enqueue changed the caller's slice: seq %d", in[0].Seq)
	}

	items := mustPeek(t, s, "acme", 3)
	if got, want := seqs(items), []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Fatalf("Peek seqs = %v, want %v", got, want)
	}
	if items[0].MO == nil || items[0].MO.ID != "mo-0" || items[0].MO.From != "+12015550101" {
		t.Errorf("first item = %+v, want MO mo-0 from +12015550101", items[0].MO)
	}
	if items[1].Receipt == nil || items[1].Receipt.MessageID != "msg-1" || items[1].Receipt.Stat != "DELIVRD" {
		t.Errorf("second item = %+v, want receipt msg-1 DELIVRD", items[1].Receipt)
	}
	if !items[0].Enqueued.Equal(in[0].Enqueued) {
		t.Errorf("Enqueued = %v, want %v", items[0].Enqueued, in[0].Enqueued)
	}
	if items[0].Queue != "acme" || items[0].Kind != gateway.KindMO {
		t.Errorf("queue and kind = %q %v, want acme mo", items[0].Queue, items[0].Kind)
	}
	if d := s.Depths()["acme"]; d != 4 {
		t.Errorf("depth = %d, want 4", d)
	}

	if err := s.Ack(ctx, "acme", 1); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if err := s.Ack(ctx, "acme", 1); err != nil {
		t.Errorf("second Ack of the same item: %v, want nil", err)
	}
	if err := s.Ack(ctx, "nobody", 7); err != nil {
		t.Errorf("Ack on an unknown queue: %v, want nil", err)
	}
	if got, want := seqs(mustPeek(t, s, "acme", 10)), []uint64{2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("Peek after Ack = %v, want %v", got, want)
	}
	if d := s.Depths()["acme"]; d != 3 {
		t.Errorf("depth after Ack = %d, want 3", d)
	}
	if items := mustPeek(t, s, "empty", 10); len(items) != 0 {
		t.Errorf("Peek of an unknown queue = %d items, want none", len(items))
	}
}

func testEnqueueSeqPerQueue(t *testing.T, open Opener) {
	s := open()
	items := []gateway.Item{
		{Queue: "acme", Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "a1"}},
		{Queue: gateway.ReplyQueue, Kind: gateway.KindReply, Reply: &gateway.ReplyItem{Account: "acme", MOID: "a1"}},
		{Queue: "acme", Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "a2"}},
		{Queue: "globex", Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "g1"}},
	}
	out := mustEnqueue(t, s, items)
	if got, want := seqs(out), []uint64{1, 1, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("seqs = %v, want %v (one sequence per queue)", got, want)
	}
	depths := s.Depths()
	want := map[string]int{"acme": 2, gateway.ReplyQueue: 1, "globex": 1}
	for q, n := range want {
		if depths[q] != n {
			t.Errorf("depth of %s = %d, want %d", q, depths[q], n)
		}
	}
	replies := mustPeek(t, s, gateway.ReplyQueue, 5)
	if len(replies) != 1 || replies[0].Reply == nil || replies[0].Reply.MOID != "a1" {
		t.Errorf("reply queue = %+v, want the reply to a1", replies)
	}
}

func testEnqueueRejectsItemWithoutQueue(t *testing.T, open Opener) {
	s := open()
	_, err := s.Enqueue(context.Background(), []gateway.Item{
		{Queue: "acme", Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "a1"}},
		{Kind: gateway.KindMO, MO: &gateway.MOItem{ID: "lost"}},
	})
	if err == nil {
		t.Fatal("Enqueue of an item without a queue succeeded")
	}
	if items := mustPeek(t, s, "acme", 5); len(items) != 0 {
		t.Errorf("a failed Enqueue left %d items queued, want none", len(items))
	}
}

func testQueuePersistsAcrossReopen(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open()
	mustEnqueue(t, s, mixedItems(4))
	if err := s.Ack(ctx, "acme", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v, want nil", err)
	}

	s = open()
	if got := s.Depths(); got["acme"] != 3 {
		t.Errorf("depths after reopen = %v, want acme 3", got)
	}
	items := mustPeek(t, s, "acme", 10)
	if len(items) != 3 || items[0].Seq != 2 || items[0].Receipt == nil || items[0].Receipt.MessageID != "msg-1" {
		t.Fatalf("items after reopen = %+v, want seqs 2-4 starting with receipt msg-1", items)
	}
	more := mustEnqueue(t, s, mixedItems(1))
	if more[0].Seq != 5 {
		t.Errorf("seq after reopen = %d, want 5", more[0].Seq)
	}
}

func testDeadLetter(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	mustEnqueue(t, s, mixedItems(3))
	if err := s.DeadLetter(ctx, "acme", 2, "webhook answered 410"); err != nil {
		t.Fatalf("DeadLetter: %v", err)
	}
	if err := s.DeadLetter(ctx, "acme", 2, "again"); err != nil {
		t.Errorf("DeadLetter of an item already moved: %v, want nil", err)
	}
	if got, want := seqs(mustPeek(t, s, "acme", 10)), []uint64{1, 3}; !slices.Equal(got, want) {
		t.Errorf("Peek after DeadLetter = %v, want %v", got, want)
	}
	if d := s.Depths()["acme"]; d != 2 {
		t.Errorf("depth after DeadLetter = %d, want 2", d)
	}
	dl, ok := s.(DeadLetterReader)
	if !ok {
		return
	}
	dead, reasons, err := dl.DeadLetters(ctx, "acme")
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(dead) != 1 {
		t.Fatalf("dead letters = %d, want 1", len(dead))
	}
	if dead[0].Seq != 2 || dead[0].Receipt == nil || dead[0].Receipt.MessageID != "msg-1" {
		t.Errorf("dead letter = %+v, want seq 2, receipt msg-1", dead[0])
	}
	if reasons[0] != "webhook answered 410" {
		t.Errorf("reason = %q, want %q", reasons[0], "webhook answered 410")
	}
}

func testQueueRetentionLimits(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	mustEnqueue(t, s, mixedItems(5))
	now := time.Unix(5000, 0)
	res, err := s.Sweep(ctx, gateway.SweepLimits{Now: now, MaxItems: 3})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped["acme"] != 2 {
		t.Errorf("length limit dropped %v, want acme 2", res.Dropped)
	}
	if d := s.Depths()["acme"]; d != 3 {
		t.Errorf("depth after the length limit = %d, want 3", d)
	}
	if items := mustPeek(t, s, "acme", 10); len(items) == 0 || items[0].Seq != 3 {
		t.Errorf("oldest kept item = %v, want seq 3", seqs(items))
	}

	res, err = s.Sweep(ctx, gateway.SweepLimits{Now: now, ItemsBefore: time.Unix(1003, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dropped["acme"] != 1 {
		t.Errorf("age limit dropped %v, want acme 1", res.Dropped)
	}
	if d := s.Depths()["acme"]; d != 2 {
		t.Errorf("depth after the age limit = %d, want 2", d)
	}
	dl, ok := s.(DeadLetterReader)
	if !ok {
		return
	}
	dead, reasons, _ := dl.DeadLetters(ctx, "acme")
	if got, want := seqs(dead), []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("dead letters = %v, want %v", got, want)
	}
	if len(reasons) == 3 && (reasons[0] != "queue held more than 3 items" ||
		reasons[2] != "not delivered before the retention limit") {
		t.Errorf("reasons = %q", reasons)
	}
	if _, err := s.Sweep(ctx, gateway.SweepLimits{Now: now, DeadBefore: now.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if dead, _, _ := dl.DeadLetters(ctx, "acme"); len(dead) != 0 {
		t.Errorf("dead letters after their retention = %d, want 0", len(dead))
	}
}

// record returns a two-segment message of carrier sim whose carrier ids
// are X1 and X2, each with an upper- and a lowercase lookup key.
func record(id string, expires time.Time) gateway.MessageRecord {
	return gateway.MessageRecord{
		ID: id, Account: "acme", Carrier: "sim", From: "+18005550100", To: "+12015550101",
		RegisteredDelivery: 1, ClientRef: "42", Total: 2, Submitted: time.Unix(1000, 0).UTC(), Expires: expires,
		Segments: []gateway.SegmentRecord{
			{CarrierID: "X1", Keys: []string{"X1", "x1"}},
			{CarrierID: "X2", Keys: []string{"X2", "x2"}},
		},
	}
}

func receipt(id string, state smpp.MessageState) gateway.CarrierReceipt {
	return gateway.CarrierReceipt{Carrier: "sim", ID: id, State: state, Stat: state.String(),
		Err: "000", Received: time.Unix(1100, 0).UTC()}
}

// markReceipt records the receipt's state on its segment and queues one
// receipt item for the business, as the receipt service does.
func markReceipt(rec *gateway.MessageRecord, segment int, r gateway.CarrierReceipt) []gateway.Item {
	rec.Segments[segment].State = r.State
	rc := r
	rec.Segments[segment].Receipt = &rc
	return []gateway.Item{{Queue: rec.Account, Kind: gateway.KindReceipt, Enqueued: r.Received,
		Receipt: &gateway.ReceiptItem{MessageID: rec.ID, State: r.State, Stat: r.Stat,
			Segment: segment + 1, Segments: rec.Total, ClientRef: rec.ClientRef}}}
}

func testPutMessageAndRead(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	rec := record("m1", time.Unix(9000, 0).UTC())
	items, n, err := s.PutMessage(ctx, rec, markReceipt)
	if err != nil {
		t.Fatalf("PutMessage: %v", err)
	}
	if len(items) != 0 || n != 0 {
		t.Errorf("PutMessage without kept receipts returned %d items, %d receipts", len(items), n)
	}
	got, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatalf("Message: %v", err)
	}
	if got.Carrier != "sim" || got.To != "+12015550101" || got.ClientRef != "42" || len(got.Segments) != 2 ||
		got.Segments[1].Keys[1] != "x2" || !got.Expires.Equal(rec.Expires) {
		t.Errorf("Message = %+v, want %+v", got, rec)
	}
	if _, err := s.Message(ctx, "m2"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Message of an unknown id: %v, want ErrNotFound", err)
	}

	blocked := gateway.MessageRecord{ID: "b1", Account: "acme", Blocked: gateway.Code("opted_out"),
		Expires: time.Unix(9000, 0)}
	if _, _, err := s.PutMessage(ctx, blocked, nil); err != nil {
		t.Fatalf("PutMessage of a blocked record without carrier: %v", err)
	}
	if got, err := s.Message(ctx, "b1"); err != nil || got.Blocked != blocked.Blocked {
		t.Errorf("blocked record = %+v, %v", got, err)
	}
}

func testPutMessageRejectsMissingFields(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	if _, _, err := s.PutMessage(ctx, gateway.MessageRecord{Carrier: "sim"}, nil); err == nil {
		t.Error("PutMessage without id succeeded")
	}
	noCarrier := record("m1", time.Unix(9000, 0))
	noCarrier.Carrier = ""
	if _, _, err := s.PutMessage(ctx, noCarrier, nil); err == nil {
		t.Error("PutMessage of segments without carrier succeeded")
	}
	if _, err := s.ApplyReceipt(ctx, nil, receipt("X1", smpp.StateDelivered), time.Unix(9000, 0), markReceipt); err == nil {
		t.Error("ApplyReceipt without keys succeeded")
	}
	r := receipt("X1", smpp.StateDelivered)
	r.Carrier = ""
	if _, err := s.ApplyReceipt(ctx, []string{"X1"}, r, time.Unix(9000, 0), markReceipt); err == nil {
		t.Error("ApplyReceipt without carrier succeeded")
	}
}

func testApplyReceiptMatchesAnyKey(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	if _, _, err := s.PutMessage(ctx, record("m1", time.Unix(9000, 0)), nil); err != nil {
		t.Fatal(err)
	}
	keep := time.Unix(9500, 0)
	items, err := s.ApplyReceipt(ctx, []string{"nope", "x2"}, receipt("x2", smpp.StateDelivered), keep, markReceipt)
	if err != nil {
		t.Fatalf("ApplyReceipt by the second key: %v", err)
	}
	if len(items) != 1 || items[0].Seq != 1 || items[0].Receipt.MessageID != "m1" || items[0].Receipt.Segment != 2 {
		t.Fatalf("items = %+v, want one receipt for segment 2 of m1 with seq 1", items)
	}
	rec, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Segments[1].State != smpp.StateDelivered || rec.Segments[1].Receipt == nil || rec.Segments[0].State != 0 {
		t.Errorf("segments after the receipt = %+v", rec.Segments)
	}
	if q := mustPeek(t, s, "acme", 5); len(q) != 1 || q[0].Receipt == nil || q[0].Receipt.Segment != 2 {
		t.Errorf("queue = %+v, want the receipt item", q)
	}

	other := receipt("X1", smpp.StateDelivered)
	other.Carrier = "other"
	called := false
	_, err = s.ApplyReceipt(ctx, []string{"X1"}, other, keep, func(*gateway.MessageRecord, int, gateway.CarrierReceipt) []gateway.Item {
		called = true
		return nil
	})
	if !errors.Is(err, gateway.ErrNotFound) || called {
		t.Errorf("receipt from another carrier: %v (matched %v), want ErrNotFound", err, called)
	}
}

func testReceiptBeforeMapping(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	keep := time.Unix(9500, 0)
	_, err := s.ApplyReceipt(ctx, []string{"X1", "x1"}, receipt("X1", smpp.StateEnroute), keep, markReceipt)
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("early receipt: %v, want ErrNotFound", err)
	}
	_, err = s.ApplyReceipt(ctx, []string{"x1", "X1"}, receipt("x1", smpp.StateDelivered), keep, markReceipt)
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("second early receipt: %v, want ErrNotFound", err)
	}
	_, err = s.ApplyReceipt(ctx, []string{"X2"}, receipt("X2", smpp.StateUndeliverable), keep, markReceipt)
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("third early receipt: %v, want ErrNotFound", err)
	}

	items, n, err := s.PutMessage(ctx, record("m1", time.Unix(9000, 0)), markReceipt)
	if err != nil {
		t.Fatalf("PutMessage: %v", err)
	}
	if n != 3 {
		t.Errorf("PutMessage removed %d kept receipts, want 3", n)
	}
	var states []smpp.MessageState
	for _, it := range items {
		states = append(states, it.Receipt.State)
	}
	want := []smpp.MessageState{smpp.StateEnroute, smpp.StateDelivered, smpp.StateUndeliverable}
	if !slices.Equal(states, want) {
		t.Errorf("items carry states %v, want %v in arrival order", states, want)
	}
	if got := seqs(items); !slices.Equal(got, []uint64{1, 2, 3}) {
		t.Errorf("item seqs = %v, want 1 2 3", got)
	}
	rec, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Segments[0].State != smpp.StateDelivered || rec.Segments[1].State != smpp.StateUndeliverable {
		t.Errorf("stored record did not keep the applied receipts: %+v", rec.Segments)
	}
	if q := mustPeek(t, s, "acme", 10); len(q) != 3 {
		t.Errorf("queue holds %d items, want 3", len(q))
	}

	// The kept receipts are gone: writing the record again matches nothing.
	if _, n, err := s.PutMessage(ctx, rec, markReceipt); err != nil || n != 0 {
		t.Errorf("second PutMessage matched %d receipts (%v), want 0", n, err)
	}
	res, err := s.Sweep(ctx, gateway.SweepLimits{Now: keep.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unmatched) != 0 {
		t.Errorf("sweep found %d unmatched receipts after they matched, want 0", len(res.Unmatched))
	}
}

func testReceiptBeforeMappingWithoutMatch(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	_, err := s.ApplyReceipt(ctx, []string{"X1"}, receipt("X1", smpp.StateDelivered), time.Unix(9500, 0), markReceipt)
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Fatalf("early receipt: %v, want ErrNotFound", err)
	}
	items, n, err := s.PutMessage(ctx, record("m1", time.Unix(9000, 0)), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 0 || n != 1 {
		t.Errorf("PutMessage with a nil match = %d items, %d receipts; want 0 and 1", len(items), n)
	}
}

func testUnmatchedReceiptExpires(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	keep := time.Unix(9500, 0)
	for _, id := range []string{"A1", "A2"} {
		_, err := s.ApplyReceipt(ctx, []string{id, "alias-" + id}, receipt(id, smpp.StateDelivered), keep, markReceipt)
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Fatalf("receipt %s: %v, want ErrNotFound", id, err)
		}
	}
	res, err := s.Sweep(ctx, gateway.SweepLimits{Now: keep.Add(-time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unmatched) != 0 {
		t.Fatalf("early sweep returned %d unmatched receipts", len(res.Unmatched))
	}
	res, err = s.Sweep(ctx, gateway.SweepLimits{Now: keep})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res.Unmatched {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"A1", "A2"}) {
		t.Fatalf("expired unmatched receipts = %v, want A1 A2", ids)
	}
	if res.Unmatched[0].Carrier != "sim" || res.Unmatched[0].State != smpp.StateDelivered {
		t.Errorf("expired receipt = %+v", res.Unmatched[0])
	}

	// Neither the receipt nor its alias key may match a later record.
	rec := record("m1", time.Unix(9900, 0))
	rec.Segments = []gateway.SegmentRecord{{CarrierID: "A1", Keys: []string{"alias-A1"}}}
	rec.Total = 1
	if _, n, err := s.PutMessage(ctx, rec, markReceipt); err != nil || n != 0 {
		t.Errorf("PutMessage after expiry matched %d receipts (%v), want 0", n, err)
	}
	if res, _ := s.Sweep(ctx, gateway.SweepLimits{Now: keep}); len(res.Unmatched) != 0 {
		t.Errorf("second sweep returned %d receipts, want 0", len(res.Unmatched))
	}
}

func testIDMapExpires(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	expires := time.Unix(2000, 0)
	rec := gateway.MessageRecord{ID: "m1", Account: "acme", Carrier: "sim", Total: 1, Expires: expires,
		Segments: []gateway.SegmentRecord{{CarrierID: "X1", Keys: []string{"X1"}}}}
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Sweep(ctx, gateway.SweepLimits{Now: expires.Add(-time.Second)}); err != nil || res.Messages != 0 {
		t.Fatalf("early sweep removed %d (%v), want 0", res.Messages, err)
	}
	if res, err := s.Sweep(ctx, gateway.SweepLimits{Now: expires}); err != nil || res.Messages != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", res.Messages, err)
	}
	if _, err := s.Message(ctx, "m1"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Message after expiry: %v, want ErrNotFound", err)
	}
	_, err := s.ApplyReceipt(ctx, []string{"X1"}, receipt("X1", smpp.StateDelivered), expires.Add(time.Hour),
		func(*gateway.MessageRecord, int, gateway.CarrierReceipt) []gateway.Item {
			t.Error("expired mapping matched")
			return nil
		})
	if !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("receipt for an expired mapping: %v, want ErrNotFound", err)
	}
}

func testExpiryMovesWithRewrite(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	rec := record("m1", time.Unix(2000, 0))
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	// A receipt function that extends the entry's life, as a late final
	// receipt policy may.
	extend := func(r *gateway.MessageRecord, seg int, cr gateway.CarrierReceipt) []gateway.Item {
		r.Expires = time.Unix(3000, 0)
		return markReceipt(r, seg, cr)
	}
	if _, err := s.ApplyReceipt(ctx, []string{"X1"}, receipt("X1", smpp.StateDelivered), time.Unix(2500, 0), extend); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Sweep(ctx, gateway.SweepLimits{Now: time.Unix(2500, 0)}); err != nil || res.Messages != 0 {
		t.Fatalf("sweep at the old expiry removed %d (%v), want 0", res.Messages, err)
	}
	if _, err := s.Message(ctx, "m1"); err != nil {
		t.Fatalf("Message before the new expiry: %v", err)
	}
	if res, err := s.Sweep(ctx, gateway.SweepLimits{Now: time.Unix(3000, 0)}); err != nil || res.Messages != 1 {
		t.Fatalf("sweep at the new expiry removed %d (%v), want 1", res.Messages, err)
	}
}

func testConcurrentReceiptsOneRecord(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	const segments = 8
	rec := gateway.MessageRecord{ID: "m1", Account: "acme", Carrier: "sim", Total: segments,
		Expires: time.Unix(9000, 0)}
	for i := range segments {
		id := fmt.Sprintf("C%d", i)
		rec.Segments = append(rec.Segments, gateway.SegmentRecord{CarrierID: id, Keys: []string{id}})
	}
	if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, segments)
	for i := range segments {
		wg.Go(func() {
			id := fmt.Sprintf("C%d", i)
			if _, err := s.ApplyReceipt(ctx, []string{id}, receipt(id, smpp.StateDelivered), time.Unix(9500, 0), markReceipt); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("ApplyReceipt: %v", err)
	}
	got, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatal(err)
	}
	for i, seg := range got.Segments {
		if seg.State != smpp.StateDelivered {
			t.Errorf("segment %d state = %v after concurrent receipts, want DELIVERED", i, seg.State)
		}
	}
	items := mustPeek(t, s, "acme", 100)
	if len(items) != segments {
		t.Errorf("queue holds %d receipt items, want %d", len(items), segments)
	}
}

func partKey(total uint8) smpp.PartKey {
	return smpp.PartKey{Session: "sim", Source: "12015550101", Destination: "18005550100", Ref: 77, Total: total}
}

func testPartsComplete(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	key := partKey(3)
	now := time.Unix(1000, 0)
	for _, seq := range []uint8{3, 1, 3} {
		parts, complete, err := s.AddPart(ctx, smpp.Part{Key: key, Seq: seq, Body: []byte{'a' + seq - 1}}, now)
		if err != nil {
			t.Fatalf("AddPart %d: %v", seq, err)
		}
		if complete || parts != nil {
			t.Fatalf("AddPart %d completed the text with %d of 3 segments", seq, len(parts))
		}
	}
	parts, complete, err := s.AddPart(ctx, smpp.Part{Key: key, Seq: 2, Coding: smpp.DataCoding(8), Body: []byte("b")}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !complete || len(parts) != 3 {
		t.Fatalf("last segment: complete %v with %d parts, want 3", complete, len(parts))
	}
	var text []byte
	for i, p := range parts {
		if p.Seq != uint8(i+1) || p.Key != key {
			t.Errorf("part %d = seq %d key %+v", i, p.Seq, p.Key)
		}
		text = append(text, p.Body...)
	}
	if string(text) != "abc" {
		t.Errorf("segments joined = %q, want abc", text)
	}
	if parts[1].Coding != 8 {
		t.Errorf("data_coding of segment 2 = %d, want 8", parts[1].Coding)
	}
	empty := smpp.PartKey{Session: "sim", Source: "1", Destination: "2", Ref: 1, Total: 1}
	parts, complete, err = s.AddPart(ctx, smpp.Part{Key: empty, Seq: 1}, now)
	if err != nil || !complete || len(parts) != 1 || parts[0].Body == nil {
		t.Errorf("single empty segment = %+v, %v, %v; want one complete part with an empty body", parts, complete, err)
	}
}

func testPartsRejectInvalidSegment(t *testing.T, open Opener) {
	s := open()
	for _, p := range []smpp.Part{
		{Key: partKey(2), Seq: 0},
		{Key: partKey(2), Seq: 3},
		{Key: partKey(0), Seq: 1},
	} {
		if _, _, err := s.AddPart(context.Background(), p, time.Unix(1000, 0)); !errors.Is(err, smpp.ErrInvalidSegment) {
			t.Errorf("AddPart segment %d of %d: %v, want ErrInvalidSegment", p.Seq, p.Key.Total, err)
		}
	}
}

func testEnqueueDeletesFinishedParts(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	key := partKey(2)
	for seq := uint8(1); seq <= 2; seq++ {
		if _, _, err := s.AddPart(ctx, smpp.Part{Key: key, Seq: seq, Body: []byte{'x'}}, time.Unix(1000, 0)); err != nil {
			t.Fatal(err)
		}
	}
	mustEnqueue(t, s, mixedItems(1), key)
	res, err := s.Sweep(ctx, gateway.SweepLimits{Now: time.Unix(5000, 0), PartsBefore: time.Unix(5000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Parts) != 0 {
		t.Errorf("sweep found %d partial texts after Enqueue finished them, want 0", len(res.Parts))
	}
	// The key starts afresh: one new segment does not complete it.
	if _, complete, err := s.AddPart(ctx, smpp.Part{Key: key, Seq: 1}, time.Unix(6000, 0)); err != nil || complete {
		t.Errorf("segment after the finish: complete %v (%v), want an incomplete new text", complete, err)
	}
}

func testPartsExpire(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	old, fresh := partKey(3), partKey(2)
	fresh.Ref = 78
	first := time.Unix(1000, 0).UTC()
	if _, _, err := s.AddPart(ctx, smpp.Part{Key: old, Seq: 2, Body: []byte("b")}, first); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddPart(ctx, smpp.Part{Key: old, Seq: 1, Body: []byte("a")}, first.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddPart(ctx, smpp.Part{Key: fresh, Seq: 1}, first.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	res, err := s.Sweep(ctx, gateway.SweepLimits{Now: first.Add(time.Hour), PartsBefore: first})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Parts) != 0 {
		t.Fatalf("sweep with PartsBefore equal to first seen expired %d texts, want 0", len(res.Parts))
	}
	res, err = s.Sweep(ctx, gateway.SweepLimits{Now: first.Add(time.Hour), PartsBefore: first.Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Parts) != 1 {
		t.Fatalf("sweep expired %d partial texts, want 1", len(res.Parts))
	}
	a := res.Parts[0]
	if a.Key != old || !a.FirstSeen.Equal(first) || len(a.Parts) != 2 || a.Parts[0].Seq != 1 || string(a.Parts[1].Body) != "b" {
		t.Errorf("expired text = %+v, want key %+v first seen %v with segments 1 and 2", a, old, first)
	}
	if res, _ := s.Sweep(ctx, gateway.SweepLimits{Now: first.Add(time.Hour), PartsBefore: first.Add(time.Second)}); len(res.Parts) != 0 {
		t.Errorf("second sweep expired %d texts again", len(res.Parts))
	}
}

func testClosedStore(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	mustEnqueue(t, s, mixedItems(1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["Peek"] = s.Peek(ctx, "acme", 1)
	_, checks["Enqueue"] = s.Enqueue(ctx, mixedItems(1))
	checks["Ack"] = s.Ack(ctx, "acme", 1)
	_, _, checks["PutMessage"] = s.PutMessage(ctx, record("m1", time.Unix(9000, 0)), nil)
	_, checks["Message"] = s.Message(ctx, "m1")
	_, _, checks["AddPart"] = s.AddPart(ctx, smpp.Part{Key: partKey(1), Seq: 1}, time.Unix(1000, 0))
	_, checks["Sweep"] = s.Sweep(ctx, gateway.SweepLimits{Now: time.Unix(1000, 0)})
	for name, err := range checks {
		if !errors.Is(err, gateway.ErrStoreClosed) {
			t.Errorf("%s after Close: %v, want ErrStoreClosed", name, err)
		}
	}
}
