package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// sendMO delivers a GSM text MO from subscriber to the ready toll-free
// number and checks that it is acknowledged.
func (f *coreFixture) sendMO(from, text string) {
	f.t.Helper()
	if st := f.mo.HandleDeliver(f.ctx, "sim", moPDU(from, tfReady, smpp.CodingDefault, []byte(text))); st != smpp.StatusOK {
		f.t.Fatalf("MO %q: status %v, want ESME_ROK", text, st)
	}
}

// flushReplies sends the queued replies through the reply deliverer and
// returns the PDUs the carrier got for them.
func (f *coreFixture) flushReplies() []*smpp.SubmitSM {
	f.t.Helper()
	before := len(f.link.sent())
	deliverer := ReplyDeliverer(f.mt)
	for _, it := range f.queue(ReplyQueue) {
		if err := deliverer.Deliver(f.ctx, it); err != nil {
			f.t.Fatalf("reply %d: %v", it.Seq, err)
		}
		if err := f.store.Ack(f.ctx, ReplyQueue, it.Seq); err != nil {
			f.t.Fatal(err)
		}
	}
	return f.link.sent()[before:]
}

func TestHandleDeliverKeywordFlows(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *coreFixture)
		texts   []string
		state   consent.State
		replies []string // a fragment of each expected reply, in order
		keyword []string // the keyword of each queued MO, in order
	}{
		{name: "stop", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedIn) },
			texts: []string{"STOP"}, state: consent.StateOptedOut,
			replies: []string{"unsubscribed"}, keyword: []string{"opt_out"}},
		{name: "stop twice confirms once", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedIn) },
			texts: []string{"  stop \r\n", "Stop!"}, state: consent.StateOptedOut,
			replies: []string{"unsubscribed"}, keyword: []string{"opt_out", "opt_out"}},
		{name: "yes after request", setup: func(f *coreFixture) {
			if _, err := f.mt.RequestOptIn(f.ctx, OptInRequest{Account: "acme", To: subscriber}); err != nil {
				f.t.Fatal(err)
			}
		}, texts: []string{"Yes"}, state: consent.StateOptedIn,
			replies: []string{"subscribed"}, keyword: []string{"opt_in"}},
		{name: "yes without request", texts: []string{"YES"}, state: consent.StateNone,
			keyword: []string{"opt_in"}},
		{name: "help", texts: []string{"HELP"}, state: consent.StateNone,
			replies: []string{"(888) 555-0100"}, keyword: []string{"help"}},
		{name: "unstop after stop", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedIn) },
			texts: []string{"STOP", "UNSTOP"}, state: consent.StateOptedIn,
			replies: []string{"unsubscribed", "subscribed again"}, keyword: []string{"opt_out", "resume"}},
		{name: "stop inside a sentence", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedIn) },
			texts: []string{"We have got to STOP this bill"}, state: consent.StateOptedIn, keyword: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			if tt.setup != nil {
				tt.setup(f)
			}
			sentBefore := len(f.link.sent())
			for _, text := range tt.texts {
				f.sendMO(subscriber, text)
			}
			if n := len(f.link.sent()); n != sentBefore {
				t.Errorf("replies went out before the MO was acknowledged: %d PDUs", n-sentBefore)
			}

			items := f.queue("acme")
			if len(items) != len(tt.keyword) {
				t.Fatalf("account queue has %d items, want %d", len(items), len(tt.keyword))
			}
			for i, it := range items {
				if it.Kind != KindMO || it.MO.Text != tt.texts[i] || it.MO.Keyword != tt.keyword[i] {
					t.Errorf("item %d = %+v, want MO %q with keyword %q", i, it.MO, tt.texts[i], tt.keyword[i])
				}
				if it.MO.From != subscriber || it.MO.To != tfReady {
					t.Errorf("item %d numbers %s → %s", i, it.MO.From, it.MO.To)
				}
			}

			replies := f.flushReplies()
			if len(replies) != len(tt.replies) {
				t.Fatalf("carrier got %d replies, want %d", len(replies), len(tt.replies))
			}
			for i, p := range replies {
				if p.SourceAddr != "18885550100" || p.DestinationAddr != "12015550101" {
					t.Errorf("reply %d goes %s → %s, want from the toll-free number the MO went to", i, p.SourceAddr, p.DestinationAddr)
				}
				if text := string(p.ShortMessage); !strings.Contains(text, tt.replies[i]) {
					t.Errorf("reply %d = %q, want it to contain %q", i, text, tt.replies[i])
				}
			}
			rec, err := f.consent.Get(f.ctx, "acme", subscriber)
			if err != nil || rec.State != tt.state {
				t.Errorf("consent state = %v (%v), want %v", rec.State, err, tt.state)
			}
		})
	}
}

