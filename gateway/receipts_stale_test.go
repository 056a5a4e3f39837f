package gateway

import (
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// TestKeptReceiptSkipsLaterMessage replays a carrier restart: a receipt
// for a submit that timed out is kept unmatched, the carrier starts its
// ids over, and a new message gets the same carrier id minutes later. The
// kept receipt must not be reported or recorded for the new message.
func TestKeptReceiptSkipsLaterMessage(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.deliverReceipt(receiptPDU("id:C0001 stat:DELIVRD err:000", nil))

	f.advance(7 * time.Minute)
	id := f.submitOne("hi")
	if items := f.receiptItems(); len(items) != 0 {
		t.Fatalf("the new message got the older receipt: %+v", items)
	}
	rec, err := f.store.Message(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if seg := rec.Segments[0]; seg.State != 0 || seg.Receipt != nil {
		t.Errorf("segment of the new message = %+v, want no receipt", seg)
	}
	sim := map[string]string{"carrier": "sim"}
	if got := f.counter("optgate_gateway_receipts_matched_late_total", sim); got != 0 {
		t.Errorf("late matches = %v, want 0", got)
	}

	// The new message's own receipt still matches it.
	f.advance(time.Second)
	f.deliverReceipt(receiptPDU("id:C0001 stat:UNDELIV err:001", nil))
	items := f.receiptItems()
	if len(items) != 1 || items[0].MessageID != id || items[0].State != smpp.StateUndeliverable {
		t.Fatalf("receipts = %+v, want UNDELIV for %s", items, id)
	}
}
