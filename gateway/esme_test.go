package gateway

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// bindStatus returns the command_status a bind gets, ESME_ROK on success.
func (f *daemonFixture) bindStatus(systemID, password string) smpp.CommandStatus {
	f.t.Helper()
	_, err := f.dial(systemID, password, smpp.BindTypeTransceiver)
	var st *smpp.StatusError
	switch {
	case err == nil:
		return smpp.StatusOK
	case errors.As(err, &st):
		return st.Status
	}
	f.t.Fatalf("bind %s: %v", systemID, err)
	return 0
}

func TestESMEBindCredentials(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	tests := []struct {
		name, systemID, password string
		want                     smpp.CommandStatus
	}{
		{"wrong password", "acme01", "secret2", smpp.StatusInvalidPassword},
		{"unknown system_id", "nobody", "secret1", smpp.StatusInvalidPassword},
		{"empty password", "acme01", "", smpp.StatusInvalidPassword},
		{"valid", "acme01", "secret1", smpp.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.bindStatus(tt.systemID, tt.password); got != tt.want {
				t.Errorf("bind status %v, want %v", got, tt.want)
			}
		})
	}
	credentials := map[string]string{"reason": "credentials"}
	if n := gathered(t, f.d.prom, "optgate_esme_bind_rejections_total", credentials); n != 3 {
		t.Errorf("credential rejections metric %v, want 3", n)
	}
}

func TestESMEMaxBindsPerSystemID(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	first := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	f.bind("acme01", "secret1", smpp.BindTypeReceiver)
	if got := f.bindStatus("acme01", "secret1"); got != smpp.StatusBindFailed {
		t.Fatalf("third bind: %v, want ESME_RBINDFAIL (max_binds 2)", got)
	}
	if n := gathered(t, f.d.prom, "optgate_esme_sessions_bound", map[string]string{"account": "acme"}); n != 2 {
		t.Errorf("sessions bound gauge %v, want 2", n)
	}

	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	if err := first.client.Unbind(ctx); err != nil {
		t.Fatal(err)
	}
	f.waitFor("the slot to free", func() bool { return f.d.esme.BoundReceivers("acme") == 1 })
	f.waitFor("a new bind to succeed", func() bool { return f.bindStatus("acme01", "secret1") == smpp.StatusOK })
}

func TestESMERebindAfterUnbind(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
		c.Accounts[0].ESMEs[0].MaxBinds = 1
	}})
	for i := range 5 {
		b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
		ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
		err := b.client.Unbind(ctx)
		cancel()
		if err != nil {
			t.Fatalf("unbind %d: %v", i+1, err)
		}
		// The rebind follows the unbind_resp at once, usually before the
		// server has closed the old session.
		if got := f.bindStatus("acme01", "secret1"); got != smpp.StatusOK {
			t.Fatalf("rebind %d: %v, want ESME_ROK (max_binds 1)", i+1, got)
		}
		f.waitFor("the rebound session to count", func() bool { return f.d.esme.BoundReceivers("acme") == 1 })
		for _, s := range f.d.esme.receivers("acme") {
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
		f.waitFor("the slot to free", func() bool { return f.d.esme.BoundReceivers("acme") == 0 })
	}
}

