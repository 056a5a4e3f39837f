package gateway

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
)

// resendMarks returns "seq:PossibleResend" of each item.
func resendMarks(items []Item) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		out = append(out, fmt.Sprintf("%d:%v", it.Seq, it.PossibleResend))
	}
	return out
}

func TestBoltPeekMarksItemsQueuedAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "gateway.db")
	s, err := OpenBoltStore(path, BoltStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, mixedItems(2)); err != nil {
		t.Fatal(err)
	}
	items, err := s.Peek(ctx, "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resendMarks(items), []string{"1:false", "2:false"}; !slices.Equal(got, want) {
		t.Errorf("before reopening: %v, want %v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, path)
	if _, err := s.Enqueue(ctx, mixedItems(1)); err != nil {
		t.Fatal(err)
	}
	items, err = s.Peek(ctx, "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resendMarks(items), []string{"1:true", "2:true", "3:false"}; !slices.Equal(got, want) {
		t.Errorf("after reopening: %v, want %v", got, want)
	}
}

func TestRedisPeekMarksPendingEntries(t *testing.T) {
	ctx := context.Background()
	a, b, _ := openRedisPair(t, RedisStoreOptions{})
	if _, err := a.Enqueue(ctx, mixedItems(3)); err != nil {
		t.Fatal(err)
	}
	first, err := a.Peek(ctx, "acme", 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resendMarks(first), []string{"1:false", "2:false"}; !slices.Equal(got, want) {
		t.Errorf("first read: %v, want %v", got, want)
	}
	again, err := a.Peek(ctx, "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resendMarks(again), []string{"1:true", "2:true", "3:false"}; !slices.Equal(got, want) {
		t.Errorf("second read by the same consumer: %v, want %v", got, want)
	}
	if err := a.Ack(ctx, "acme", 1); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	taken, err := b.Peek(ctx, "acme", 10)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := resendMarks(taken), []string{"2:true", "3:true"}; !slices.Equal(got, want) {
		t.Errorf("read by the consumer that took the queue over: %v, want %v", got, want)
	}
}

func TestDeliverPDUPossibleResendFlag(t *testing.T) {
	items := []Item{
		{Queue: "acme", Seq: 1, Kind: KindMO, MO: &MOItem{ID: "mo-1", From: "+12015550101",
			To: "+18885550100", Text: "Running late", FreeText: true}},
		{Queue: "acme", Seq: 2, Kind: KindReceipt, Receipt: &ReceiptItem{MessageID: "m-2",
			From: "+18885550100", To: "+12015550101", Stat: "DELIVRD"}},
	}
	// The MO keeps its free-text bit either way; a receipt has no other bit.
	base := []uint8{MOFlagFreeText, 0}
	for i, it := range items {
		for _, resend := range []bool{false, true} {
			it.PossibleResend = resend
			d, err := deliverPDU(it)
			if err != nil {
				t.Fatalf("%v item: %v", it.Kind, err)
			}
			want := base[i]
			if resend {
				want |= MOFlagPossibleResend
			}
			got, err := d.TLVs.Uint8(TagMOFlags)
			if want == 0 {
				if err == nil {
					t.Errorf("%v item, possible resend %v: flags TLV %#x present, want it absent", it.Kind, resend, got)
				}
				continue
			}
			if err != nil || got != want {
				t.Errorf("%v item, possible resend %v: flags %#x (%v), want %#x", it.Kind, resend, got, err, want)
			}
		}
	}
}