func TestHandleDeliverKeywordMetric(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	for _, text := range []string{"STOP", "stop", "HELP", "UNSTOP", "see you at 3"} {
		f.sendMO(subscriber, text)
	}
	// An undecodable text is not classified, so it is not counted.
	undecodable := moPDU(subscriber, tfReady, smpp.CodingUCS2, []byte{0xd8})
	if st := f.mo.HandleDeliver(f.ctx, "sim", undecodable); st != smpp.StatusOK {
		t.Fatalf("undecodable MO: status %v", st)
	}

	tests := []struct {
		keyword, outcome string
		want             float64
	}{
		{"opt_out", "opted_out", 1},
		{"opt_out", "none", 1}, // the second STOP changes nothing
		{"help", "help", 1},
		{"resume", "resumed", 1},
		{"none", "none", 1},
		{"opt_in", "", 0},
	}
	for _, tt := range tests {
		labels := map[string]string{"keyword": tt.keyword}
		if tt.outcome != "" {
			labels["outcome"] = tt.outcome
		}
		if got := f.counter("optgate_gateway_mo_keywords_total", labels); got != tt.want {
			t.Errorf("mo_keywords_total%v = %v, want %v", labels, got, tt.want)
		}
	}
	if got := f.counter("optgate_gateway_mo_keywords_total", nil); got != 5 {
		t.Errorf("mo_keywords_total = %v, want 5", got)
	}
}

func TestHandleDeliverRepliesSkipConsent(t *testing.T) {
	// The opt-out confirmation goes to a number that just opted out; an MT
	// with the same text would be blocked.
	f := newCoreFixture(t, coreOptions{})
	f.sendMO(subscriber, "STOP")
	if got := f.flushReplies(); len(got) != 1 {
		t.Fatalf("replies = %d, want the one confirmation", len(got))
	}
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "promo"})
	if StatusOf(err).Code != CodeOptedOut {
		t.Errorf("MT after STOP: %v, want opted_out", err)
	}
}

// concatPart builds segment seq of total of a UDH-concatenated MO.
func concatPart(ref, total, seq byte, text string) *smpp.DeliverSM {
	p := moPDU(subscriber, tfReady, smpp.CodingDefault, append([]byte{5, 0, 3, ref, total, seq}, text...))
	p.ESMClass = smpp.ESMClassUDHI
	return p
}

func TestHandleDeliverReassemblesOutOfOrder(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	parts := map[byte]string{1: "Please call me ", 2: "about the bill ", 3: "tomorrow."}
	for _, seq := range []byte{3, 1} {
		if st := f.mo.HandleDeliver(f.ctx, "sim", concatPart(0x42, 3, seq, parts[seq])); st != smpp.StatusOK {
			t.Fatalf("segment %d: %v", seq, st)
		}
	}
	// A resent segment is acknowledged again and stored once.
	if st := f.mo.HandleDeliver(f.ctx, "sim", concatPart(0x42, 3, 1, parts[1])); st != smpp.StatusOK {
		t.Fatalf("repeated segment: %v", st)
	}
	if items := f.queue("acme"); len(items) != 0 {
		t.Fatalf("MO queued before its last segment: %+v", items)
	}

	// Segments are durable: they survive a restart.
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	f.store = f.openStore()
	f.mo.cfg.Store = f.store
	if st := f.mo.HandleDeliver(f.ctx, "sim", concatPart(0x42, 3, 2, parts[2])); st != smpp.StatusOK {
		t.Fatalf("segment 2: %v", st)
	}
	items := f.queue("acme")
	if len(items) != 1 || items[0].MO.Text != "Please call me about the bill tomorrow." {
		t.Fatalf("queue = %+v, want the joined text", items)
	}
	if items[0].MO.Segments != 3 {
		t.Errorf("segments = %d", items[0].MO.Segments)
	}
	res, err := f.store.Sweep(f.ctx, SweepLimits{Now: f.clock(), PartsBefore: f.clock().Add(1)})
	if err != nil || len(res.Parts) != 0 {
		t.Errorf("stored segments left after the MO was queued: %d (%v)", len(res.Parts), err)
	}
}

