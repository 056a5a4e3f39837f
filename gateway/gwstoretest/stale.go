package gwstoretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// testStaleKeptReceiptSkipped checks that a receipt kept unmatched is not
// applied to a message submitted well after it arrived: after a carrier
// restart reuses its ids, such a receipt belongs to an older message. A
// receipt that arrived just before the submit time, within the clock
// slack, is still applied.
func testStaleKeptReceiptSkipped(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	keep := time.Unix(9500, 0)
	submitted := time.Unix(2000, 0).UTC()

	stale := receipt("X1", smpp.StateDelivered)
	stale.Received = submitted.Add(-7 * time.Minute)
	fresh := receipt("X2", smpp.StateUndeliverable)
	fresh.Received = submitted.Add(-500 * time.Millisecond)
	for _, r := range []gateway.CarrierReceipt{stale, fresh} {
		_, err := s.ApplyReceipt(ctx, []string{r.ID}, r, keep, markReceipt)
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Fatalf("early receipt %s: %v, want ErrNotFound", r.ID, err)
		}
	}

	rec := record("m2", time.Unix(9000, 0))
	rec.Submitted = submitted
	items, n, err := s.PutMessage(ctx, rec, markReceipt)
	if err != nil {
		t.Fatalf("PutMessage: %v", err)
	}
	if n != 1 || len(items) != 1 {
		t.Fatalf("PutMessage applied %d kept receipts and queued %d items, want 1 and 1", n, len(items))
	}
	if it := items[0].Receipt; it.Segment != 2 || it.State != smpp.StateUndeliverable {
		t.Errorf("queued receipt = %+v, want segment 2 undeliverable", it)
	}
	got, err := s.Message(ctx, "m2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Segments[0].State != 0 || got.Segments[0].Receipt != nil {
		t.Errorf("segment 1 took the stale receipt: %+v", got.Segments[0])
	}
	if got.Segments[1].State != smpp.StateUndeliverable {
		t.Errorf("segment 2 state = %v, want undeliverable", got.Segments[1].State)
	}
	if q := mustPeek(t, s, "acme", 10); len(q) != 1 {
		t.Errorf("queue holds %d items, want only the fresh receipt", len(q))
	}

	// A receipt that comes after the mapping still matches segment 1.
	later := receipt("X1", smpp.StateDelivered)
	later.Received = submitted.Add(time.Minute)
	if _, err := s.ApplyReceipt(ctx, []string{"X1"}, later, keep, markReceipt); err != nil {
		t.Fatalf("receipt after the mapping: %v", err)
	}
	if got, err := s.Message(ctx, "m2"); err != nil || got.Segments[0].State != smpp.StateDelivered {
		t.Errorf("segment 1 after its own receipt = %+v, %v", got.Segments, err)
	}
}
