package gateway

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// recordingBusiness is a transceiver ESME that also records the command
// of every PDU it reads, in the order it reads them.
type recordingBusiness struct {
	*business
	mu   sync.Mutex
	read []smpp.CommandID
}

// bindRecording binds acme01 as a transceiver that records its reads.
func (f *daemonFixture) bindRecording() *recordingBusiness {
	f.t.Helper()
	rb := &recordingBusiness{business: &business{delivered: make(chan *smpp.DeliverSM, 100)}}
	ctx, cancel := context.WithTimeout(f.ctx, 5*time.Second)
	defer cancel()
	c, err := smpp.Dial(ctx, smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), SystemID: "acme01", Password: "secret1",
		BindType: smpp.BindTypeTransceiver, ReconnectDelay: time.Hour,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				rb.delivered <- d
			}
			return smpp.StatusOK
		},
		Hooks: smpp.Hooks{PDUReceived: func(_ string, h smpp.Header) {
			if h.CommandID == smpp.BindTransceiverRespID {
				return
			}
			rb.mu.Lock()
			rb.read = append(rb.read, h.CommandID)
			rb.mu.Unlock()
		}},
	})
	if err != nil {
		f.t.Fatalf("bind acme01: %v", err)
	}
	rb.client = c
	f.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return rb
}

// reads returns the commands read so far, leaving out enquire_link and
// its response.
func (rb *recordingBusiness) reads() []smpp.CommandID {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	var out []smpp.CommandID
	for _, id := range rb.read {
		if id != smpp.EnquireLinkID && id != smpp.EnquireLinkRespID {
			out = append(out, id)
		}
	}
	return out
}

// receipt reads the next deliver_sm of b as a delivery receipt.
func (b *business) receipt(t testing.TB) smpp.DeliveryReport {
	t.Helper()
	d := b.next(t)
	if d.ESMClass&smpp.ESMClassMessageTypeMask != smpp.ESMClassDeliveryReceipt {
		t.Fatalf("deliver_sm esm_class %#x, want a delivery receipt", d.ESMClass)
	}
	rep, err := smpp.ParseDeliverSMReceipt(d, smpp.TextOptions{})
	if err != nil {
		t.Fatalf("business receipt does not parse: %v", err)
	}
	if rep.Receipt.ID != rep.MessageID {
		t.Errorf("receipt text id %q differs from receipted_message_id %q", rep.Receipt.ID, rep.MessageID)
	}
	return rep
}

// expectNoMore fails the test if b gets another deliver_sm within wait.
func (b *business) expectNoMore(t testing.TB, wait time.Duration) {
	t.Helper()
	select {
	case d := <-b.delivered:
		t.Errorf("unexpected extra deliver_sm: esm_class %#x, text %q", d.ESMClass, d.ShortMessage)
	case <-time.After(wait):
	}
}

// submitAndCollect submits n single-part messages and checks that every
// one gets exactly one DELIVRD receipt carrying optgate's id.
func submitAndCollect(t *testing.T, b *business, n int) {
	t.Helper()
	ids := map[string]int{}
	for i := range n {
		text := "Reminder " + strings.Repeat("x", i+1)
		id, status := b.submit(t, submitSM(t, acmeTollFree, sub1, text, smpp.RegisteredDeliveryReceiptAlways))
		if status != smpp.StatusOK {
			t.Fatalf("submit %d: status %v, want ESME_ROK", i, status)
		}
		if _, dup := ids[id]; dup {
			t.Fatalf("submit %d: optgate id %q issued twice", i, id)
		}
		ids[id] = 0
	}
	for range n {
		rep := b.receipt(t)
		if _, ok := ids[rep.MessageID]; !ok {
			t.Errorf("receipt id %q is not an optgate id the business got", rep.MessageID)
			continue
		}
		ids[rep.MessageID]++
		if rep.State != smpp.StateDelivered {
			t.Errorf("receipt for %s: state %v, want DELIVERED", rep.MessageID, rep.State)
		}
	}
	for id, got := range ids {
		if got != 1 {
			t.Errorf("message %s got %d receipts, want 1", id, got)
		}
	}
	b.expectNoMore(t, 200*time.Millisecond)
}

