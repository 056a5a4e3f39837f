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

// statusOf looks up a message of acme, failing the test on an error.
func (f *coreFixture) statusOf(id string) MessageStatus {
	f.t.Helper()
	st, err := f.mt.MessageStatus(f.ctx, "acme", id)
	if err != nil {
		f.t.Fatalf("status of %s: %v", id, err)
	}
	return st
}

// receiptFor builds a carrier receipt for one carrier id.
func receiptFor(carrierID, stat, errCode string) smpp.PDU {
	return receiptPDU(fmt.Sprintf("id:%s sub:001 dlvrd:001 submit date:2603101500 done date:2603101501 stat:%s err:%s",
		carrierID, stat, errCode), nil)
}

func TestMessageStatusSingleSegment(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		RegisteredDelivery: 1, ClientRef: "order-7"})
	if err != nil {
		t.Fatal(err)
	}

	st := f.statusOf(res.MessageID)
	if st.State != StateSubmitted || st.Final {
		t.Errorf("state before any receipt = %q (final %v), want submitted", st.State, st.Final)
	}
	if st.MessageID != res.MessageID || st.Account != "acme" || st.From != tfReady || st.To != subscriber {
		t.Errorf("identity = %s %s %s -> %s", st.MessageID, st.Account, st.From, st.To)
	}
	if st.Carrier != "sim" || st.ClientRef != "order-7" || st.RegisteredDelivery != 1 {
		t.Errorf("carrier %q, client_ref %q, registered_delivery %d", st.Carrier, st.ClientRef, st.RegisteredDelivery)
	}
	if !st.Submitted.Equal(f.clock()) || !st.Expires.Equal(f.clock().Add(DefaultMessageTTL)) {
		t.Errorf("submitted %v, expires %v; want now and the default TTL later", st.Submitted, st.Expires)
	}
	if st.Segments != 1 || st.AcceptedSegments != 1 || len(st.Parts) != 1 {
		t.Fatalf("segments %d, accepted %d, parts %d; want 1 each", st.Segments, st.AcceptedSegments, len(st.Parts))
	}
	if p := st.Parts[0]; p.Segment != 1 || p.CarrierID != "C0001" || p.State != StateSubmitted {
		t.Errorf("part = %+v, want segment 1, carrier id C0001, submitted", p)
	}

	f.advance(2 * time.Second)
	var tlvs smpp.TLVs
	tlvs.SetNetworkErrorCode(smpp.NetworkErrorCode{NetworkType: smpp.NetworkTypeGSM, ErrorCode: 2050})
	f.deliverReceipt(receiptPDU("id:C0001 sub:001 dlvrd:000 submit date:2603101500 done date:2603101501 "+
		"stat:UNDELIV err:034", tlvs))
	st = f.statusOf(res.MessageID)
	if st.State != "undeliverable" || !st.Final || st.Stat != "UNDELIV" || st.Err != "034" {
		t.Errorf("after the receipt: state %q final %v stat %q err %q; want undeliverable UNDELIV 034",
			st.State, st.Final, st.Stat, st.Err)
	}
	if st.NetworkError == nil || *st.NetworkError != (NetworkError{Type: 3, Code: 2050}) {
		t.Errorf("network error = %+v, want GSM 2050", st.NetworkError)
	}
	if want := time.Date(2026, 3, 10, 15, 1, 0, 0, time.UTC); !st.DoneDate.Equal(want) {
		t.Errorf("done date = %v, want %v", st.DoneDate, want)
	}
	if !st.ReceiptReceived.Equal(f.clock()) {
		t.Errorf("receipt received = %v, want %v", st.ReceiptReceived, f.clock())
	}
	if p := st.Parts[0]; p.State != "undeliverable" || p.Err != "034" || p.NetworkError == nil {
		t.Errorf("part = %+v, want the receipt's state, err and network error", p)
	}
}

