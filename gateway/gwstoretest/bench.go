package gwstoretest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// Bench runs the store benchmarks as sub-benchmarks: PutMessage of a
// one-segment message, ApplyReceipt of a matched receipt that queues one
// item, and Enqueue of one MO item. Each runs with b.RunParallel and 8
// goroutines per GOMAXPROCS, so it measures the store under concurrent
// callers, as the gateway uses it with several binds and windows.
func Bench(b *testing.B, factory Factory) {
	b.Run("PutMessage", func(b *testing.B) { benchPutMessage(b, tracked(b, factory(b))()) })
	b.Run("ApplyReceipt", func(b *testing.B) { benchApplyReceipt(b, tracked(b, factory(b))()) })
	b.Run("Enqueue", func(b *testing.B) { benchEnqueue(b, tracked(b, factory(b))()) })
}

func benchRecord(id, carrierID string) gateway.MessageRecord {
	return gateway.MessageRecord{ID: id, Account: "acme", Carrier: "sim", From: "+18005550100",
		To: "+12015550101", RegisteredDelivery: 1, Total: 1, Expires: time.Now().Add(time.Hour),
		Segments: []gateway.SegmentRecord{{CarrierID: carrierID, Keys: []string{carrierID}}}}
}

func benchPutMessage(b *testing.B, s gateway.Store) {
	ctx := context.Background()
	var next idCounter
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := next.add()
			if _, _, err := s.PutMessage(ctx, benchRecord(fmt.Sprintf("m%d", n), fmt.Sprintf("C%d", n)), nil); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchApplyReceipt(b *testing.B, s gateway.Store) {
	ctx := context.Background()
	for i := range b.N {
		if _, _, err := s.PutMessage(ctx, benchRecord(fmt.Sprintf("m%d", i), fmt.Sprintf("C%d", i)), nil); err != nil {
			b.Fatal(err)
		}
	}
	keep := time.Now().Add(time.Hour)
	var next idCounter
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprintf("C%d", next.add())
			_, err := s.ApplyReceipt(ctx, []string{id}, gateway.CarrierReceipt{Carrier: "sim", ID: id,
				State: smpp.StateDelivered, Stat: "DELIVRD", Received: time.Now()}, keep, markReceipt)
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func benchEnqueue(b *testing.B, s gateway.Store) {
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			item := gateway.Item{Queue: "acme", Kind: gateway.KindMO, Enqueued: time.Now(),
				MO: &gateway.MOItem{ID: "mo", Carrier: "sim", From: "+12015550101", To: "+18005550100",
					Text: "see you at ten", Segments: 1, Received: time.Now()}}
			if _, err := s.Enqueue(ctx, []gateway.Item{item}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// idCounter hands out 0, 1, 2, ... to parallel benchmark loops.
type idCounter struct{ n atomic.Int64 }

func (c *idCounter) add() int64 { return c.n.Add(1) - 1 }
