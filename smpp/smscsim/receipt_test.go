package smscsim

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

func TestReceiptIDFormats(t *testing.T) {
	tests := []struct {
		name              string
		response, receipt IDFormat
		wantResp, wantRcp string
	}{
		{"decimal", IDDecimal, IDDecimal, "12107289", "12107289"},
		{"hex response decimal receipt", IDHex, IDDecimal, "B8BE19", "12107289"},
		{"leading zeros dropped in the receipt", IDHexPadded, IDHex, "00B8BE19", "B8BE19"},
		{"leading zeros only in the receipt", IDHex, IDHexPadded, "B8BE19", "00B8BE19"},
		{"alphanumeric", IDAlphanumeric, "", "SIM000077I1L", "SIM000077I1L"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, Config{Behaviour: Behaviour{
				ResponseIDFormat: tt.response,
				ReceiptIDFormat:  tt.receipt,
			}})
			e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
			resp, err := e.Submit(testContext(t), submitText("Hi", smpp.RegisteredDeliveryReceiptAlways))
			if err != nil {
				t.Fatal(err)
			}
			if resp.MessageID != tt.wantResp {
				t.Errorf("submit_sm_resp id %q, want %q", resp.MessageID, tt.wantResp)
			}
			rep := parseReceipt(t, e.next(t))
			if rep.MessageID != tt.wantRcp {
				t.Errorf("receipted_message_id %q, want %q", rep.MessageID, tt.wantRcp)
			}
			if rep.Receipt.ID != tt.wantRcp {
				t.Errorf("receipt text id %q, want %q", rep.Receipt.ID, tt.wantRcp)
			}
			msgs := sim.Messages()
			if msgs[0].ReceiptID != tt.wantRcp {
				t.Errorf("recorded receipt id %q, want %q", msgs[0].ReceiptID, tt.wantRcp)
			}
		})
	}
}