func TestDaemonReceiptIDFormats(t *testing.T) {
	cases := []struct {
		name              string
		response, receipt smscsim.IDFormat
		format, zeros     string
		// responseID and receiptID match the ids the simulator wrote.
		responseID, receiptID *regexp.Regexp
	}{
		{
			name: "hex response decimal receipt", response: smscsim.IDHex, receipt: smscsim.IDDecimal,
			format: config.MessageIDHex, zeros: config.LeadingZerosKeep,
			responseID: regexp.MustCompile(`^[1-9A-F][0-9A-F]*$`), receiptID: regexp.MustCompile(`^[0-9]+$`),
		},
		{
			name: "padded hex response hex receipt", response: smscsim.IDHexPadded, receipt: smscsim.IDHex,
			format: config.MessageIDHex, zeros: config.LeadingZerosStrip,
			responseID: regexp.MustCompile(`^00[0-9A-F]{6}$`), receiptID: regexp.MustCompile(`^[1-9A-F][0-9A-F]{5}$`),
		},
		{
			name: "padded hex opaque ids stripped", response: smscsim.IDHexPadded, receipt: smscsim.IDHex,
			format: config.MessageIDAsIs, zeros: config.LeadingZerosStrip,
			responseID: regexp.MustCompile(`^00[0-9A-F]{6}$`), receiptID: regexp.MustCompile(`^[1-9A-F][0-9A-F]{5}$`),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
				c.Carriers[0].MessageID = config.MessageIDFormat{Format: tc.format, LeadingZeros: tc.zeros}
			}})
			f.setState(sub1, consent.StateOptedIn)
			err := f.sim.UpdateBehaviour(func(b *smscsim.Behaviour) {
				b.ResponseIDFormat, b.ReceiptIDFormat = tc.response, tc.receipt
			})
			if err != nil {
				t.Fatal(err)
			}
			b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
			submitAndCollect(t, b, 5)

			msgs := f.sim.Messages()
			if len(msgs) != 5 {
				t.Fatalf("simulator got %d messages, want 5", len(msgs))
			}
			for _, m := range msgs {
				if !tc.responseID.MatchString(m.ID) {
					t.Errorf("simulator response id %q does not match %s", m.ID, tc.responseID)
				}
				if !tc.receiptID.MatchString(m.ReceiptID) {
					t.Errorf("simulator receipt id %q does not match %s", m.ReceiptID, tc.receiptID)
				}
				if m.ID == m.ReceiptID {
					t.Errorf("simulator wrote %q in both places, want two forms of one id", m.ID)
				}
			}
		})
	}
}

// TestDaemonReceiptOpaqueIDsKept pins down the control case of the formats
// test: with opaque ids compared as written, a receipt that drops the
// response id's leading zeros matches nothing, so the business gets no
// receipt and the receipt is counted as kept without a mapping.
func TestDaemonReceiptOpaqueIDsKept(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	err := f.sim.UpdateBehaviour(func(b *smscsim.Behaviour) {
		b.ResponseIDFormat, b.ReceiptIDFormat = smscsim.IDHexPadded, smscsim.IDHex
	})
	if err != nil {
		t.Fatal(err)
	}
	b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
	sm := submitSM(t, acmeTollFree, sub1, "Reminder: cleaning tomorrow", smpp.RegisteredDeliveryReceiptAlways)
	if _, status := b.submit(t, sm); status != smpp.StatusOK {
		t.Fatalf("status %v, want ESME_ROK", status)
	}
	unmatched := map[string]string{"direction": "receipt", "outcome": "unmatched"}
	f.waitFor("the receipt to count as unmatched", func() bool {
		return gathered(t, f.d.prom, "optgate_gateway_messages_total", unmatched) == 1
	})
	b.expectNoMore(t, 300*time.Millisecond)
}