func TestHandleDeliverReassemblesSAR(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	for _, seq := range []uint8{2, 1} {
		p := moPDU(subscriber, tfReady, smpp.CodingDefault, []byte([]string{"", "STO", "P"}[seq]))
		p.TLVs.SetSAR(smpp.SAR{RefNum: 700, TotalSegments: 2, SegmentSeqnum: seq})
		if st := f.mo.HandleDeliver(f.ctx, "sim", p); st != smpp.StatusOK {
			t.Fatalf("segment %d: %v", seq, st)
		}
	}
	items := f.queue("acme")
	if len(items) != 1 || items[0].MO.Text != "STOP" || items[0].MO.Keyword != "opt_out" {
		t.Fatalf("queue = %+v, want the joined STOP", items)
	}
}

func TestHandleDeliverPartialTextExpires(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	if st := f.mo.HandleDeliver(f.ctx, "sim", concatPart(7, 2, 1, "STO")); st != smpp.StatusOK {
		t.Fatal(st)
	}
	sweeper, err := NewSweeper(SweeperConfig{Store: f.store, MO: f.mo, Receipts: f.receipts, Now: f.clock})
	if err != nil {
		t.Fatal(err)
	}
	f.advance(11 * time.Minute)
	if err := sweeper.SweepOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	items := f.queue("acme")
	if len(items) != 1 || !items[0].MO.Partial || items[0].MO.Text != "STO" {
		t.Fatalf("queue = %+v, want the partial text", items)
	}
	rec, _ := f.consent.Get(f.ctx, "acme", subscriber)
	if rec.State != consent.StateNone {
		t.Errorf("a partial text changed consent to %v", rec.State)
	}
}

