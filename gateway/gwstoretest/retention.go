package gwstoretest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// Retention times of the suite, in Unix seconds: a record submitted at
// retentionSubmitted waits retentionTTL for its final receipts and is kept
// retentionKeep after it is settled.
const (
	retentionSubmitted = 1000
	retentionTTL       = 72 * 3600
	retentionKeep      = 3600
)

// settleAt returns a ReceiptFunc that records the receipt as markReceipt
// does and, once the record is settled, moves its expiry to retentionKeep
// after now, as the receipt service does.
func settleAt(now time.Time) gateway.ReceiptFunc {
	return func(rec *gateway.MessageRecord, segment int, r gateway.CarrierReceipt) []gateway.Item {
		items := markReceipt(rec, segment, r)
		if until := now.Add(retentionKeep * time.Second); rec.Settled() && until.Before(rec.Expires) {
			rec.Expires = until
		}
		return items
	}
}

func unix(sec int64) time.Time {
	return time.Unix(sec, 0).UTC()
}

func mustApply(t *testing.T, s gateway.Store, key string, state smpp.MessageState, now time.Time) {
	t.Helper()
	_, err := s.ApplyReceipt(context.Background(), []string{key}, receipt(key, state), now.Add(time.Hour), settleAt(now))
	if err != nil {
		t.Fatalf("ApplyReceipt %s at %d: %v", key, now.Unix(), err)
	}
}

func mustSweep(t *testing.T, s gateway.Store, now time.Time, want int) {
	t.Helper()
	res, err := s.Sweep(context.Background(), gateway.SweepLimits{Now: now})
	if err != nil {
		t.Fatalf("Sweep at %d: %v", now.Unix(), err)
	}
	if res.Messages != want {
		t.Fatalf("Sweep at %d removed %d records, want %d", now.Unix(), res.Messages, want)
	}
}

func testSettledRecordDeletedAfterGrace(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	if _, _, err := s.PutMessage(ctx, record("m1", unix(retentionSubmitted+retentionTTL)), nil); err != nil {
		t.Fatal(err)
	}

	// The first final receipt leaves segment 2 open, so the TTL stays.
	mustApply(t, s, "X1", smpp.StateDelivered, unix(1100))
	if got, err := s.Message(ctx, "m1"); err != nil || !got.Expires.Equal(unix(retentionSubmitted+retentionTTL)) {
		t.Fatalf("record after one of two final receipts: expires %v (%v), want the TTL", got.Expires, err)
	}
	settled := int64(1200)
	mustApply(t, s, "X2", smpp.StateUndeliverable, unix(settled))
	grace := settled + retentionKeep

	// A late duplicate still matches during the grace period.
	mustApply(t, s, "x1", smpp.StateDelivered, unix(grace-60))
	mustSweep(t, s, unix(grace-1), 0)
	got, err := s.Message(ctx, "m1")
	if err != nil {
		t.Fatalf("Message before the grace period ended: %v", err)
	}
	if !got.Expires.Equal(unix(grace)) {
		t.Errorf("settled record expires %v, want %v", got.Expires, unix(grace))
	}

	mustSweep(t, s, unix(grace), 1)
	if _, err := s.Message(ctx, "m1"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Message after the grace period: %v, want ErrNotFound", err)
	}
	// Every carrier id key went with the record: a receipt under any of
	// them is kept as unmatched.
	for _, key := range []string{"X1", "x1", "X2", "x2"} {
		_, err := s.ApplyReceipt(ctx, []string{key}, receipt(key, smpp.StateDelivered), unix(grace+60),
			func(*gateway.MessageRecord, int, gateway.CarrierReceipt) []gateway.Item {
				t.Errorf("carrier id key %s matched a deleted record", key)
				return nil
			})
		if !errors.Is(err, gateway.ErrNotFound) {
			t.Errorf("receipt under %s after deletion: %v, want ErrNotFound", key, err)
		}
	}
	// The original TTL finds nothing left to delete.
	mustSweep(t, s, unix(retentionSubmitted+retentionTTL), 0)
}

func testUnsettledRecordKeptUntilTTL(t *testing.T, open Opener) {
	s := open()
	ctx := context.Background()
	ttl := int64(retentionSubmitted + retentionTTL)
	if _, _, err := s.PutMessage(ctx, record("m1", unix(ttl)), nil); err != nil {
		t.Fatal(err)
	}
	mustApply(t, s, "X1", smpp.StateDelivered, unix(1100))
	mustApply(t, s, "X2", smpp.StateEnroute, unix(1200))

	mustSweep(t, s, unix(1200+retentionKeep+1), 0)
	mustSweep(t, s, unix(ttl-1), 0)
	if _, err := s.Message(ctx, "m1"); err != nil {
		t.Fatalf("Message of an unsettled record before its TTL: %v", err)
	}
	mustSweep(t, s, unix(ttl), 1)
	if _, err := s.Message(ctx, "m1"); !errors.Is(err, gateway.ErrNotFound) {
		t.Errorf("Message after the TTL: %v, want ErrNotFound", err)
	}
}