func TestBindSlotsWaitForUnbinding(t *testing.T) {
	id := ESMEIdentity{Account: "acme", SystemID: "acme01", MaxBinds: 1}
	ctx := context.Background()
	s := newBindSlots()
	if !s.reserve(ctx, id, 0, 0) {
		t.Fatal("first reserve failed")
	}
	start := time.Now()
	if s.reserve(ctx, id, time.Minute, 20*time.Millisecond) {
		t.Fatal("second reserve succeeded with max_binds 1")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("full slots without an unbinding session waited %v, want the short drop wait", d)
	}

	s.unbound("acme01")
	done := make(chan bool)
	go func() { done <- s.reserve(ctx, id, time.Minute, 0) }()
	select {
	case ok := <-done:
		t.Fatalf("reserve returned %v before the unbinding session closed", ok)
	case <-time.After(50 * time.Millisecond):
	}
	s.release("acme01")
	if !<-done {
		t.Error("reserve failed after the unbinding session closed")
	}

	s.unbound("acme01")
	if s.reserve(ctx, id, 20*time.Millisecond, 0) {
		t.Error("reserve succeeded while the unbinding session stayed open")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if s.reserve(cancelled, id, time.Minute, time.Minute) {
		t.Error("reserve succeeded with a cancelled context")
	}
}

func TestBindSlotsWaitForDroppedSession(t *testing.T) {
	id := ESMEIdentity{Account: "acme", SystemID: "acme01", MaxBinds: 1}
	ctx := context.Background()
	s := newBindSlots()
	if !s.reserve(ctx, id, 0, 0) {
		t.Fatal("first reserve failed")
	}
	// No session is unbinding: a session whose connection dropped frees
	// its slot when the server reaps it, within the drop wait.
	done := make(chan bool)
	go func() { done <- s.reserve(ctx, id, 0, time.Minute) }()
	select {
	case ok := <-done:
		t.Fatalf("reserve returned %v before the dropped session closed", ok)
	case <-time.After(50 * time.Millisecond):
	}
	s.release("acme01")
	if !<-done {
		t.Error("reserve failed after the dropped session closed")
	}
}

func TestESMEFailedBindsSlowTheAddress(t *testing.T) {
	var mu sync.Mutex
	var delays []time.Duration
	f := newDaemonFixture(t, daemonOptions{before: func(d *Daemon) {
		d.esme.sleep = func(_ context.Context, d time.Duration) bool {
			mu.Lock()
			delays = append(delays, d)
			mu.Unlock()
			return true
		}
	}})
	f.bindStatus("acme01", "wrong1")
	f.bindStatus("acme01", "wrong2")
	f.bindStatus("acme01", "wrong3")
	if got := f.bindStatus("acme01", "secret1"); got != smpp.StatusOK {
		t.Fatalf("valid bind after failures: %v", got)
	}
	f.bindStatus("acme01", "secret1")

	mu.Lock()
	defer mu.Unlock()
	// The fixture sets FailedBindDelay 5ms and MaxFailedBindDelay 20ms.
	want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %v: none after the successful bind", delays, want)
	}
	for i := range want {
		if delays[i] != want[i] {
			t.Errorf("delay %d: %v, want %v", i+1, delays[i], want[i])
		}
	}
	if n := gathered(t, f.d.prom, "optgate_esme_binds_delayed_total", nil); n != 3 {
		t.Errorf("delayed binds metric %v, want 3", n)
	}
}

func TestBindGuardForgetsAndCaps(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	g := newBindGuard(time.Second, 4*time.Second, time.Minute, func() time.Time { return now })
	if d := g.delay("192.0.2.1"); d != 0 {
		t.Errorf("unknown address waits %v", d)
	}
	var got []time.Duration
	for range 5 {
		g.failed("192.0.2.1")
		got = append(got, g.delay("192.0.2.1"))
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after %d failures: %v, want %v", i+1, got[i], want[i])
		}
	}
	if d := g.delay("192.0.2.2"); d != 0 {
		t.Errorf("another address waits %v", d)
	}
	now = now.Add(2 * time.Minute)
	if d := g.delay("192.0.2.1"); d != 0 {
		t.Errorf("after the memory ran out: %v, want 0", d)
	}
	g.failed("192.0.2.3")
	g.succeeded("192.0.2.3")
	if d := g.delay("192.0.2.3"); d != 0 {
		t.Errorf("after a success: %v, want 0", d)
	}
}

func TestBindGuardBoundsAddresses(t *testing.T) {
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	g := newBindGuard(time.Second, time.Second, time.Minute, func() time.Time { return now })
	g.limit = 3
	for _, h := range []string{"a", "b", "c", "d", "e"} {
		g.failed(h)
	}
	if len(g.failures) > 3 {
		t.Errorf("%d addresses tracked, want at most 3", len(g.failures))
	}
	if g.delay("e") == 0 {
		t.Error("the latest address was evicted")
	}
}

