package gateway

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

func TestSubmitBlockReasons(t *testing.T) {
	tests := []struct {
		name   string
		opts   coreOptions
		setup  func(f *coreFixture)
		mt     MT
		code   Code
		status smpp.CommandStatus
	}{
		{name: "no consent", mt: MT{From: tfReady, To: subscriber}, code: CodeNoConsent, status: 0x0400},
		{name: "opted out", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedOut) },
			mt: MT{From: tfReady, To: subscriber}, code: CodeOptedOut, status: 0x0401},
		{name: "request limit", setup: func(f *coreFixture) {
			for range 2 {
				if _, err := f.engine.RequestOptIn(f.ctx, consent.OptInRequest{Account: "acme", To: subscriber}); err != nil {
					f.t.Fatal(err)
				}
			}
		}, mt: MT{From: tfReady, To: subscriber}, code: CodeRequestLimit, status: 0x0402},
		{name: "number voided", setup: func(f *coreFixture) { f.setState(subscriber, consent.StateVoided) },
			mt: MT{From: tfReady, To: subscriber}, code: CodeNumberVoided, status: 0x0403},
		{name: "sender not toll-free", mt: MT{From: subscriber2, To: subscriber},
			code: CodeSenderNotTollFree, status: 0x0404},
		{name: "alphanumeric sender", mt: MT{From: "ACME", FromTON: smpp.TONAlphanumeric, To: subscriber},
			code: CodeSenderNotTollFree, status: 0x0404},
		{name: "sender not owned", mt: MT{From: tfOther, To: subscriber}, code: CodeSenderNotOwned, status: 0x0405},
		{name: "sender not ready", mt: MT{From: tfNotReady, To: subscriber}, code: CodeSenderNotReady, status: 0x0406},
		{name: "unknown account", mt: MT{Account: "ghost", From: tfReady, To: subscriber},
			code: CodeUnknownAccount, status: 0x0407},
		{name: "invalid recipient", mt: MT{From: tfReady, To: "not a number"}, code: CodeInvalidNumber, status: 0x0408},
		{name: "quiet hours",
			opts: coreOptions{account: func(a *config.Account) { a.QuietHours = true },
				now: time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC)}, // 23:00 in New Jersey
			setup: func(f *coreFixture) { f.setState(subscriber, consent.StateOptedIn) },
			mt:    MT{From: tfReady, To: subscriber}, code: CodeQuietHours, status: 0x0480},
		{name: "store unavailable", setup: func(f *coreFixture) {
			f.setState(subscriber, consent.StateOptedIn)
			f.consent.fail.Store(true)
		}, mt: MT{From: tfReady, To: subscriber}, code: CodeStoreUnavailable, status: 0x0481},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, tt.opts)
			if tt.setup != nil {
				tt.setup(f)
			}
			mt := tt.mt
			if mt.Account == "" {
				mt.Account = "acme"
			}
			mt.Text = "Your appointment is at 3pm."
			res, err := f.mt.Submit(f.ctx, mt)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Submit = %+v, %v; want *Error %s", res, err, tt.code)
			}
			if e.Code != tt.code {
				t.Errorf("code = %s, want %s", e.Code, tt.code)
			}
			if got := StatusOf(err).SMPP; got != tt.status {
				t.Errorf("SMPP status = %v, want %v", got, tt.status)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs for a blocked message", n)
			}
			if got := f.counter("optgate_gateway_messages_total",
				map[string]string{"direction": "mt", "outcome": "blocked", "reason": string(tt.code)}); got != 1 {
				t.Errorf("blocked counter = %v, want 1", got)
			}
		})
	}
}

func TestSubmitFailClosedIsTemporary(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.consent.fail.Store(true)
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi"})
	st := StatusOf(err)
	if !st.Temporary || st.RetryAfter <= 0 || st.HTTP != 503 || st.SIP != 503 {
		t.Errorf("status = %+v, want temporary 503 with Retry-After", st)
	}
	f.consent.fail.Store(false)
	if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi"}); err != nil {
		t.Errorf("Submit after the store recovered: %v", err)
	}
}

var messageIDPattern = regexp.MustCompile(`^[0-9a-f]{16}$`)