func TestMessageStatusIntermediateReceipt(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne("hi")
	f.deliverReceipt(receiptFor("C0001", "ENROUTE", "000"))
	if st := f.statusOf(id); st.State != "enroute" || st.Final {
		t.Errorf("after ENROUTE: state %q final %v, want enroute, not final", st.State, st.Final)
	}
	f.deliverReceipt(receiptFor("C0001", "DELIVRD", "000"))
	if st := f.statusOf(id); st.State != "delivered" || !st.Final {
		t.Errorf("after DELIVRD: state %q final %v, want delivered, final", st.State, st.Final)
	}
	// A receipt after the final one changes nothing.
	f.deliverReceipt(receiptFor("C0001", "UNDELIV", "001"))
	if st := f.statusOf(id); st.State != "delivered" || st.Err != "000" {
		t.Errorf("after a late UNDELIV: state %q err %q, want delivered 000 kept", st.State, st.Err)
	}
}

func TestMessageStatusPolicies(t *testing.T) {
	// The three segments end DELIVRD, UNDELIV and DELIVRD, in that order.
	tests := []struct {
		policy string
		// want is the overall state after each receipt.
		want [3]string
	}{
		{config.ReceiptWorst, [3]string{StateSubmitted, "undeliverable", "undeliverable"}},
		{config.ReceiptAll, [3]string{StateSubmitted, "undeliverable", "undeliverable"}},
		{config.ReceiptFirst, [3]string{"delivered", "delivered", "delivered"}},
		{config.ReceiptLast, [3]string{StateSubmitted, StateSubmitted, "delivered"}},
	}
	receipts := []struct{ carrierID, stat, err, state string }{
		{"C0001", "DELIVRD", "000", "delivered"},
		{"C0002", "UNDELIV", "011", "undeliverable"},
		{"C0003", "DELIVRD", "000", "delivered"},
	}
	for _, tt := range tests {
		t.Run(tt.policy, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.ReceiptPolicy = tt.policy }})
			f.setState(subscriber, consent.StateOptedIn)
			res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: longText,
				RegisteredDelivery: 1})
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range receipts {
				f.advance(time.Second)
				f.deliverReceipt(receiptFor(r.carrierID, r.stat, r.err))
				st := f.statusOf(res.MessageID)
				if st.State != tt.want[i] {
					t.Errorf("after receipt %d: state %q, want %q", i+1, st.State, tt.want[i])
				}
				if st.ReceiptPolicy != tt.policy {
					t.Errorf("receipt policy = %q, want %q", st.ReceiptPolicy, tt.policy)
				}
				if got := st.Parts[i].State; got != r.state {
					t.Errorf("after receipt %d: part state %q, want %q", i+1, got, r.state)
				}
			}
			st := f.statusOf(res.MessageID)
			if st.Segments != 3 || st.AcceptedSegments != 3 || len(st.Parts) != 3 {
				t.Fatalf("segments %d, accepted %d, parts %d; want 3", st.Segments, st.AcceptedSegments, len(st.Parts))
			}
			if st.State == "undeliverable" && (st.Err != "011" || st.Stat != "UNDELIV") {
				t.Errorf("undeliverable with err %q stat %q, want segment 2's 011 UNDELIV", st.Err, st.Stat)
			}
		})
	}
}

func TestMessageStatusWorstAllDelivered(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne(longText)
	for n := 1; n <= 3; n++ {
		if st := f.statusOf(id); st.State != StateSubmitted {
			t.Errorf("after %d receipts: state %q, want submitted", n-1, st.State)
		}
		f.advance(time.Second)
		f.deliverReceipt(receiptFor(fmt.Sprintf("C%04d", n), "DELIVRD", "000"))
	}
	st := f.statusOf(id)
	if st.State != "delivered" || !st.Final {
		t.Errorf("state %q final %v, want delivered", st.State, st.Final)
	}
	if !st.ReceiptReceived.Equal(f.clock()) {
		t.Errorf("receipt received %v, want the last segment's, %v", st.ReceiptReceived, f.clock())
	}
}

func TestMessageStatusWorstFirstFailureWins(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne(longText)
	f.advance(time.Second)
	f.deliverReceipt(receiptFor("C0003", "EXPIRED", "027"))
	f.advance(time.Second)
	f.deliverReceipt(receiptFor("C0001", "UNDELIV", "001"))
	if st := f.statusOf(id); st.State != "expired" || st.Err != "027" {
		t.Errorf("state %q err %q, want the first failure to arrive: expired 027", st.State, st.Err)
	}
}

