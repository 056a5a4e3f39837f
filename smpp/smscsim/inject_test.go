package smscsim

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// receiveMO reads n deliver_sm from e and reassembles them as a gateway
// would.
func receiveMO(t *testing.T, e *esme, n int) (string, []*smpp.DeliverSM) {
	t.Helper()
	r := smpp.NewReassembler(smpp.ReassemblyConfig{})
	var pdus []*smpp.DeliverSM
	var whole *smpp.Assembled
	for i := range n {
		d := e.next(t)
		pdus = append(pdus, d)
		part, _, err := smpp.DeliverSMPart(d, "sim", smpp.TextOptions{})
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		if whole, err = r.Add(part); err != nil {
			t.Fatalf("reassemble part %d: %v", i+1, err)
		}
	}
	if whole == nil {
		t.Fatalf("%d parts did not complete a message", n)
	}
	text, err := whole.Text(smpp.TextOptions{})
	if err != nil {
		t.Fatalf("decode the reassembled text: %v", err)
	}
	return text, pdus
}

func TestInjectMO(t *testing.T) {
	long := strings.Repeat("Please send me the weekly offers. ", 12)[:400]
	tests := []struct {
		name       string
		mo         MO
		wantParts  int
		wantCoding smpp.DataCoding
	}{
		{"gsm", MO{Text: "STOP"}, 1, smpp.CodingDefault},
		{"gsm extension table", MO{Text: "Ext:€[]{}^~\\|"}, 1, smpp.CodingDefault},
		{"ucs2 smallest for non-gsm text", MO{Text: "Stop…"}, 1, smpp.CodingUCS2},
		{"latin1 forced", MO{Text: "Café", DataCoding: smpp.CodingLatin1}, 1, smpp.CodingLatin1},
		{"long udh", MO{Text: long}, 3, smpp.CodingDefault},
		{"long sar", MO{Text: long, Split: smpp.SplitSAR}, 3, smpp.CodingDefault},
		{"long udh16", MO{Text: long, Split: smpp.SplitUDH16}, 3, smpp.CodingDefault},
		{"long payload", MO{Text: long, Split: smpp.SplitPayload}, 1, smpp.CodingDefault},
		{"long ucs2 udh", MO{Text: "☕" + long[:250]}, 4, smpp.CodingUCS2},
	}
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mo := tt.mo
			mo.From, mo.To = "+"+customer, "+"+tollFree
			status, err := sim.Inject(testContext(t), mo)
			if err != nil || status != smpp.StatusOK {
				t.Fatalf("inject: status %v, error %v", status, err)
			}
			text, pdus := receiveMO(t, e, tt.wantParts)
			if text != mo.Text {
				t.Errorf("text %q, want %q", text, mo.Text)
			}
			for i, d := range pdus {
				if d.SourceAddr != customer || d.SourceAddrTON != smpp.TONInternational ||
					d.DestinationAddr != tollFree {
					t.Errorf("part %d addressed %d/%q to %q", i+1, d.SourceAddrTON, d.SourceAddr, d.DestinationAddr)
				}
				if d.DataCoding != tt.wantCoding {
					t.Errorf("part %d data_coding 0x%02x, want 0x%02x", i+1, d.DataCoding, tt.wantCoding)
				}
				if smpp.IsDeliveryReceipt(d.ESMClass) {
					t.Errorf("part %d is marked as a receipt", i+1)
				}
				udhi := d.ESMClass&smpp.ESMClassUDHI != 0
				wantUDHI := tt.wantParts > 1 && mo.Split != smpp.SplitSAR
				if udhi != wantUDHI {
					t.Errorf("part %d UDHI %v, want %v", i+1, udhi, wantUDHI)
				}
				if hasSAR := d.TLVs.Has(smpp.TagSARMsgRefNum); hasSAR != (mo.Split == smpp.SplitSAR) {
					t.Errorf("part %d sar_msg_ref_num present %v", i+1, hasSAR)
				}
			}
			if mo.Split == smpp.SplitPayload && (len(pdus[0].ShortMessage) != 0 ||
				!pdus[0].TLVs.Has(smpp.TagMessagePayload)) {
				t.Error("payload mode did not use message_payload with an empty short_message")
			}
		})
	}
}