func TestSubmitSendsAndMapsBeforeReturn(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: "(888) 555-0100", To: "2015550101",
		Text: "Reminder: cleaning at 3pm.", RegisteredDelivery: 1, Source: consent.SourceHTTP, ClientRef: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !messageIDPattern.MatchString(res.MessageID) {
		t.Errorf("message id %q is not 16 lowercase hex digits", res.MessageID)
	}
	if res.Segments != 1 || res.Carrier != "sim" {
		t.Errorf("result = %+v, want 1 segment via sim", res)
	}
	pdus := f.link.sent()
	if len(pdus) != 1 {
		t.Fatalf("carrier got %d PDUs, want 1", len(pdus))
	}
	p := pdus[0]
	if p.SourceAddr != "18885550100" || p.SourceAddrTON != smpp.TONInternational || p.SourceAddrNPI != smpp.NPIISDN {
		t.Errorf("source = %d/%d/%q", p.SourceAddrTON, p.SourceAddrNPI, p.SourceAddr)
	}
	if p.DestinationAddr != "12015550101" || p.DestAddrTON != smpp.TONInternational {
		t.Errorf("destination = %d/%q", p.DestAddrTON, p.DestinationAddr)
	}
	if p.DataCoding != smpp.CodingDefault || string(p.ShortMessage) != "Reminder: cleaning at 3pm." {
		t.Errorf("data_coding %v, short_message %q", p.DataCoding, p.ShortMessage)
	}
	if p.RegisteredDelivery != 1 {
		t.Errorf("registered_delivery = %d, want 1", p.RegisteredDelivery)
	}
	rec, err := f.store.Message(f.ctx, res.MessageID)
	if err != nil {
		t.Fatalf("id mapping missing after Submit returned: %v", err)
	}
	if len(rec.Segments) != 1 || rec.Segments[0].CarrierID != "C0001" || rec.ClientRef != "r-1" {
		t.Errorf("mapping = %+v", rec)
	}
	if rec.To != subscriber || rec.From != tfReady || rec.Account != "acme" {
		t.Errorf("mapping numbers = %s → %s for %s", rec.From, rec.To, rec.Account)
	}
}

func TestSubmitMappingVisibleToReceiptDuringReturn(t *testing.T) {
	// A receipt that races the submit_sm_resp relay must still match: the
	// mapping is written before Submit returns, and a receipt that comes
	// earlier still waits for it.
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.before = func(n int, _ *smpp.SubmitSM) {
		st := f.mo.HandleDeliver(f.ctx, "sim", receiptPDU("id:C0001 stat:DELIVRD err:000", nil))
		if st != smpp.StatusOK {
			t.Errorf("receipt status = %v", st)
		}
	}
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi", RegisteredDelivery: 1})
	if err != nil {
		t.Fatal(err)
	}
	items := f.queue("acme")
	if len(items) != 1 || items[0].Receipt == nil || items[0].Receipt.MessageID != res.MessageID {
		t.Fatalf("queue = %+v, want one receipt for %s", items, res.MessageID)
	}
	if items[0].Receipt.State != smpp.StateDelivered {
		t.Errorf("receipt state = %v", items[0].Receipt.State)
	}
}

// longText needs three GSM segments in every split mode.
var longText = strings.Repeat("Your order 12345 has shipped. ", 14)[:400]