func TestReceiptTextAndTLVs(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	before := time.Now().UTC().Truncate(time.Minute)
	resp, err := e.Submit(testContext(t), submitText("Reply YES to confirm your order", 1))
	if err != nil {
		t.Fatal(err)
	}
	d := e.next(t)
	rep := parseReceipt(t, d)

	if d.SourceAddr != customer || d.DestinationAddr != tollFree {
		t.Errorf("receipt from %q to %q, want from %q to %q", d.SourceAddr, d.DestinationAddr, customer, tollFree)
	}
	if d.DataCoding != smpp.CodingDefault {
		t.Errorf("data_coding 0x%02x, want 0x00", d.DataCoding)
	}
	if !d.TLVs.Has(smpp.TagReceiptedMessageID) || !d.TLVs.Has(smpp.TagMessageState) {
		t.Errorf("receipt TLVs %v lack receipted_message_id or message_state", d.TLVs)
	}
	r := rep.Receipt
	checks := []struct {
		name      string
		got, want any
	}{
		{"id", rep.MessageID, resp.MessageID},
		{"state", rep.State, smpp.StateDelivered},
		{"stat", r.Stat, "DELIVRD"},
		{"sub", r.Submitted, "001"},
		{"dlvrd", r.Delivered, "001"},
		{"err", r.Err, "000"},
		{"text", r.Text, "Reply YES to confirm"},
		{"network error present", rep.HasNetworkError, false},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if r.SubmitDate.Before(before) || r.DoneDate.Before(r.SubmitDate) {
		t.Errorf("submit date %v, done date %v: want both from this test's run", r.SubmitDate, r.DoneDate)
	}
}

func TestReceiptUndeliveredWithNetworkError(t *testing.T) {
	nec := &smpp.NetworkErrorCode{NetworkType: smpp.NetworkTypeGSM, ErrorCode: 2050}
	sim := startSim(t, Config{Behaviour: Behaviour{
		ReceiptState:     smpp.StateUndeliverable,
		NetworkErrorCode: nec,
	}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	// Failure-only receipts are sent for an undelivered message.
	if _, err := e.Submit(testContext(t), submitText("Hi", smpp.RegisteredDeliveryReceiptFailure)); err != nil {
		t.Fatal(err)
	}
	rep := parseReceipt(t, e.next(t))
	if rep.State != smpp.StateUndeliverable || rep.Receipt.Stat != "UNDELIV" {
		t.Errorf("state %v stat %q, want UNDELIV", rep.State, rep.Receipt.Stat)
	}
	if rep.Receipt.Err != "001" || rep.Receipt.Delivered != "000" {
		t.Errorf("err %q dlvrd %q, want 001 and 000", rep.Receipt.Err, rep.Receipt.Delivered)
	}
	if !rep.HasNetworkError || rep.NetworkError != *nec {
		t.Errorf("network_error_code %v (present %v), want %v", rep.NetworkError, rep.HasNetworkError, *nec)
	}
}

func TestReceiptOnlyWhenRequested(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	for _, registered := range []uint8{0, smpp.RegisteredDeliveryReceiptFailure, 3} {
		if _, err := e.Submit(ctx, submitText("Hi", registered)); err != nil {
			t.Fatal(err)
		}
	}
	// A delivered message with failure-only receipts, no receipt and the
	// reserved value 3 all get none.
	e.none(t, 200*time.Millisecond)
}

func TestReceiptCopiesUCS2DataCoding(t *testing.T) {
	sim := startSim(t, Config{Behaviour: Behaviour{ReceiptCopyDataCoding: true}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	sm := submitText("", 1)
	sm.DataCoding = smpp.CodingUCS2
	sm.ShortMessage, _ = smpp.EncodeText("Grüße", smpp.CodingUCS2, smpp.TextOptions{})
	if _, err := e.Submit(testContext(t), sm); err != nil {
		t.Fatal(err)
	}
	d := e.next(t)
	if d.DataCoding != smpp.CodingUCS2 {
		t.Errorf("receipt data_coding 0x%02x, want 0x08 copied from the message", d.DataCoding)
	}
	if len(d.ShortMessage) == 0 || d.ShortMessage[0] != 'i' {
		t.Errorf("receipt body %q is not ASCII receipt text", d.ShortMessage)
	}
	rep := parseReceipt(t, d)
	if rep.Receipt.Text != "Gr??e" {
		t.Errorf("receipt text field %q, want non-ASCII letters replaced: Gr??e", rep.Receipt.Text)
	}
}

func TestReceiptWithoutTLVs(t *testing.T) {
	sim := startSim(t, Config{Behaviour: Behaviour{ReceiptNoTLVs: true, ResponseIDFormat: IDHexPadded}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	d := e.next(t)
	if len(d.TLVs) != 0 {
		t.Errorf("receipt TLVs %v, want none", d.TLVs)
	}
	if rep := parseReceipt(t, d); rep.MessageID != "00B8BE19" {
		t.Errorf("id from the text %q, want 00B8BE19", rep.MessageID)
	}
}

// The client's PDUReceived hook shows the order in which the ESME reads
// the simulator's PDUs.
func TestReceiptBeforeResponse(t *testing.T) {
	sim := startSim(t, Config{Behaviour: Behaviour{ReceiptFirst: true}})
	var mu sync.Mutex
	var order []smpp.CommandID
	hooks := smpp.Hooks{PDUReceived: func(_ string, h smpp.Header) {
		mu.Lock()
		order = append(order, h.CommandID)
		mu.Unlock()
	}}
	e := bindESMEWithHooks(t, sim, hooks)
	if _, err := e.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	parseReceipt(t, e.next(t))

	mu.Lock()
	defer mu.Unlock()
	want := []smpp.CommandID{smpp.BindTransceiverRespID, smpp.DeliverSMID, smpp.SubmitSMRespID}
	if len(order) != len(want) {
		t.Fatalf("PDUs read by the ESME %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("PDUs read by the ESME %v, want %v", order, want)
		}
	}
}

func TestReceiptAfterResponseByDefault(t *testing.T) {
	sim := startSim(t, Config{})
	var mu sync.Mutex
	var order []smpp.CommandID
	hooks := smpp.Hooks{PDUReceived: func(_ string, h smpp.Header) {
		mu.Lock()
		order = append(order, h.CommandID)
		mu.Unlock()
	}}
	e := bindESMEWithHooks(t, sim, hooks)
	ctx := testContext(t)
	for range 5 {
		if _, err := e.Submit(ctx, submitText("Hi", 1)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		parseReceipt(t, e.next(t))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(order) < 3 || order[1] != smpp.SubmitSMRespID {
		t.Fatalf("PDUs read by the ESME %v: want submit_sm_resp before any receipt", order)
	}
}

func TestReceiptDelay(t *testing.T) {
	const delay = 300 * time.Millisecond
	sim := startSim(t, Config{Behaviour: Behaviour{ReceiptDelay: delay}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.next(t)
	if waited := time.Since(start); waited < delay/2 {
		t.Errorf("receipt came after %v, want about %v", waited, delay)
	}
}

func TestReceiptGoesToReceiverOfSameSystemID(t *testing.T) {
	sim := startSim(t, Config{})
	tx := bindESME(t, sim, "carrier", smpp.BindTypeTransmitter)
	other := bindESME(t, sim, "other", smpp.BindTypeReceiver)
	rx := bindESME(t, sim, "carrier", smpp.BindTypeReceiver)
	resp, err := tx.Submit(testContext(t), submitText("Hi", 1))
	if err != nil {
		t.Fatal(err)
	}
	if rep := parseReceipt(t, rx.next(t)); rep.MessageID != resp.MessageID {
		t.Errorf("receipt id %q, want %q", rep.MessageID, resp.MessageID)
	}
	other.none(t, 100*time.Millisecond)
}

func TestReceiptRetriedUntilReceiverBinds(t *testing.T) {
	sim := startSim(t, Config{ReceiptRetries: 50, ReceiptRetryDelay: 20 * time.Millisecond})
	tx := bindESME(t, sim, "carrier", smpp.BindTypeTransmitter)
	if _, err := tx.Submit(testContext(t), submitText("Hi", 1)); err != nil {
		t.Fatal(err)
	}
	rx := bindESME(t, sim, "carrier", smpp.BindTypeReceiver)
	parseReceipt(t, rx.next(t))
}

// bindESMEWithHooks binds a transceiver "carrier" with client hooks.
func bindESMEWithHooks(t *testing.T, sim *Simulator, hooks smpp.Hooks) *esme {
	t.Helper()
	e := &esme{delivered: make(chan *smpp.DeliverSM, 100)}
	c, err := smpp.Dial(testContext(t), smpp.ClientConfig{
		Addr:                sim.Addr().String(),
		SystemID:            "carrier",
		EnquireLinkInterval: -1,
		Hooks:               hooks,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				e.delivered <- d
			}
			return smpp.StatusOK
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Client = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		c.Close(ctx)
	})
	return e
}
