package gateway

import (
	"fmt"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// submitOne sends an MT with receipts requested and returns optgate's id.
func (f *coreFixture) submitOne(text string) string {
	f.t.Helper()
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: text, RegisteredDelivery: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.MessageID
}

func (f *coreFixture) deliverReceipt(p smpp.PDU) {
	f.t.Helper()
	if st := f.mo.HandleDeliver(f.ctx, "sim", p); st != smpp.StatusOK {
		f.t.Fatalf("receipt status = %v, want ESME_ROK", st)
	}
}

func (f *coreFixture) receiptItems() []*ReceiptItem {
	f.t.Helper()
	var out []*ReceiptItem
	for _, it := range f.queue("acme") {
		if it.Kind != KindReceipt {
			f.t.Fatalf("queue item %d is a %v", it.Seq, it.Kind)
		}
		out = append(out, it.Receipt)
	}
	return out
}

func TestReceiptIDFormats(t *testing.T) {
	tests := []struct {
		name      string
		format    string
		zeros     string
		carrierID string
		pdu       func() smpp.PDU
		matched   bool
	}{
		{name: "hex response, decimal receipt", format: config.MessageIDHex, zeros: config.LeadingZerosKeep,
			carrierID: "00B8BE19",
			pdu:       func() smpp.PDU { return receiptPDU("id:12107289 stat:DELIVRD err:000", nil) }, matched: true},
		{name: "hex case differs", format: config.MessageIDHex, zeros: config.LeadingZerosKeep,
			carrierID: "a1b2c3", pdu: func() smpp.PDU { return receiptPDU("id:A1B2C3 stat:DELIVRD err:000", nil) },
			matched: true},
		{name: "decimal response, hex receipt", format: config.MessageIDDecimal, zeros: config.LeadingZerosKeep,
			carrierID: "12107289", pdu: func() smpp.PDU { return receiptPDU("id:B8BE19 stat:DELIVRD err:000", nil) },
			matched: true},
		{name: "leading zeros stripped", format: config.MessageIDAsIs, zeros: config.LeadingZerosStrip,
			carrierID: "00B8BE19", pdu: func() smpp.PDU { return receiptPDU("id:B8BE19 stat:DELIVRD err:000", nil) },
			matched: true},
		{name: "leading zeros kept", format: config.MessageIDAsIs, zeros: config.LeadingZerosKeep,
			carrierID: "00B8BE19", pdu: func() smpp.PDU { return receiptPDU("id:B8BE19 stat:DELIVRD err:000", nil) },
			matched: false},
		{name: "as is differs in case", format: config.MessageIDAsIs, zeros: config.LeadingZerosKeep,
			carrierID: "abc", pdu: func() smpp.PDU { return receiptPDU("id:ABC stat:DELIVRD err:000", nil) },
			matched: false},
		{name: "zeros tlv and text", format: config.MessageIDHex, zeros: config.LeadingZerosStrip,
			carrierID: "00B8BE19",
			pdu: func() smpp.PDU {
				// The submit_sm_resp and receipt of a carrier that drops
				// leading zeros in receipted_message_id.
				return decodeHexPDU(t, "000000b7 00000005 00000000 00000032 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00040000 00000000 00007069 643a3030 42384245 31392073 75623a30 30312064 6c767264 3a303031 20737562 6d697420 64617465 3a323631 32303431 35333020 646f6e65 20646174 653a3236 31323034 31353331 20737461 743a4445 4c495652 44206572 723a3030 30207465 78743a59 6f757220 636f6465 20697300 1e000742 38424531 39000427 000102")
			}, matched: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) {
				c.MessageID = config.MessageIDFormat{Format: tt.format, LeadingZeros: tt.zeros}
			}})
			f.setState(subscriber, consent.StateOptedIn)
			f.link.nextID = func(int) string { return tt.carrierID }
			id := f.submitOne("hi")
			f.deliverReceipt(tt.pdu())
			items := f.receiptItems()
			kept := f.counter("optgate_gateway_messages_total", map[string]string{"direction": "receipt", "outcome": "unmatched"})
			if !tt.matched {
				if len(items) != 0 || kept != 1 {
					t.Errorf("items %d, kept %v; want the receipt kept unmatched", len(items), kept)
				}
				return
			}
			if kept != 0 {
				t.Errorf("receipts kept unmatched = %v, want 0", kept)
			}
			if len(items) != 1 || items[0].MessageID != id || items[0].State != smpp.StateDelivered {
				t.Fatalf("receipts = %+v, want DELIVRD for %s", items, id)
			}
		})
	}
}

