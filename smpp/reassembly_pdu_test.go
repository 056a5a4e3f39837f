package smpp

import (
	"errors"
	"testing"
)

// Regression: UDHI with an empty short_message and the header in
// message_payload.
func TestRegressionDeliverSMPartFromPayload(t *testing.T) {
	p := decodeDeliverSM(t, `00000054 00000005 00000000 00000023 00010131 32303135 35353031
		30310001 01313838 38353535 30313030 00400000 00000000 00000004 24001905 0003ab02
		0148656c 6c6f2066 726f6d20 70617274 206f6e65`)
	part, header, err := DeliverSMPart(p, "smsc-a", TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		t.Fatal("no header")
	}
	want := PartKey{Session: "smsc-a", Source: "12015550101", Destination: "18885550100", Ref: 0xAB, Total: 2}
	if part.Key != want || part.Seq != 1 {
		t.Errorf("part key %+v seq %d, want %+v seq 1", part.Key, part.Seq, want)
	}
	if string(part.Body) != "Hello from part one" {
		t.Errorf("body = %q", part.Body)
	}
	r := NewReassembler(ReassemblyConfig{})
	if msg, err := r.Add(part); msg != nil || err != nil {
		t.Fatalf("Add = %v, %v; want the segment held", msg, err)
	}
	second := *p
	second.TLVs = nil
	second.ShortMessage = append([]byte{0x05, 0x00, 0x03, 0xAB, 0x02, 0x02}, " and two"...)
	part2, _, err := DeliverSMPart(&second, "smsc-a", TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := r.Add(part2)
	if err != nil || msg == nil {
		t.Fatalf("Add = %v, %v; want the message", msg, err)
	}
	if text, _ := msg.Text(TextOptions{}); text != "Hello from part one and two" {
		t.Errorf("text = %q", text)
	}
}

func TestDeliverSMPartSAR(t *testing.T) {
	p := &DeliverSM{SourceAddr: "12015550101", DestinationAddr: "18885550100",
		DataCoding: CodingUCS2, ShortMessage: []byte{0x04, 0x36}}
	p.TLVs.SetSAR(SAR{RefNum: 0x1234, TotalSegments: 3, SegmentSeqnum: 2})
	part, header, err := DeliverSMPart(p, "s", TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if header != nil || part.Key.Ref != 0x1234 || part.Key.Total != 3 || part.Seq != 2 {
		t.Errorf("part %+v, header %v", part, header)
	}
}

func TestDeliverSMPartErrors(t *testing.T) {
	p := &DeliverSM{ShortMessage: []byte("x")}
	p.TLVs.SetMessagePayload([]byte("y"))
	if _, _, err := DeliverSMPart(p, "s", TextOptions{}); !errors.Is(err, ErrPayloadConflict) {
		t.Errorf("both fields error = %v, want ErrPayloadConflict", err)
	}
	bad := &DeliverSM{ESMClass: ESMClassUDHI, ShortMessage: []byte{0x05, 0x00, 0x03}}
	if _, _, err := DeliverSMPart(bad, "s", TextOptions{}); !errors.Is(err, ErrInvalidUDH) {
		t.Errorf("short header error = %v, want ErrInvalidUDH", err)
	}
	whole := &DeliverSM{ShortMessage: []byte("hi")}
	part, _, err := DeliverSMPart(whole, "s", TextOptions{})
	if err != nil || part.Key.Total != 1 || part.Seq != 1 {
		t.Errorf("plain message part %+v, %v", part, err)
	}
}