func TestDaemonReceiptBeforeResponse(t *testing.T) {
	f := newDaemonFixture(t, daemonOptions{})
	f.setState(sub1, consent.StateOptedIn)
	if err := f.sim.UpdateBehaviour(func(b *smscsim.Behaviour) { b.ReceiptFirst = true }); err != nil {
		t.Fatal(err)
	}
	rb := f.bindRecording()
	submitAndCollect(t, rb.business, 3)

	// submitAndCollect checked that every receipt names an id the business
	// got. The order of the response and its receipt on the wire is not
	// checked: optgate can deliver a receipt that arrived early a moment
	// before the submit_sm_resp of the same message (see Target).
	var responses, receipts int
	for _, id := range rb.reads() {
		switch id {
		case smpp.SubmitSMRespID:
			responses++
		case smpp.DeliverSMID:
			receipts++
		}
	}
	if responses != 3 {
		t.Errorf("business read %d submit_sm_resp, want 3", responses)
	}
	if receipts != 3 {
		t.Errorf("business read %d deliver_sm, want 3", receipts)
	}
	// Every receipt arrived before optgate had the carrier id mapped.
	unmatched := map[string]string{"direction": "receipt", "outcome": "unmatched"}
	if n := gathered(t, f.d.prom, "optgate_gateway_messages_total", unmatched); n != 3 {
		t.Errorf("receipts kept without a mapping on arrival: %v, want 3", n)
	}
	for _, m := range f.sim.Messages() {
		if m.Status != smpp.StatusOK {
			t.Errorf("simulator message %d: status %v, want ESME_ROK", m.Seq, m.Status)
		}
	}
}

// threePartText is a GSM text that needs three concatenated segments of 153
// characters. Only its second segment contains the word MIDDLE.
var threePartText = strings.Repeat("a", 150) + " " + strings.Repeat("b", 60) + " MIDDLE " +
	strings.Repeat("c", 60) + " " + strings.Repeat("d", 150)

func TestDaemonReceiptPolicies(t *testing.T) {
	cases := []struct {
		policy string
		want   []smpp.MessageState
	}{
		{config.ReceiptFirst, []smpp.MessageState{smpp.StateDelivered}},
		{config.ReceiptLast, []smpp.MessageState{smpp.StateDelivered}},
		{config.ReceiptAll, []smpp.MessageState{smpp.StateDelivered, smpp.StateDelivered, smpp.StateUndeliverable}},
		{config.ReceiptWorst, []smpp.MessageState{smpp.StateUndeliverable}},
	}
	for _, tc := range cases {
		t.Run(tc.policy, func(t *testing.T) {
			f := newDaemonFixture(t, daemonOptions{config: func(c *config.Config) {
				c.Accounts[0].ReceiptPolicy = tc.policy
			}})
			f.setState(sub1, consent.StateOptedIn)
			rule := smscsim.Rule{TextContains: "MIDDLE", ReceiptState: smpp.StateUndeliverable}
			if err := f.sim.AddRule(rule); err != nil {
				t.Fatal(err)
			}
			b := f.bind("acme01", "secret1", smpp.BindTypeTransceiver)
			// A text this long goes in message_payload (SMPP 3.4 section
			// 5.3.2.32), since short_message holds at most 254 octets.
			sm := submitSM(t, acmeTollFree, sub1, "", smpp.RegisteredDeliveryReceiptAlways)
			sm.TLVs.SetMessagePayload([]byte(threePartText))
			id, status := b.submit(t, sm)
			if status != smpp.StatusOK {
				t.Fatalf("status %v, want ESME_ROK", status)
			}

			msgs, err := f.sim.WaitMessages(f.ctx, 3)
			if err != nil {
				t.Fatalf("wait for 3 segments: %v", err)
			}
			if len(msgs) != 3 || msgs[0].Part.Total != 3 {
				t.Fatalf("simulator got %d messages of %d parts, want 3 segments", len(msgs), msgs[0].Part.Total)
			}
			if !strings.Contains(msgs[1].Text, "MIDDLE") || strings.Contains(msgs[0].Text+msgs[2].Text, "MIDDLE") {
				t.Fatalf("MIDDLE not in the second segment only: %q", []string{msgs[0].Text, msgs[1].Text, msgs[2].Text})
			}

			var got []smpp.MessageState
			for range tc.want {
				rep := b.receipt(t)
				if rep.MessageID != id {
					t.Errorf("receipt id %q, want optgate's %q", rep.MessageID, id)
				}
				got = append(got, rep.State)
			}
			b.expectNoMore(t, 300*time.Millisecond)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("receipt states %v, want %v", got, tc.want)
			}
		})
	}
}