func TestReceiptBeforeMapping(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.deliverReceipt(receiptPDU("id:C0001 stat:DELIVRD err:000", nil))
	kept := map[string]string{"direction": "receipt", "outcome": "unmatched"}
	if got := f.counter("optgate_gateway_messages_total", kept); got != 1 {
		t.Fatalf("receipts kept unmatched = %v, want 1", got)
	}
	if items := f.receiptItems(); len(items) != 0 {
		t.Fatalf("receipt queued without a mapping: %+v", items)
	}

	// The receipt raced the submit_sm_resp, so it came just before the
	// submit time the record keeps.
	f.advance(500 * time.Millisecond)
	id := f.submitOne("hi")
	items := f.receiptItems()
	if len(items) != 1 || items[0].MessageID != id || items[0].State != smpp.StateDelivered {
		t.Fatalf("receipts = %+v, want the kept receipt matched to %s", items, id)
	}
	sim := map[string]string{"carrier": "sim"}
	if got := f.counter("optgate_gateway_receipts_matched_late_total", sim); got != 1 {
		t.Errorf("late matches = %v, want 1", got)
	}
	if got := f.counter("optgate_gateway_receipts_unmatched_total", nil); got != 0 {
		t.Errorf("unmatched receipts = %v, want 0 for a receipt matched late", got)
	}
	f.mu.Lock()
	notified := append([]string(nil), f.notified...)
	f.mu.Unlock()
	if len(notified) == 0 || notified[len(notified)-1] != "acme" {
		t.Errorf("notified queues = %v, want acme", notified)
	}
}

