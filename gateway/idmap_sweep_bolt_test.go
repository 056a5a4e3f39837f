package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBoltSweepSpansBatches expires more records than one sweep
// transaction removes and checks that one Sweep deletes them all, with
// their carrier id and expiry keys, and leaves the unexpired record.
func TestBoltSweepSpansBatches(t *testing.T) {
	s := openTestBoltStore(t, filepath.Join(t.TempDir(), "gateway.db"))
	defer s.Close()
	ctx := context.Background()
	expired := 2*boltSweepBatch + 7
	for i := range expired + 1 {
		expires := time.Unix(1000, 0)
		if i == expired {
			expires = time.Unix(9000, 0)
		}
		id := fmt.Sprintf("m%05d", i)
		rec := MessageRecord{ID: id, Account: "acme", Carrier: "sim", RegisteredDelivery: 1, Total: 1,
			Expires: expires, Segments: []SegmentRecord{{CarrierID: "C" + id, Keys: []string{"C" + id}}}}
		if _, _, err := s.PutMessage(ctx, rec, nil); err != nil {
			t.Fatal(err)
		}
	}

	res, err := s.Sweep(ctx, SweepLimits{Now: time.Unix(2000, 0)})
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	if res.Messages != expired {
		t.Errorf("Sweep deleted %d records, want %d", res.Messages, expired)
	}
	if n := countKeys(t, s, bucketMessages); n != 1 {
		t.Errorf("%d records left, want 1", n)
	}
	if n := countKeys(t, s, bucketExpiry); n != 1 {
		t.Errorf("%d expiry keys left, want 1", n)
	}
	if n := countKeys(t, s, bucketCarrierID); n != 1 {
		t.Errorf("%d carrier id keys left, want 1", n)
	}
	if _, err := s.Message(ctx, fmt.Sprintf("m%05d", expired)); err != nil {
		t.Errorf("the unexpired record: %v", err)
	}
}