func TestSubmitLongMessageModes(t *testing.T) {
	tests := []struct {
		mode     string
		segments int
		check    func(t *testing.T, pdus []*smpp.SubmitSM)
	}{
		{mode: config.LongUDH, segments: 3, check: func(t *testing.T, pdus []*smpp.SubmitSM) {
			var text []byte
			ref := pdus[0].ShortMessage[3]
			for i, p := range pdus {
				if p.ESMClass&smpp.ESMClassUDHI == 0 {
					t.Errorf("segment %d: UDHI not set", i+1)
				}
				want := []byte{0x05, 0x00, 0x03, ref, 3, byte(i + 1)}
				if !bytes.Equal(p.ShortMessage[:6], want) {
					t.Errorf("segment %d header = % x, want % x", i+1, p.ShortMessage[:6], want)
				}
				text = append(text, p.ShortMessage[6:]...)
			}
			if string(text) != longText {
				t.Errorf("joined segments differ from the text")
			}
		}},
		{mode: config.LongSAR, segments: 3, check: func(t *testing.T, pdus []*smpp.SubmitSM) {
			var text []byte
			first, _ := pdus[0].TLVs.SAR()
			for i, p := range pdus {
				sar, err := p.TLVs.SAR()
				if err != nil {
					t.Fatalf("segment %d: %v", i+1, err)
				}
				if sar.RefNum != first.RefNum || sar.TotalSegments != 3 || int(sar.SegmentSeqnum) != i+1 {
					t.Errorf("segment %d sar = %+v", i+1, sar)
				}
				if p.ESMClass&smpp.ESMClassUDHI != 0 {
					t.Errorf("segment %d: UDHI set in SAR mode", i+1)
				}
				text = append(text, p.ShortMessage...)
			}
			if string(text) != longText {
				t.Errorf("joined segments differ from the text")
			}
		}},
		{mode: config.LongPayload, segments: 1, check: func(t *testing.T, pdus []*smpp.SubmitSM) {
			payload, err := pdus[0].TLVs.MessagePayload()
			if err != nil || string(payload) != longText || len(pdus[0].ShortMessage) != 0 {
				t.Errorf("payload %q (%v), short_message %q", payload, err, pdus[0].ShortMessage)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) { c.LongMessages = tt.mode }})
			f.setState(subscriber, consent.StateOptedIn)
			res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: longText})
			if err != nil {
				t.Fatal(err)
			}
			pdus := f.link.sent()
			if len(pdus) != tt.segments || res.Segments != tt.segments {
				t.Fatalf("sent %d PDUs, result %d segments; want %d", len(pdus), res.Segments, tt.segments)
			}
			tt.check(t, pdus)
			rec, err := f.store.Message(f.ctx, res.MessageID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.Segments) != tt.segments || rec.Total != tt.segments {
				t.Errorf("mapping has %d of %d segments, want %d", len(rec.Segments), rec.Total, tt.segments)
			}
		})
	}
}

func TestSubmitPayloadModeShortText(t *testing.T) {
	f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) { c.LongMessages = config.LongPayload }})
	f.setState(subscriber, consent.StateOptedIn)
	if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "short"}); err != nil {
		t.Fatal(err)
	}
	p := f.link.sent()[0]
	if string(p.ShortMessage) != "short" || p.TLVs.Has(smpp.TagMessagePayload) {
		t.Errorf("short text: short_message %q, payload present %v", p.ShortMessage, p.TLVs.Has(smpp.TagMessagePayload))
	}
}

func TestSubmitCodingPerCarrier(t *testing.T) {
	tests := []struct {
		name     string
		default0 string
		text     string
		coding   smpp.DataCoding
		data     []byte
	}{
		{"gsm euro", config.DataCodingGSM7, "€5", smpp.CodingDefault, []byte{0x1B, 0x65, '5'}},
		{"gsm emoji", config.DataCodingGSM7, "ok 👍", smpp.CodingUCS2, []byte{0, 'o', 0, 'k', 0, ' ', 0xD8, 0x3D, 0xDC, 0x4D}},
		{"latin1 accents", config.DataCodingLatin1, "Café", smpp.CodingDefault, []byte{'C', 'a', 'f', 0xE9}},
		{"latin1 euro", config.DataCodingLatin1, "€", smpp.CodingUCS2, []byte{0x20, 0xAC}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) { c.DataCoding0 = tt.default0 }})
			f.setState(subscriber, consent.StateOptedIn)
			if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: tt.text}); err != nil {
				t.Fatal(err)
			}
			p := f.link.sent()[0]
			if p.DataCoding != tt.coding || !bytes.Equal(p.ShortMessage, tt.data) {
				t.Errorf("data_coding %v data % x, want %v % x", p.DataCoding, p.ShortMessage, tt.coding, tt.data)
			}
		})
	}
}