func TestReceiptUnmatchedExpires(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.deliverReceipt(receiptPDU("id:NOPE stat:DELIVRD err:000", nil))
	sweeper, err := NewSweeper(SweeperConfig{Store: f.store, MO: f.mo, Receipts: f.receipts, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := sweeper.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := f.counter("optgate_gateway_receipts_unmatched_total", nil); got != 0 {
		t.Fatalf("unmatched before its retention ended: %v", got)
	}
	f.advance(11 * time.Minute)
	if err := sweeper.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	sim := map[string]string{"carrier": "sim"}
	if got := f.counter("optgate_gateway_receipts_unmatched_total", sim); got != 1 {
		t.Errorf("unmatched counter = %v, want 1", got)
	}
	if got := f.counter("optgate_gateway_receipts_unmatched_expired_total", sim); got != 1 {
		t.Errorf("unmatched_expired counter = %v, want 1", got)
	}

	// The mapping now comes too late.
	f.setState(subscriber, consent.StateOptedIn)
	f.link.nextID = func(int) string { return "NOPE" }
	f.submitOne("hi")
	if items := f.receiptItems(); len(items) != 0 {
		t.Errorf("an expired receipt matched: %+v", items)
	}
	if got := f.counter("optgate_gateway_receipts_matched_late_total", nil); got != 0 {
		t.Errorf("late matches = %v, want 0 after the receipt expired", got)
	}
}

func TestReceiptPolicies(t *testing.T) {
	type receipt struct {
		segment int // 1-based
		stat    string
	}
	tests := []struct {
		policy   string
		receipts []receipt
		want     []string // stat, or stat/segment under all
	}{
		{config.ReceiptFirst, []receipt{{2, "DELIVRD"}, {1, "UNDELIV"}, {3, "DELIVRD"}}, []string{"UNDELIV"}},
		{config.ReceiptLast, []receipt{{3, "EXPIRED"}, {1, "DELIVRD"}, {2, "DELIVRD"}}, []string{"EXPIRED"}},
		{config.ReceiptAll, []receipt{{2, "DELIVRD"}, {1, "DELIVRD"}, {3, "UNDELIV"}},
			[]string{"DELIVRD/2", "DELIVRD/1", "UNDELIV/3"}},
		{config.ReceiptWorst, []receipt{{1, "DELIVRD"}, {3, "DELIVRD"}, {2, "DELIVRD"}}, []string{"DELIVRD"}},
		{config.ReceiptWorst, []receipt{{1, "DELIVRD"}, {2, "UNDELIV"}, {3, "REJECTD"}}, []string{"UNDELIV"}},
		{config.ReceiptWorst, []receipt{{1, "ENROUTE"}, {2, "DELIVRD"}}, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %v", tt.policy, tt.receipts), func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.ReceiptPolicy = tt.policy }})
			f.setState(subscriber, consent.StateOptedIn)
			id := f.submitOne(longText)
			for _, r := range tt.receipts {
				f.deliverReceipt(receiptPDU(fmt.Sprintf("id:C%04d stat:%s err:000", r.segment, r.stat), nil))
			}
			items := f.receiptItems()
			var got []string
			for _, it := range items {
				if it.MessageID != id || it.Segments != 3 {
					t.Errorf("receipt %+v, want message %s of 3 segments", it, id)
				}
				s := it.Stat
				if it.Segment != 0 {
					s = fmt.Sprintf("%s/%d", s, it.Segment)
				}
				got = append(got, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("receipts = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestReceiptRegisteredDelivery(t *testing.T) {
	tests := []struct {
		registered uint8
		stat       string
		want       int
	}{
		{0, "DELIVRD", 0},
		{1, "DELIVRD", 1},
		{2, "DELIVRD", 0},
		{2, "UNDELIV", 1},
		{1, "ENROUTE", 0},
		{0x11, "ENROUTE", 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%#x %s", tt.registered, tt.stat), func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
				RegisteredDelivery: tt.registered}); err != nil {
				t.Fatal(err)
			}
			f.deliverReceipt(receiptPDU("id:C0001 stat:"+tt.stat+" err:000", nil))
			if got := len(f.receiptItems()); got != tt.want {
				t.Errorf("receipts = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestReceiptNetworkErrorCode(t *testing.T) {
	f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) {
		c.MessageID = config.MessageIDFormat{Format: config.MessageIDHex, LeadingZeros: config.LeadingZerosKeep}
	}})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.nextID = func(int) string { return "7A3F0011" }
	id := f.submitOne("hi")
	f.deliverReceipt(decodeHexPDU(t, "000000b5 00000005 00000000 00000061 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00040000 00000000 00006569 643a3741 33463030 31312073 75623a30 30312064 6c767264 3a303030 20737562 6d697420 64617465 3a323631 32303431 32303020 646f6e65 20646174 653a3236 31323034 31323031 20737461 743a554e 44454c49 56206572 723a3230 35302074 6578743a 001e0009 37413346 30303131 00042700 01050423 00030308 02"))
	items := f.receiptItems()
	if len(items) != 1 {
		t.Fatalf("receipts = %+v", items)
	}
	r := items[0]
	if r.MessageID != id || r.State != smpp.StateUndeliverable || r.Err != "2050" {
		t.Errorf("receipt = %+v, want UNDELIV err 2050 for %s", r, id)
	}
	if r.NetworkError == nil || *r.NetworkError != (smpp.NetworkErrorCode{NetworkType: 3, ErrorCode: 2050}) {
		t.Errorf("network error = %v, want GSM 2050", r.NetworkError)
	}
	if want := time.Date(2026, 12, 4, 12, 1, 0, 0, time.UTC); !r.DoneDate.Equal(want) {
		t.Errorf("done date = %v, want %v", r.DoneDate, want)
	}
}

func TestReceiptInvalidNetworkErrorIgnored(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.submitOne("hi")
	tlvs := smpp.TLVs{{Tag: smpp.TagNetworkErrorCode, Value: []byte{3, 8}}}
	f.deliverReceipt(receiptPDU("id:C0001 stat:UNDELIV", tlvs))
	items := f.receiptItems()
	if len(items) != 1 || items[0].State != smpp.StateUndeliverable || items[0].NetworkError != nil {
		t.Errorf("receipts = %+v, want UNDELIV without a network error", items)
	}
}

func TestReceiptASCIIWithUCS2Coding(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.nextID = func(int) string { return "S2131124209163650445" }
	id := f.submitOne("hi")
	p := decodeHexPDU(t, "000000a6 00000005 00000000 00000037 00000031 32303135 35353031 30310000 00416c65 72747300 04000000 00000008 00746964 3a533231 33313132 34323039 31363336 35303434 35207375 623a3030 3120646c 7672643a 30303120 7375626d 69742064 6174653a 32363132 30343136 33363530 20646f6e 65206461 74653a32 36313230 34313633 36353720 73746174 3a44454c 49565244 20657272 3a303030 20746578 743a")
	f.deliverReceipt(p)
	items := f.receiptItems()
	if len(items) != 1 || items[0].MessageID != id || items[0].State != smpp.StateDelivered {
		t.Fatalf("receipts = %+v, want DELIVRD for %s", items, id)
	}
	if want := time.Date(2026, 12, 4, 16, 36, 57, 0, time.UTC); !items[0].DoneDate.Equal(want) {
		t.Errorf("done date = %v, want %v", items[0].DoneDate, want)
	}
}

func TestReceiptMissingOptionalFields(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.nextID = func(int) string { return "0654354026" }
	id := f.submitOne("hi")
	f.deliverReceipt(decodeHexPDU(t, "00000085 00000005 00000000 00000035 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00040000 00000000 00004e69 643a3036 35343335 34303236 20737562 6d697420 64617465 3a323631 32303431 34353420 646f6e65 20646174 653a3236 31323034 31343534 20737461 743a4445 4c495652 44206572 723a3030 30"))
	items := f.receiptItems()
	if len(items) != 1 || items[0].MessageID != id || items[0].Err != "000" {
		t.Fatalf("receipts = %+v", items)
	}
}

func TestReceiptUnparsableIsDropped(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.deliverReceipt(receiptPDU("garbage without fields", nil))
	if got := f.counter("optgate_gateway_messages_total", map[string]string{"direction": "receipt", "outcome": "invalid"}); got != 1 {
		t.Errorf("invalid receipts = %v, want 1", got)
	}
	if got := f.counter("optgate_gateway_receipts_unmatched_total", nil); got != 0 {
		t.Errorf("unparsable receipt counted as unmatched")
	}
}

func TestReceiptDuplicateFinalIgnored(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.submitOne("hi")
	f.deliverReceipt(receiptPDU("id:C0001 stat:DELIVRD err:000", nil))
	f.deliverReceipt(receiptPDU("id:C0001 stat:DELIVRD err:000", nil))
	if n := len(f.receiptItems()); n != 1 {
		t.Errorf("receipts = %d, want 1 for a repeated receipt", n)
	}
}