func TestHandleDeliverStatuses(t *testing.T) {
	tests := []struct {
		name   string
		pdu    func() smpp.PDU
		fail   bool
		status smpp.CommandStatus
	}{
		{name: "unknown destination", status: smpp.StatusInvalidDestAddr,
			pdu: func() smpp.PDU { return moPDU(subscriber, tfOther, 0, []byte("hi")) }},
		{name: "short code destination", status: smpp.StatusInvalidDestAddr,
			pdu: func() smpp.PDU {
				p := moPDU(subscriber, "3838", 0, []byte("hi"))
				p.DestAddrTON = smpp.TONUnknown
				return p
			}},
		{name: "alphanumeric source", status: smpp.StatusInvalidSourceAddr,
			pdu: func() smpp.PDU {
				p := moPDU("ACME", tfReady, 0, []byte("hi"))
				p.SourceAddrTON = smpp.TONAlphanumeric
				return p
			}},
		{name: "payload and short_message", status: smpp.StatusInvalidTLVLength,
			pdu: func() smpp.PDU {
				p := moPDU(subscriber, tfReady, 0, []byte("hi"))
				p.TLVs.SetMessagePayload([]byte("there"))
				return p
			}},
		{name: "header past the data", status: DeliverInvalidSegment,
			pdu: func() smpp.PDU {
				p := moPDU(subscriber, tfReady, 0, []byte{9, 0, 3})
				p.ESMClass = smpp.ESMClassUDHI
				return p
			}},
		{name: "consent store down", fail: true, status: smpp.StatusTempAppError,
			pdu: func() smpp.PDU { return moPDU(subscriber, tfReady, 0, []byte("STOP")) }},
		{name: "unsupported command", status: smpp.StatusInvalidCommandID,
			pdu: func() smpp.PDU { return &smpp.SubmitSM{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.consent.fail.Store(tt.fail)
			if st := f.mo.HandleDeliver(f.ctx, "sim", tt.pdu()); st != tt.status {
				t.Errorf("status = %v, want %v", st, tt.status)
			}
			if items := f.queue("acme"); len(items) != 0 {
				t.Errorf("queued %d items for a rejected MO", len(items))
			}
			if items := f.queue(ReplyQueue); len(items) != 0 {
				t.Errorf("queued %d replies for a rejected MO", len(items))
			}
		})
	}
}

func TestHandleDeliverQueueFailureIsTemporary(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	if err := f.store.Close(); err != nil {
		t.Fatal(err)
	}
	if st := f.mo.HandleDeliver(f.ctx, "sim", moPDU(subscriber, tfReady, 0, []byte("hello"))); st != smpp.StatusTempAppError {
		t.Errorf("status = %v, want ESME_RX_T_APPN", st)
	}
}

// The wire cases below are deliver_sm PDUs from the field, as hex.
func TestHandleDeliverWireCases(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		fix     func(p *smpp.DeliverSM)
		text    string
		keyword string
		pending bool
	}{
		{name: "gsm extension table",
			hex:  "0000004d 00000005 00000000 00000011 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00000000 00000000 00001645 78743a1b 651b3c1b 3e1b281b 291b141b 3d1b2f1b 40",
			text: "Ext:€[]{}^~\\|"},
		{name: "gsm nul inside text",
			hex:  "00000041 00000005 00000000 00000012 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00000000 00000000 00000a43 61660520 00203130 01",
			text: "Café @ 10£"},
		{name: "ucs2 stop with ellipsis",
			hex:  "00000041 00000005 00000000 00000014 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00000000 00000000 08000a00 53007400 6f007020 26",
			text: "Stop…", keyword: "opt_out"},
		{name: "ucs2 stop with no-break space",
			hex:  "00000045 00000005 00000000 00000015 00010131 32303135 35353031 30320001 01313838 38353535 30313030 00000000 00000000 08000e00 a0007300 74006f00 70002100 20",
			text: "\u00a0stop! ", keyword: "opt_out"},
		{name: "udh in message_payload",
			hex:     "00000054 00000005 00000000 00000023 00010131 32303135 35353031 30310001 01313838 38353535 30313030 00400000 00000000 00000004 24001905 0003ab02 0148656c 6c6f2066 726f6d20 70617274 206f6e65",
			pending: true},
		{name: "unexpected tlvs",
			hex: "00000042 00000005 00000000 000000fa 57415000 01013132 30313535 35303130 33000001 33383338 00000000 00000000 00000454 65737402 04000200 c5021000 0134",
			fix: func(p *smpp.DeliverSM) {
				// The captured PDU went to a short code; send it to the
				// account's number so the MO is accepted.
				p.DestAddrTON, p.DestAddrNPI, p.DestinationAddr = smpp.TONInternational, smpp.NPIISDN, "18885550100"
			},
			text: "Test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			p := decodeHexPDU(t, tt.hex).(*smpp.DeliverSM)
			if tt.fix != nil {
				tt.fix(p)
			}
			if st := f.mo.HandleDeliver(context.Background(), "sim", p); st != smpp.StatusOK {
				t.Fatalf("status = %v, want ESME_ROK", st)
			}
			items := f.queue("acme")
			if tt.pending {
				if len(items) != 0 {
					t.Fatalf("first of two segments was queued: %+v", items)
				}
				res, err := f.store.Sweep(f.ctx, SweepLimits{Now: f.clock(), PartsBefore: f.clock().Add(1)})
				if err != nil || len(res.Parts) != 1 {
					t.Fatalf("stored segments = %+v, %v", res.Parts, err)
				}
				got := res.Parts[0]
				if got.Key.Ref != 0xAB || got.Key.Total != 2 || got.Parts[0].Seq != 1 || string(got.Parts[0].Body) != "Hello from part one" {
					t.Errorf("stored segment = %+v", got)
				}
				return
			}
			if len(items) != 1 {
				t.Fatalf("queue has %d items, want 1", len(items))
			}
			if items[0].MO.Text != tt.text || items[0].MO.Keyword != tt.keyword {
				t.Errorf("MO text %q keyword %q, want %q %q", items[0].MO.Text, items[0].MO.Keyword, tt.text, tt.keyword)
			}
		})
	}
}
