package gateway

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

func TestRecordSettled(t *testing.T) {
	seg := func(state smpp.MessageState) SegmentRecord { return SegmentRecord{CarrierID: "C", State: state} }
	final, open := seg(smpp.StateDelivered), seg(smpp.StateEnroute)
	tests := []struct {
		name string
		rec  MessageRecord
		want bool
	}{
		{"one final segment", MessageRecord{RegisteredDelivery: 1, Total: 1,
			Segments: []SegmentRecord{final}}, true},
		{"no receipt yet", MessageRecord{RegisteredDelivery: 1, Total: 1, Segments: []SegmentRecord{seg(0)}}, false},
		{"intermediate receipt", MessageRecord{RegisteredDelivery: 1, Total: 1,
			Segments: []SegmentRecord{open}}, false},
		{"one of two final", MessageRecord{RegisteredDelivery: 1, Total: 2,
			Segments: []SegmentRecord{final, open}}, false},
		{"policy reported, segment open", MessageRecord{RegisteredDelivery: 1, Total: 2, Reported: true,
			Segments: []SegmentRecord{seg(smpp.StateUndeliverable), open}}, false},
		{"all final", MessageRecord{RegisteredDelivery: 1, Total: 2,
			Segments: []SegmentRecord{final, seg(smpp.StateExpired)}}, true},
		{"partial submit, accepted final", MessageRecord{RegisteredDelivery: 1, Total: 3, Failed: true,
			Segments: []SegmentRecord{final}}, true},
		{"partial submit, accepted open", MessageRecord{RegisteredDelivery: 1, Total: 3, Failed: true,
			Segments: []SegmentRecord{open}}, false},
		{"no final receipt requested", MessageRecord{RegisteredDelivery: 0, Total: 1,
			Segments: []SegmentRecord{seg(0)}}, true},
		{"intermediate only requested", MessageRecord{RegisteredDelivery: smpp.RegisteredDeliveryIntermediate,
			Total: 1, Segments: []SegmentRecord{open}}, true},
		{"failures only requested", MessageRecord{RegisteredDelivery: 2, Total: 1,
			Segments: []SegmentRecord{seg(0)}}, false},
		{"blocked", MessageRecord{RegisteredDelivery: 1, Blocked: CodeNoConsent}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.rec.Settled(); got != tc.want {
				t.Errorf("Settled() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestShortenSettledKeepsEarlierExpiry(t *testing.T) {
	now := time.Unix(1000, 0)
	rec := MessageRecord{Blocked: CodeNoConsent, Expires: now.Add(time.Minute)}
	shortenSettled(&rec, now, time.Hour)
	if !rec.Expires.Equal(now.Add(time.Minute)) {
		t.Errorf("expiry = %v, want the earlier %v kept", rec.Expires, now.Add(time.Minute))
	}
	open := MessageRecord{RegisteredDelivery: 1, Total: 1, Expires: now.Add(72 * time.Hour),
		Segments: []SegmentRecord{{CarrierID: "C"}}}
	shortenSettled(&open, now, time.Hour)
	if !open.Expires.Equal(now.Add(72 * time.Hour)) {
		t.Errorf("unsettled record expiry = %v, want the TTL kept", open.Expires)
	}
}

// TestRetentionAfterFinalReceipt follows a message of three segments from
// submit to deletion: the TTL holds while receipts are due, and the last
// final receipt starts the grace period after which the sweep deletes it.
func TestRetentionAfterFinalReceipt(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	submitted := f.clock()
	id := f.submitOne(longText)
	if got := f.record(id).Expires; !got.Equal(submitted.Add(DefaultMessageTTL)) {
		t.Fatalf("expiry after submit = %v, want submit + %s", got, DefaultMessageTTL)
	}

	for segment := 1; segment <= 3; segment++ {
		f.advance(time.Minute)
		f.deliverReceipt(receiptPDU(fmt.Sprintf("id:C%04d stat:DELIVRD err:000", segment), nil))
		if segment < 3 {
			if got := f.record(id).Expires; !got.Equal(submitted.Add(DefaultMessageTTL)) {
				t.Errorf("expiry after %d of 3 receipts = %v, want the TTL", segment, got)
			}
		}
	}
	settled := f.clock()
	if got := f.record(id).Expires; !got.Equal(settled.Add(DefaultKeepAfterFinal)) {
		t.Fatalf("expiry after the last final receipt = %v, want %v", got, settled.Add(DefaultKeepAfterFinal))
	}

	// A late duplicate within the grace period matches and changes nothing.
	f.advance(30 * time.Minute)
	f.deliverReceipt(receiptPDU("id:C0002 stat:DELIVRD err:000", nil))
	if got := f.record(id).Expires; !got.Equal(settled.Add(DefaultKeepAfterFinal)) {
		t.Errorf("expiry after a duplicate receipt = %v, want %v", got, settled.Add(DefaultKeepAfterFinal))
	}
	if _, err := f.mt.MessageStatus(f.ctx, "acme", id); err != nil {
		t.Errorf("status lookup during the grace period: %v", err)
	}

	res, err := f.store.Sweep(f.ctx, SweepLimits{Now: settled.Add(DefaultKeepAfterFinal)})
	if err != nil || res.Messages != 1 {
		t.Fatalf("sweep at the end of the grace period removed %d (%v), want 1", res.Messages, err)
	}
	if _, err := f.mt.MessageStatus(f.ctx, "acme", id); !errors.Is(err, ErrNotFound) {
		t.Errorf("status lookup after the grace period: %v, want ErrNotFound", err)
	}
}

func TestRetentionNoReceiptRequested(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := f.record(res.MessageID).Expires, f.clock().Add(DefaultKeepAfterFinal); !got.Equal(want) {
		t.Errorf("expiry of a message without receipts = %v, want %v", got, want)
	}
}

func TestRetentionBlockedRecord(t *testing.T) {
	f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.BlockedReceipts = true }})
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		Source: consent.SourceSMPP, RegisteredDelivery: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked == "" {
		t.Fatalf("submit without consent was not blocked: %+v", res)
	}
	if got, want := f.record(res.MessageID).Expires, f.clock().Add(DefaultKeepAfterFinal); !got.Equal(want) {
		t.Errorf("expiry of a blocked message = %v, want %v", got, want)
	}
}

func (f *coreFixture) record(id string) MessageRecord {
	f.t.Helper()
	rec, err := f.store.Message(f.ctx, id)
	if err != nil {
		f.t.Fatalf("read record %s: %v", id, err)
	}
	return rec
}