func TestSubmitRawData(t *testing.T) {
	tests := []struct {
		name  string
		mt    MT
		check func(t *testing.T, p *smpp.SubmitSM)
	}{
		{name: "ucs2 decoded and re-encoded", mt: MT{DataCoding: smpp.CodingUCS2, Data: []byte{0, 'h', 0, 'i'}},
			check: func(t *testing.T, p *smpp.SubmitSM) {
				if p.DataCoding != smpp.CodingDefault || string(p.ShortMessage) != "hi" {
					t.Errorf("coding %v data %q", p.DataCoding, p.ShortMessage)
				}
			}},
		{name: "binary passed through", mt: MT{DataCoding: smpp.CodingBinary, Data: []byte{0xCA, 0xFE}},
			check: func(t *testing.T, p *smpp.SubmitSM) {
				if p.DataCoding != smpp.CodingBinary || !bytes.Equal(p.ShortMessage, []byte{0xCA, 0xFE}) {
					t.Errorf("coding %v data % x", p.DataCoding, p.ShortMessage)
				}
			}},
		{name: "business segment kept", mt: MT{DataCoding: smpp.CodingDefault, UDH: []byte{5, 0, 3, 9, 2, 1}, Data: []byte("part")},
			check: func(t *testing.T, p *smpp.SubmitSM) {
				if p.ESMClass&smpp.ESMClassUDHI == 0 || !bytes.Equal(p.ShortMessage, []byte{5, 0, 3, 9, 2, 1, 'p', 'a', 'r', 't'}) {
					t.Errorf("esm_class %#x data % x", p.ESMClass, p.ShortMessage)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			mt := tt.mt
			mt.Account, mt.From, mt.To = "acme", tfReady, subscriber
			if _, err := f.mt.Submit(f.ctx, mt); err != nil {
				t.Fatal(err)
			}
			tt.check(t, f.link.sent()[0])
		})
	}
}

func TestSubmitBusinessSegmentToSARCarrier(t *testing.T) {
	f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) { c.LongMessages = config.LongSAR }})
	f.setState(subscriber, consent.StateOptedIn)
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber,
		UDH: []byte{5, 0, 3, 9, 2, 1}, Data: []byte("part")})
	if err != nil {
		t.Fatal(err)
	}
	p := f.link.sent()[0]
	sar, err := p.TLVs.SAR()
	if err != nil || sar != (smpp.SAR{RefNum: 9, TotalSegments: 2, SegmentSeqnum: 1}) {
		t.Errorf("sar = %+v, %v", sar, err)
	}
	if p.ESMClass&smpp.ESMClassUDHI != 0 || string(p.ShortMessage) != "part" {
		t.Errorf("esm_class %#x short_message %q, want the header moved to TLVs", p.ESMClass, p.ShortMessage)
	}
}

func TestSubmitInvalidMessage(t *testing.T) {
	tests := []struct {
		name string
		mt   MT
		code Code
	}{
		{"empty", MT{}, CodeInvalidMessage},
		{"text and data", MT{Text: "a", Data: []byte("b")}, CodeInvalidMessage},
		{"odd ucs2", MT{DataCoding: smpp.CodingUCS2, Data: []byte{0, 'a', 0}}, CodeInvalidMessage},
		{"broken udh", MT{UDH: []byte{5, 0, 3}, Data: []byte("x")}, CodeInvalidMessage},
		{"too many segments", MT{Text: strings.Repeat("x", 153*255+1)}, CodeMessageTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			mt := tt.mt
			mt.Account, mt.From, mt.To = "acme", tfReady, subscriber
			_, err := f.mt.Submit(f.ctx, mt)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("Submit error = %v, want code %s", err, tt.code)
			}
			if len(f.link.sent()) != 0 {
				t.Errorf("carrier got PDUs for an invalid message")
			}
		})
	}
}

func TestSubmitCarrierErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		code      Code
		status    smpp.CommandStatus
		temporary bool
	}{
		{"rejected", &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusSubmitFailed},
			CodeCarrierRejected, smpp.StatusSubmitFailed, false},
		{"invalid destination", &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusInvalidDestAddr},
			CodeCarrierRejected, smpp.StatusInvalidDestAddr, false},
		{"throttled", &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusThrottled},
			CodeCarrierBusy, smpp.StatusThrottled, true},
		{"queue full", &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusMsgQueueFull},
			CodeCarrierBusy, smpp.StatusMsgQueueFull, true},
		{"no session", ErrLinkUnavailable, CodeCarrierUnavailable, 0x0482, true},
		{"timeout", context.DeadlineExceeded, CodeCarrierTimeout, 0x040F, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			f.link.fail = func(int) error { return tt.err }
			_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi"})
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("error = %v, want code %s", err, tt.code)
			}
			st := e.Status()
			if st.SMPP != tt.status || st.Temporary != tt.temporary {
				t.Errorf("status %v temporary %v, want %v %v", st.SMPP, st.Temporary, tt.status, tt.temporary)
			}
			if e.Carrier != "sim" {
				t.Errorf("carrier = %q", e.Carrier)
			}
		})
	}
}

