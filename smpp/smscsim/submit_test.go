package smscsim

import (
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp"
)

func TestIDFormatFormatAndParse(t *testing.T) {
	tests := []struct {
		format IDFormat
		id     uint64
		want   string
	}{
		{IDDecimal, 1234, "1234"},
		{IDHex, 1234, "4D2"},
		{IDHexPadded, 1234, "000004D2"},
		{IDHexPadded, 0x1234567890, "1234567890"},
		{IDAlphanumeric, 1234, "SIM0000000YA"},
		{"", 7, "7"},
	}
	for _, tt := range tests {
		got := tt.format.Format(tt.id)
		if got != tt.want {
			t.Errorf("%q.Format(%d) = %q, want %q", tt.format, tt.id, got, tt.want)
		}
		back, ok := tt.format.Parse(strings.ToLower(got))
		if !ok || back != tt.id {
			t.Errorf("%q.Parse(%q) = %d, %v; want %d", tt.format, got, back, ok, tt.id)
		}
	}
	if _, ok := IDAlphanumeric.Parse("4D2"); ok {
		t.Error(`IDAlphanumeric.Parse("4D2") succeeded without the SIM prefix`)
	}
	if _, err := ParseIDFormat("octal"); err == nil {
		t.Error(`ParseIDFormat("octal") returned no error`)
	}
}

func TestSubmitAnswersIDInEachFormat(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	n := uint64(DefaultFirstMessageID - 1)
	for _, f := range idFormats {
		t.Run(string(f), func(t *testing.T) {
			if err := sim.UpdateBehaviour(func(b *Behaviour) {
				b.ResponseIDFormat, b.ReceiptIDFormat = f, f
			}); err != nil {
				t.Fatal(err)
			}
			resp, err := e.Submit(ctx, submitText("Hello", 0))
			if err != nil {
				t.Fatalf("submit: %v", err)
			}
			n++
			if want := f.Format(n); resp.MessageID != want {
				t.Errorf("message_id %q, want %q", resp.MessageID, want)
			}
			if got, ok := f.Parse(resp.MessageID); !ok || got != n {
				t.Errorf("message_id %q reads back as %d, want %d", resp.MessageID, got, n)
			}
		})
	}
}

func TestSubmitRecordsDecodedMessage(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	sm := submitText("", 0)
	sm.DataCoding = smpp.CodingUCS2
	sm.ShortMessage, _ = smpp.EncodeText("Café ☕ €5", smpp.CodingUCS2, smpp.TextOptions{})
	resp, err := e.Submit(ctx, sm)
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	msgs, err := sim.WaitMessages(ctx, 1)
	if err != nil {
		t.Fatalf("wait for the message: %v", err)
	}
	m := msgs[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"seq", m.Seq, 1},
		{"system_id", m.SystemID, "carrier"},
		{"command", m.Command, "submit_sm"},
		{"status", m.Status, smpp.StatusOK},
		{"id", m.ID, resp.MessageID},
		{"source", m.Source, tollFree},
		{"source_ton", m.SourceTON, smpp.TONInternational},
		{"destination", m.Destination, customer},
		{"data_coding", m.DataCoding, smpp.CodingUCS2},
		{"text", m.Text, "Café ☕ €5"},
		{"full_text", m.FullText, "Café ☕ €5"},
		{"part total", m.Part.Total, uint8(0)},
		{"text_error", m.TextError, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	if _, ok := m.PDU.(*smpp.SubmitSM); !ok {
		t.Errorf("PDU is %T, want *smpp.SubmitSM", m.PDU)
	}
}

// submitSegments splits text as a carrier bind would and submits every
// segment.
func submitSegments(t *testing.T, e *esme, text string, coding smpp.DataCoding, mode smpp.SplitMode) {
	t.Helper()
	segs, err := smpp.SplitText(text, coding, smpp.SplitOptions{Mode: mode, Refs: new(smpp.RefCounter)})
	if err != nil {
		t.Fatalf("split: %v", err)
	}
	for _, seg := range segs {
		sm := submitText("", 0)
		sm.DataCoding = coding
		if seg.UDHI {
			sm.ESMClass |= smpp.ESMClassUDHI
		}
		switch mode {
		case smpp.SplitPayload:
			sm.TLVs.SetMessagePayload(seg.Data)
		case smpp.SplitSAR:
			sm.ShortMessage = seg.Data
			sm.TLVs.SetSAR(smpp.SAR{RefNum: seg.Part.Ref, TotalSegments: seg.Part.Total,
				SegmentSeqnum: seg.Part.Seq})
		default:
			sm.ShortMessage = seg.Data
		}
		if _, err := e.Submit(testContext(t), sm); err != nil {
			t.Fatalf("submit segment %d: %v", seg.Part.Seq, err)
		}
	}
}

func TestSubmitLongMessageParts(t *testing.T) {
	long := strings.Repeat("Your order is ready for pickup. ", 14)[:400]
	tests := []struct {
		name       string
		mode       smpp.SplitMode
		coding     smpp.DataCoding
		wantParts  int
		partSource string
	}{
		{"udh gsm", smpp.SplitUDH, smpp.CodingDefault, 3, "udh"},
		{"sar gsm", smpp.SplitSAR, smpp.CodingDefault, 3, "sar"},
		{"udh ucs2", smpp.SplitUDH, smpp.CodingUCS2, 6, "udh"},
		{"payload", smpp.SplitPayload, smpp.CodingDefault, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, Config{})
			e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
			submitSegments(t, e, long, tt.coding, tt.mode)

			msgs, err := sim.WaitMessages(testContext(t), tt.wantParts)
			if err != nil {
				t.Fatalf("wait for %d messages: %v", tt.wantParts, err)
			}
			if len(msgs) != tt.wantParts {
				t.Fatalf("got %d messages, want %d", len(msgs), tt.wantParts)
			}
			var joined strings.Builder
			for i, m := range msgs {
				joined.WriteString(m.Text)
				if m.PartSource != tt.partSource {
					t.Errorf("part %d: part_source %q, want %q", i+1, m.PartSource, tt.partSource)
				}
				if tt.wantParts > 1 && (int(m.Part.Seq) != i+1 || int(m.Part.Total) != tt.wantParts) {
					t.Errorf("part %d: placed as %d of %d", i+1, m.Part.Seq, m.Part.Total)
				}
				if tt.partSource == "udh" && m.UDH == nil {
					t.Errorf("part %d: no UDH recorded", i+1)
				}
				if i < len(msgs)-1 && m.FullText != "" {
					t.Errorf("part %d: full_text set before the last part", i+1)
				}
			}
			if joined.String() != long {
				t.Errorf("segment texts join to %q, want %q", joined.String(), long)
			}
			if last := msgs[len(msgs)-1]; last.FullText != long {
				t.Errorf("full_text of the last part %q, want the whole text", last.FullText)
			}
			if tt.mode == smpp.SplitPayload && !msgs[0].Payload {
				t.Error("payload flag not set for a message_payload text")
			}
		})
	}
}