func TestESMEDataSM(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	d := &smpp.DataSM{
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: "18885550100",
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: "12015550101",
	}
	payload, err := smpp.EncodeText("Sent as data_sm", smpp.CodingDefault, smpp.TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.TLVs.SetMessagePayload(payload)
	resp, err := b.client.DataSM(f.ctx, d)
	if err != nil {
		t.Fatalf("data_sm: %v", err)
	}
	if !optgateID.MatchString(resp.MessageID) {
		t.Errorf("message id %q", resp.MessageID)
	}
	msgs, err := f.sim.WaitMessages(f.ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Text != "Sent as data_sm" {
		t.Errorf("carrier got %q", msgs[0].Text)
	}
}

func TestESMEUnsupportedCommands(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	_, err := b.client.QuerySM(f.ctx, &smpp.QuerySM{MessageID: "0123456789abcdef", SourceAddr: "18885550100"})
	var st *smpp.StatusError
	if !errors.As(err, &st) || st.Status != smpp.StatusQueryFailed {
		t.Errorf("query_sm: %v, want ESME_RQUERYFAIL", err)
	}
	_, err = b.client.CancelSM(f.ctx, &smpp.CancelSM{MessageID: "0123456789abcdef", SourceAddr: "18885550100",
		DestinationAddr: "12015550101"})
	if !errors.As(err, &st) || st.Status != smpp.StatusCancelFailed {
		t.Errorf("cancel_sm: %v, want ESME_RCANCELFAIL", err)
	}
	if !b.client.Bound() {
		t.Error("the session closed after an unsupported request")
	}
}

func TestESMEScheduledDeliveryRefused(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	b := f.bind("acme01", "secret1", smpp.BindTypeTransmitter)
	sm := submitSM(t, acmeTollFree, sub1, "later", 0)
	sm.ScheduleDeliveryTime = "000000010000000R"
	if _, status := b.submit(t, sm); status != smpp.StatusInvalidSchedule {
		t.Errorf("status %v, want ESME_RINVSCHED", status)
	}
	if n := len(f.sim.Messages()); n != 0 {
		t.Errorf("the carrier got %d messages", n)
	}
}

func TestBuildMT(t *testing.T) {
	udh := []byte{0x05, 0x00, 0x03, 0x2A, 0x02, 0x01}
	tests := []struct {
		name  string
		msg   businessMessage
		want  smpp.CommandStatus
		check func(t *testing.T, mt MT)
	}{
		{name: "text", msg: businessMessage{source: "18885550100", dest: "12015550101", short: []byte("hi")},
			want: smpp.StatusOK, check: func(t *testing.T, mt MT) {
				if string(mt.Data) != "hi" || mt.UDH != nil || mt.Account != "acme" || mt.Source != consent.SourceSMPP {
					t.Errorf("mt %+v", mt)
				}
			}},
		{name: "udh split from the body", msg: businessMessage{esmClass: smpp.ESMClassUDHI,
			short: append(append([]byte(nil), udh...), "part one"...)},
			want: smpp.StatusOK, check: func(t *testing.T, mt MT) {
				if string(mt.UDH) != string(udh) || string(mt.Data) != "part one" {
					t.Errorf("udh % x data %q", mt.UDH, mt.Data)
				}
			}},
		{name: "udh longer than the data", msg: businessMessage{esmClass: smpp.ESMClassUDHI, short: []byte{0x05, 0x00}},
			want: StatusFor(CodeInvalidMessage).SMPP},
		{name: "udhi without data", msg: businessMessage{esmClass: smpp.ESMClassUDHI},
			want: StatusFor(CodeInvalidMessage).SMPP},
		{name: "payload", msg: businessMessage{tlvs: payloadTLVs("from the payload")},
			want: smpp.StatusOK, check: func(t *testing.T, mt MT) {
				if string(mt.Data) != "from the payload" {
					t.Errorf("data %q", mt.Data)
				}
			}},
		{name: "payload and short_message", msg: businessMessage{short: []byte("x"), tlvs: payloadTLVs("y")},
			want: smpp.StatusInvalidTLVLength},
		{name: "scheduled", msg: businessMessage{short: []byte("x"), scheduled: "000000010000000R"},
			want: smpp.StatusInvalidSchedule},
		{name: "user_message_reference", msg: businessMessage{short: []byte("x"), tlvs: refTLVs(7)},
			want: smpp.StatusOK, check: func(t *testing.T, mt MT) {
				if mt.ClientRef != "7" {
					t.Errorf("client ref %q, want 7", mt.ClientRef)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt, status := buildMT("acme", tt.msg)
			if status != tt.want {
				t.Fatalf("status %v, want %v", status, tt.want)
			}
			if tt.check != nil {
				tt.check(t, mt)
			}
		})
	}
}

func payloadTLVs(s string) smpp.TLVs {
	var ts smpp.TLVs
	ts.SetMessagePayload([]byte(s))
	return ts
}

func refTLVs(ref uint16) smpp.TLVs {
	var ts smpp.TLVs
	ts.SetUserMessageReference(ref)
	return ts
}

func TestDeliverPDUForMO(t *testing.T) {
	long := strings.Repeat("a long reply from the subscriber ", 10)
	tests := []struct {
		name   string
		mo     MOItem
		coding smpp.DataCoding
		check  func(t *testing.T, d *smpp.DeliverSM)
	}{
		{name: "gsm", mo: MOItem{ID: "m1", From: sub1, To: acmeTollFree, Text: "Ext:€[]"}, coding: smpp.CodingDefault,
			check: func(t *testing.T, d *smpp.DeliverSM) {
				if got, _ := smpp.DecodeText(d.DataCoding, d.ShortMessage, smpp.TextOptions{}); got != "Ext:€[]" {
					t.Errorf("text %q", got)
				}
				if d.TLVs.Has(TagConsentKeyword) || d.TLVs.Has(TagMOFlags) {
					t.Error("an ordinary text carries consent TLVs")
				}
			}},
		{name: "ucs2", mo: MOItem{ID: "m2", From: sub1, To: acmeTollFree, Text: "Stop…"}, coding: smpp.CodingUCS2},
		{name: "long text in message_payload", mo: MOItem{ID: "m3", From: sub1, To: acmeTollFree, Text: long},
			coding: smpp.CodingDefault, check: func(t *testing.T, d *smpp.DeliverSM) {
				p, ok := d.TLVs.Get(smpp.TagMessagePayload)
				if len(d.ShortMessage) != 0 || !ok || string(p) != long {
					t.Errorf("short_message %d octets, payload %q", len(d.ShortMessage), p)
				}
			}},
		{name: "keyword and flags", mo: MOItem{ID: "m4", From: sub1, To: acmeTollFree, Text: "Stop. Thank you",
			Keyword: "opt_out", Outcome: "opted_out", FreeText: true}, coding: smpp.CodingDefault,
			check: func(t *testing.T, d *smpp.DeliverSM) {
				if tlvString(d, TagConsentKeyword) != "opt_out" || tlvString(d, TagConsentOutcome) != "opted_out" {
					t.Errorf("keyword TLVs %q %q", tlvString(d, TagConsentKeyword), tlvString(d, TagConsentOutcome))
				}
				if f, err := d.TLVs.Uint8(TagMOFlags); err != nil || f != MOFlagFreeText {
					t.Errorf("flags %#x (%v), want free text", f, err)
				}
			}},
		{name: "undecodable passed as it came", mo: MOItem{ID: "m5", From: sub1, To: acmeTollFree, Undecodable: true,
			DataCoding: 0x0E, Data: []byte{0xDE, 0xAD}}, coding: 0x0E,
			check: func(t *testing.T, d *smpp.DeliverSM) {
				if string(d.ShortMessage) != "\xde\xad" {
					t.Errorf("data % x", d.ShortMessage)
				}
				if f, _ := d.TLVs.Uint8(TagMOFlags); f != MOFlagUndecodable {
					t.Errorf("flags %#x, want undecodable", f)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := deliverPDU(Item{Kind: KindMO, MO: &tt.mo})
			if err != nil {
				t.Fatal(err)
			}
			if d.DataCoding != tt.coding {
				t.Errorf("data_coding %v, want %v", d.DataCoding, tt.coding)
			}
			if tlvString(d, TagMOID) != tt.mo.ID {
				t.Errorf("mo id TLV %q, want %q", tlvString(d, TagMOID), tt.mo.ID)
			}
			if d.SourceAddr != "12015550101" || d.SourceAddrTON != smpp.TONInternational {
				t.Errorf("source %v %q", d.SourceAddrTON, d.SourceAddr)
			}
			// The PDU must encode: every TLV and field within SMPP limits.
			if _, err := smpp.AppendPDU(nil, d); err != nil {
				t.Errorf("encode: %v", err)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

func TestDeliverPDUForReceipt(t *testing.T) {
	done := time.Date(2026, 12, 4, 12, 1, 0, 0, time.UTC)
	nec := smpp.NetworkErrorCode{NetworkType: 3, ErrorCode: 0x0802}
	item := Item{Kind: KindReceipt, Enqueued: done, Receipt: &ReceiptItem{
		MessageID: "0a1b2c3d4e5f6071", From: acmeTollFree, To: sub1, State: smpp.StateUndeliverable,
		Stat: "UNDELIV", Err: "2050", NetworkError: &nec, SubmitDate: done.Add(-time.Minute), DoneDate: done,
	}}
	d, err := deliverPDU(item)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := smpp.ParseDeliverSMReceipt(d, smpp.TextOptions{})
	if err != nil {
		t.Fatalf("receipt does not parse: %v", err)
	}
	if rep.MessageID != "0a1b2c3d4e5f6071" || rep.Receipt.ID != "0a1b2c3d4e5f6071" {
		t.Errorf("ids %q / %q", rep.MessageID, rep.Receipt.ID)
	}
	if rep.State != smpp.StateUndeliverable || rep.Receipt.Stat != "UNDELIV" || rep.Receipt.Err != "2050" {
		t.Errorf("state %v stat %q err %q", rep.State, rep.Receipt.Stat, rep.Receipt.Err)
	}
	if !rep.HasNetworkError || rep.NetworkError != nec {
		t.Errorf("network error %+v", rep.NetworkError)
	}
	if !rep.Receipt.DoneDate.Equal(done) {
		t.Errorf("done date %v", rep.Receipt.DoneDate)
	}
	if _, err := d.TLVs.UserMessageReference(); err == nil {
		t.Error("user_message_reference set without a numeric client reference")
	}
	if _, err := deliverPDU(Item{Kind: KindReply, Reply: &ReplyItem{}}); err == nil {
		t.Error("a reply item became a deliver_sm")
	}
}