func TestInjectReturnsESMEStatus(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	e.status.Store(uint32(smpp.StatusTempAppError))
	status, err := sim.Inject(testContext(t), MO{From: customer, To: tollFree, Text: "HELP"})
	if err != nil {
		t.Fatal(err)
	}
	if status != smpp.StatusTempAppError {
		t.Errorf("status %v, want ESME_RX_T_APPN", status)
	}
}

func TestInjectChoosesSystemID(t *testing.T) {
	sim := startSim(t, Config{})
	a := bindESME(t, sim, "alpha", smpp.BindTypeReceiver)
	b := bindESME(t, sim, "beta", smpp.BindTypeTransceiver)
	bindESME(t, sim, "beta", smpp.BindTypeTransmitter) // cannot receive
	ctx := testContext(t)
	toBeta := MO{From: customer, To: tollFree, Text: "hi beta", SystemID: "beta"}
	for range 3 {
		if _, err := sim.Inject(ctx, toBeta); err != nil {
			t.Fatal(err)
		}
		if d := b.next(t); string(d.ShortMessage) != "hi beta" {
			t.Errorf("beta got %q", d.ShortMessage)
		}
	}
	a.none(t, 50*time.Millisecond)

	_, err := sim.Inject(ctx, MO{From: customer, To: tollFree, Text: "x", SystemID: "gamma"})
	if !errors.Is(err, ErrNoReceiver) {
		t.Errorf("inject to an unbound system_id: %v, want ErrNoReceiver", err)
	}
}

func TestInjectInvalidInput(t *testing.T) {
	sim := startSim(t, Config{})
	bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)
	_, err := sim.Inject(ctx, MO{From: customer, To: tollFree, Text: "☕", DataCoding: smpp.CodingIA5})
	var te *smpp.TextEncodeError
	if !errors.As(err, &te) {
		t.Errorf("text outside the data_coding: %v, want a *smpp.TextEncodeError", err)
	}
	if _, err := sim.Inject(ctx, MO{To: tollFree, Text: "x"}); err == nil {
		t.Error("inject without from returned no error")
	}
}

func TestInjectRaw(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	// An MO carrying sc_interface_version, a TLV SMPP 3.4 lists only for
	// bind responses.
	d := &smpp.DeliverSM{SourceAddrTON: 1, SourceAddrNPI: 1, SourceAddr: customer,
		DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: tollFree, ShortMessage: []byte("Hello")}
	d.TLVs.SetSCInterfaceVersion(0x34)
	resp, err := sim.InjectRaw(ctx, "carrier", d)
	if err != nil {
		t.Fatal(err)
	}
	if resp.CommandID() != smpp.DeliverSMRespID {
		t.Errorf("response %v, want deliver_sm_resp", resp.CommandID())
	}
	got := e.next(t)
	if v, err := got.TLVs.SCInterfaceVersion(); err != nil || v != 0x34 {
		t.Errorf("sc_interface_version %v, %v; want 0x34", v, err)
	}

	e.status.Store(uint32(smpp.StatusRejectAppError))
	_, err = sim.InjectRaw(ctx, "", &smpp.DeliverSM{SourceAddr: customer, DestinationAddr: tollFree})
	if !isStatus(err, smpp.StatusRejectAppError) {
		t.Errorf("rejected deliver_sm: %v, want ESME_RX_R_APPN", err)
	}
	e.next(t)

	if _, err := sim.InjectRaw(ctx, "", &smpp.SubmitSM{}); err == nil {
		t.Error("InjectRaw sent a submit_sm, which a server cannot send")
	}
}

func TestMOAddressForms(t *testing.T) {
	tests := []struct {
		in   string
		want address
	}{
		{"+12015550101", address{smpp.TONInternational, smpp.NPIISDN, "12015550101"}},
		{"12015550101", address{smpp.TONInternational, smpp.NPIISDN, "12015550101"}},
		{"DemoCoffee", address{smpp.TONAlphanumeric, smpp.NPIUnknown, "DemoCoffee"}},
		{"+1-201", address{smpp.TONAlphanumeric, smpp.NPIUnknown, "+1-201"}},
	}
	for _, tt := range tests {
		if got := moAddress(tt.in); got != tt.want {
			t.Errorf("moAddress(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}