func TestMessageStatusPartialSubmit(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.fail = func(n int) error {
		if n == 2 {
			return &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusSubmitFailed}
		}
		return nil
	}
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: longText, RegisteredDelivery: 1})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePartialSubmit {
		t.Fatalf("error = %v, want partial_submit", err)
	}
	f.deliverReceipt(receiptFor("C0001", "DELIVRD", "000"))
	st := f.statusOf(e.MessageID)
	if st.State != StatePartialSubmit || !st.Final {
		t.Errorf("state %q final %v, want partial_submit, final", st.State, st.Final)
	}
	if st.Segments != 3 || st.AcceptedSegments != 1 || len(st.Parts) != 1 {
		t.Errorf("segments %d, accepted %d, parts %d; want 3, 1, 1", st.Segments, st.AcceptedSegments, len(st.Parts))
	}
	if len(st.Parts) == 1 && st.Parts[0].State != "delivered" {
		t.Errorf("accepted segment state %q, want its receipt's, delivered", st.Parts[0].State)
	}
	if items := f.queue("acme"); len(items) != 0 {
		t.Errorf("receipt of a failed message reached the business: %+v", items)
	}
}

func TestMessageStatusBlockedReceipt(t *testing.T) {
	f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.BlockedReceipts = true }})
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		Source: consent.SourceSMPP, RegisteredDelivery: 1})
	if err != nil || res.Blocked != CodeNoConsent {
		t.Fatalf("submit = %+v, %v; want a no_consent block reported as a receipt", res, err)
	}
	st := f.statusOf(res.MessageID)
	if st.State != "rejected" || !st.Final || st.Blocked != CodeNoConsent {
		t.Errorf("state %q final %v blocked %q, want rejected, final, no_consent", st.State, st.Final, st.Blocked)
	}
	if st.Stat != "REJECTD" || st.Err != "400" {
		t.Errorf("stat %q err %q, want REJECTD 400 as in the business's receipt", st.Stat, st.Err)
	}
	if st.Carrier != "" || st.AcceptedSegments != 0 || len(st.Parts) != 0 {
		t.Errorf("carrier %q, %d segments accepted; want none", st.Carrier, st.AcceptedSegments)
	}
}

func TestMessageStatusOtherAccountAndExpiry(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne("hi")
	if _, err := f.mt.MessageStatus(f.ctx, "globex", id); !errors.Is(err, ErrNotFound) {
		t.Errorf("another account's lookup: %v, want ErrNotFound", err)
	}
	if _, err := f.mt.MessageStatus(f.ctx, "acme", "0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	f.advance(DefaultMessageTTL - time.Second)
	f.statusOf(id)
	f.advance(time.Second)
	if _, err := f.mt.MessageStatus(f.ctx, "acme", id); !errors.Is(err, ErrNotFound) {
		t.Errorf("lookup at expiry: %v, want ErrNotFound", err)
	}
}

func TestMessageStatusReceiptBeforeMapping(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.deliverReceipt(receiptFor("C0001", "DELIVRD", "000"))
	id := f.submitOne("hi")
	if st := f.statusOf(id); st.State != "delivered" {
		t.Errorf("state %q, want delivered from the receipt kept unmatched", st.State)
	}
}

func TestMessageStatusDurable(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	id := f.submitOne("hi")
	f.deliverReceipt(receiptFor("C0001", "EXPIRED", "027"))
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	rec, err := f.openStore().Message(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st := NewMessageStatus(rec); st.State != "expired" || st.Err != "027" || st.Parts[0].CarrierID != "C0001" {
		t.Errorf("status after reopening the store = %+v, want expired 027 for C0001", st)
	}
}

func TestReceiptStateName(t *testing.T) {
	for state, want := range map[smpp.MessageState]string{
		smpp.StateEnroute: "enroute", smpp.StateDelivered: "delivered", smpp.StateExpired: "expired",
		smpp.StateDeleted: "deleted", smpp.StateUndeliverable: "undeliverable", smpp.StateAccepted: "accepted",
		smpp.StateUnknown: "unknown", smpp.StateRejected: "rejected", 0: "state_0", 9: "state_9",
	} {
		if got := ReceiptStateName(state); got != want {
			t.Errorf("ReceiptStateName(%d) = %q, want %q", state, got, want)
		}
	}
}
