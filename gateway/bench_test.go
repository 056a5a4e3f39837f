package gateway

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// BenchmarkSubmit measures one allowed single-segment MT: normalization,
// consent check, split, fake carrier submit and the id map write (one
// fsynced bbolt transaction).
func BenchmarkSubmit(b *testing.B) {
	f := newCoreFixture(b, coreOptions{})
	if _, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: "acme", Number: subscriber,
		Import: consent.StateOptedIn, Time: f.clock()}); err != nil {
		b.Fatal(err)
	}
	f.link.nextID = func(n int) string { return fmt.Sprintf("B%d", n) }
	mt := MT{Account: "acme", From: tfReady, To: subscriber, Text: "Your appointment is at 3pm.", RegisteredDelivery: 1}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.mt.Submit(f.ctx, mt); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubmitParallel is BenchmarkSubmit from several goroutines,
// whose id map writes share transactions.
func BenchmarkSubmitParallel(b *testing.B) {
	f := newCoreFixture(b, coreOptions{})
	if _, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: "acme", Number: subscriber,
		Import: consent.StateOptedIn, Time: f.clock()}); err != nil {
		b.Fatal(err)
	}
	var n atomic.Int64
	f.link.nextID = func(int) string { return fmt.Sprintf("P%d", n.Add(1)) }
	mt := MT{Account: "acme", From: tfReady, To: subscriber, Text: "Your appointment is at 3pm.", RegisteredDelivery: 1}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.mt.Submit(f.ctx, mt); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkSubmitBlocked measures an MT the consent rules block, which
// touches no disk.
func BenchmarkSubmitBlocked(b *testing.B) {
	f := newCoreFixture(b, coreOptions{})
	mt := MT{Account: "acme", From: tfReady, To: subscriber, Text: "promo"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.mt.Submit(f.ctx, mt); err == nil {
			b.Fatal("blocked MT was sent")
		}
	}
}

// BenchmarkHandleDeliverMO measures one ordinary MO: decode, consent
// classification and the queue write.
func BenchmarkHandleDeliverMO(b *testing.B) {
	f := newCoreFixture(b, coreOptions{})
	p := moPDU(subscriber, tfReady, smpp.CodingDefault, []byte("Can I move my appointment to Friday?"))
	b.ReportAllocs()
	for b.Loop() {
		if st := f.mo.HandleDeliver(f.ctx, "sim", p); st != smpp.StatusOK {
			b.Fatal(st)
		}
	}
}

// BenchmarkHandleDeliverReceipt measures one matched receipt: parse,
// id map lookup and update, and the queue write.
func BenchmarkHandleDeliverReceipt(b *testing.B) {
	f := newCoreFixture(b, coreOptions{})
	var pdus []*smpp.DeliverSM
	for i := range b.N + 1 {
		pdus = append(pdus, receiptPDU(fmt.Sprintf("id:R%d stat:DELIVRD err:000", i), nil))
		_, _, err := f.store.PutMessage(f.ctx, MessageRecord{ID: fmt.Sprintf("m%d", i), Account: "acme", Carrier: "sim",
			RegisteredDelivery: 1, Total: 1, Expires: f.clock().Add(time.Hour),
			Segments: []SegmentRecord{{CarrierID: fmt.Sprintf("R%d", i), Keys: []string{fmt.Sprintf("R%d", i)}}}}, nil)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if st := f.mo.HandleDeliver(f.ctx, "sim", pdus[i]); st != smpp.StatusOK {
			b.Fatal(st)
		}
	}
}