func TestSubmitPartialFailure(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	f.setState(subscriber, consent.StateOptedIn)
	f.link.fail = func(n int) error {
		if n == 2 {
			return &smpp.StatusError{CommandID: smpp.SubmitSMRespID, Status: smpp.StatusThrottled}
		}
		return nil
	}
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: longText, RegisteredDelivery: 1})
	var e *Error
	if !errors.As(err, &e) || e.Code != CodePartialSubmit {
		t.Fatalf("error = %v, want partial_submit", err)
	}
	if e.Accepted != 1 || e.Segments != 3 || e.MessageID == "" || e.CarrierStatus != smpp.StatusThrottled {
		t.Errorf("error = %+v", e)
	}
	if st := e.Status(); st.Temporary || st.SMPP != 0x040B {
		t.Errorf("status %+v: a partial submit must not invite an automatic resend", st)
	}
	if n := len(f.link.sent()); n != 2 {
		t.Errorf("carrier got %d PDUs, want 2 (no segment after the failure)", n)
	}
	rec, err := f.store.Message(f.ctx, e.MessageID)
	if err != nil || !rec.Failed || len(rec.Segments) != 1 {
		t.Fatalf("mapping = %+v, %v; want the accepted segment, marked failed", rec, err)
	}
	if st := f.mo.HandleDeliver(f.ctx, "sim", receiptPDU("id:C0001 stat:DELIVRD err:000", nil)); st != smpp.StatusOK {
		t.Errorf("receipt status = %v", st)
	}
	if items := f.queue("acme"); len(items) != 0 {
		t.Errorf("receipt of a failed message reached the business: %+v", items)
	}
	if got := f.counter("optgate_gateway_messages_total",
		map[string]string{"direction": "receipt", "outcome": "unmatched"}); got != 0 {
		t.Errorf("receipts kept unmatched = %v, want 0", got)
	}
}

func TestSubmitNoRoute(t *testing.T) {
	f := newCoreFixture(t, coreOptions{carrier: func(c *config.Carrier) { c.Routes = []string{"+1201"} }})
	_, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: "+447700900123", Text: "hi"})
	// Consent comes first: the number never opted in.
	if StatusOf(err).Code != CodeNoConsent {
		t.Fatalf("error = %v, want no_consent", err)
	}
	if _, err := f.consent.Apply(f.ctx, consent.Event{Kind: consent.EventImport, Account: "acme", Number: "+447700900123",
		Import: consent.StateOptedIn, Time: f.clock()}); err != nil {
		t.Fatal(err)
	}
	_, err = f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: "+447700900123", Text: "hi"})
	if st := StatusOf(err); st.Code != CodeNoRoute || st.SMPP != 0x040A {
		t.Errorf("status = %+v, want no_route 0x040A", st)
	}
}

func TestSubmitBlockedReceipts(t *testing.T) {
	f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.BlockedReceipts = true }})
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		Source: consent.SourceSMPP, ClientRef: "ref-9"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Blocked != CodeNoConsent || !messageIDPattern.MatchString(res.MessageID) {
		t.Errorf("result = %+v", res)
	}
	items := f.queue("acme")
	if len(items) != 1 || items[0].Receipt == nil {
		t.Fatalf("queue = %+v, want one receipt", items)
	}
	r := items[0].Receipt
	if r.State != smpp.StateRejected || r.Err != "400" || r.Blocked != CodeNoConsent || r.MessageID != res.MessageID {
		t.Errorf("receipt = %+v", r)
	}
	if len(f.link.sent()) != 0 {
		t.Errorf("blocked message reached the carrier")
	}

	// HTTP businesses and temporary blocks keep the error status.
	if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		Source: consent.SourceHTTP}); StatusOf(err).Code != CodeNoConsent {
		t.Errorf("http submit error = %v, want no_consent", err)
	}
	f.consent.fail.Store(true)
	if _, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi",
		Source: consent.SourceSMPP}); StatusOf(err).Code != CodeStoreUnavailable {
		t.Errorf("temporary block error = %v, want store_unavailable", err)
	}
}