func TestDataSMAndSubmitMulti(t *testing.T) {
	sim := startSim(t, Config{Behaviour: Behaviour{ResponseIDFormat: IDHex}})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	d := &smpp.DataSM{SourceAddr: tollFree, DestinationAddr: customer}
	d.TLVs.SetMessagePayload([]byte("data text"))
	dresp, err := e.DataSM(ctx, d)
	if err != nil {
		t.Fatalf("data_sm: %v", err)
	}
	multi := &smpp.SubmitMulti{
		SourceAddr: tollFree,
		DestAddresses: []smpp.DestAddress{
			{DestFlag: smpp.DestFlagSMEAddress, DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: customer},
			{DestFlag: smpp.DestFlagSMEAddress, DestAddrTON: 1, DestAddrNPI: 1, DestinationAddr: "12015550102"},
		},
		RegisteredDelivery: smpp.RegisteredDeliveryReceiptAlways,
		ShortMessage:       []byte("multi text"),
	}
	mresp, err := e.SubmitMulti(ctx, multi)
	if err != nil {
		t.Fatalf("submit_multi: %v", err)
	}
	if dresp.MessageID != "B8BE19" || mresp.MessageID != "B8BE1A" {
		t.Errorf("ids %q and %q, want B8BE19 and B8BE1A", dresp.MessageID, mresp.MessageID)
	}

	msgs, err := sim.WaitMessages(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if msgs[0].Command != "data_sm" || msgs[0].Text != "data text" || !msgs[0].Payload {
		t.Errorf("data_sm recorded as %+v", msgs[0])
	}
	if msgs[1].Command != "submit_multi" || len(msgs[1].Destinations) != 2 ||
		msgs[1].Destinations[1] != "12015550102" {
		t.Errorf("submit_multi recorded as %+v", msgs[1])
	}

	// submit_multi gets one receipt per destination.
	from := map[string]bool{}
	for range 2 {
		rep := parseReceipt(t, e.next(t))
		if rep.MessageID != "B8BE1A" {
			t.Errorf("receipt id %q, want B8BE1A", rep.MessageID)
		}
		from[rep.Receipt.ID] = true
	}
	if len(from) != 1 {
		t.Errorf("receipt text ids %v, want one id", from)
	}
}

func TestQueryCancelReplace(t *testing.T) {
	sim := startSim(t, Config{})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	ctx := testContext(t)

	resp, err := e.Submit(ctx, submitText("Hello", 0))
	if err != nil {
		t.Fatal(err)
	}
	q, err := e.QuerySM(ctx, &smpp.QuerySM{MessageID: resp.MessageID, SourceAddr: tollFree})
	if err != nil {
		t.Fatalf("query_sm: %v", err)
	}
	if q.MessageState != smpp.StateDelivered || q.FinalDate == "" {
		t.Errorf("query_sm_resp state %v final date %q, want DELIVRD with a date", q.MessageState, q.FinalDate)
	}
	_, err = e.QuerySM(ctx, &smpp.QuerySM{MessageID: "999", SourceAddr: tollFree})
	if !isStatus(err, smpp.StatusQueryFailed) {
		t.Errorf("query of an unknown id: %v, want ESME_RQUERYFAIL", err)
	}
	_, err = e.CancelSM(ctx, &smpp.CancelSM{MessageID: resp.MessageID, SourceAddr: tollFree,
		DestinationAddr: customer})
	if !isStatus(err, smpp.StatusCancelFailed) {
		t.Errorf("cancel_sm: %v, want ESME_RCANCELFAIL", err)
	}
}
