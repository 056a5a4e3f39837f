package gwstoretest

import (
	"context"
	"slices"
	"testing"
)

// testAckMany checks that one Ack removes several items, skips those
// already gone or named twice, and that the removal survives a reopen.
func testAckMany(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open()
	mustEnqueue(t, s, mixedItems(6))

	if err := s.Ack(ctx, "acme", 2, 4, 5); err != nil {
		t.Fatalf("Ack of three items: %v", err)
	}
	if got, want := seqs(mustPeek(t, s, "acme", 10)), []uint64{1, 3, 6}; !slices.Equal(got, want) {
		t.Errorf("Peek after Ack of 2, 4 and 5 = %v, want %v", got, want)
	}
	if d := s.Depths()["acme"]; d != 3 {
		t.Errorf("depth after Ack of three items = %d, want 3", d)
	}

	if err := s.Ack(ctx, "acme", 4, 6, 6); err != nil {
		t.Fatalf("Ack of a gone item and a repeated one: %v", err)
	}
	if err := s.Ack(ctx, "acme"); err != nil {
		t.Errorf("Ack with no seq: %v, want nil", err)
	}
	if d := s.Depths()["acme"]; d != 2 {
		t.Errorf("depth after Ack of 4, 6 and 6 = %d, want 2", d)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = open()
	if got, want := seqs(mustPeek(t, s, "acme", 10)), []uint64{1, 3}; !slices.Equal(got, want) {
		t.Errorf("Peek after reopen = %v, want %v", got, want)
	}
	if d := s.Depths()["acme"]; d != 2 {
		t.Errorf("depth after reopen = %d, want 2", d)
	}
}