func TestSubmitShadowMode(t *testing.T) {
	f := newCoreFixture(t, coreOptions{account: func(a *config.Account) { a.Shadow = true }})
	res, err := f.mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Shadow != CodeNoConsent || len(f.link.sent()) != 1 {
		t.Errorf("result %+v, %d PDUs; want sent with shadow no_consent", res, len(f.link.sent()))
	}
	if got := f.counter("optgate_gateway_messages_total", map[string]string{"outcome": "shadow"}); got != 1 {
		t.Errorf("shadow counter = %v", got)
	}
}

func TestRequestOptIn(t *testing.T) {
	f := newCoreFixture(t, coreOptions{})
	res, err := f.mt.RequestOptIn(f.ctx, OptInRequest{Account: "acme", To: subscriber, Source: consent.SourceSIP})
	if err != nil {
		t.Fatal(err)
	}
	pdus := f.link.sent()
	if len(pdus) != 1 || pdus[0].SourceAddr != "18885550100" {
		t.Fatalf("sent %d PDUs, want one from the ready toll-free number", len(pdus))
	}
	text := string(pdus[0].ShortMessage)
	for _, want := range []string{"Acme Dental", "(888) 555-0100", "YES", "STOP"} {
		if !strings.Contains(text, want) {
			t.Errorf("request %q lacks %q", text, want)
		}
	}
	history, err := f.consent.History(f.ctx, "acme", subscriber)
	if err != nil || len(history) != 1 {
		t.Fatalf("history = %+v, %v", history, err)
	}
	if ids := history[0].MessageIDs; len(ids) != 1 || ids[0] != res.MessageID {
		t.Errorf("audit message ids = %v, want [%s]", ids, res.MessageID)
	}
	if res.Request != 1 {
		t.Errorf("request number = %d, want 1", res.Request)
	}
	if res.Text != text || res.Text != history[0].Text {
		t.Errorf("result text = %q, want the text sent and recorded, %q", res.Text, text)
	}
	if res.From != tfReady || res.To != subscriber {
		t.Errorf("result numbers %s -> %s, want %s -> %s", res.From, res.To, tfReady, subscriber)
	}

	second, err := f.mt.RequestOptIn(f.ctx, OptInRequest{Account: "acme", To: "(201) 555-0101"})
	if err != nil {
		t.Fatalf("second request: %v", err)
	}
	if second.Request != 2 || second.To != subscriber {
		t.Errorf("second request = number %d to %s, want number 2 to %s", second.Request, second.To, subscriber)
	}
	_, err = f.mt.RequestOptIn(f.ctx, OptInRequest{Account: "acme", To: subscriber})
	if st := StatusOf(err); st.Code != CodeRequestLimit || st.HTTP != 403 {
		t.Errorf("third request status = %+v, want request_limit 403", st)
	}
	if n := len(f.link.sent()); n != 2 {
		t.Errorf("carrier got %d requests, want 2", n)
	}
}

func TestRequestOptInRefusals(t *testing.T) {
	tests := []struct {
		name  string
		state consent.State
		req   OptInRequest
		code  Code
	}{
		{"opted out", consent.StateOptedOut, OptInRequest{}, CodeOptedOut},
		{"already opted in", consent.StateOptedIn, OptInRequest{}, CodeAlreadyOptedIn},
		{"sender not ready", 0, OptInRequest{TollFree: tfNotReady}, CodeSenderNotReady},
		{"sender not owned", 0, OptInRequest{TollFree: tfOther}, CodeSenderNotOwned},
		{"unknown account", 0, OptInRequest{Account: "ghost"}, CodeUnknownAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			if tt.state != 0 {
				f.setState(subscriber, tt.state)
			}
			req := tt.req
			if req.Account == "" {
				req.Account = "acme"
			}
			req.To = subscriber
			_, err := f.mt.RequestOptIn(f.ctx, req)
			if got := StatusOf(err).Code; got != tt.code {
				t.Errorf("code = %s (%v), want %s", got, err, tt.code)
			}
			if len(f.link.sent()) != 0 {
				t.Errorf("a refused request reached the carrier")
			}
		})
	}
}
