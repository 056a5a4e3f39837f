package smpp

import (
	"bytes"
	"errors"
	"testing"
)

func TestTLVsSetKeepsOrder(t *testing.T) {
	var ts TLVs
	ts.SetUint8(TagSCInterfaceVersion, 0x34)
	ts.SetUint16(TagUserMessageReference, 1)
	ts.SetMessagePayload([]byte("abc"))
	ts.SetUint16(TagUserMessageReference, 2) // replaces in place
	want := []Tag{TagSCInterfaceVersion, TagUserMessageReference, TagMessagePayload}
	if len(ts) != len(want) {
		t.Fatalf("TLVs = %v, want tags %v", ts, want)
	}
	for i, tag := range want {
		if ts[i].Tag != tag {
			t.Errorf("TLV %d is %v, want %v", i, ts[i].Tag, tag)
		}
	}
	if ref, err := ts.UserMessageReference(); err != nil || ref != 2 {
		t.Errorf("UserMessageReference = %d, %v; want 2", ref, err)
	}
}

func TestTLVsDelete(t *testing.T) {
	ts := TLVs{
		{Tag: TagSourcePort, Value: []byte{0, 1}},
		{Tag: TagDestinationPort, Value: []byte{0, 2}},
		{Tag: TagSourcePort, Value: []byte{0, 3}},
	}
	ts.Delete(TagSourcePort)
	if len(ts) != 1 || ts[0].Tag != TagDestinationPort {
		t.Errorf("after Delete: %v", ts)
	}
	if ts.Has(TagSourcePort) {
		t.Error("Has(source_port) after Delete")
	}
}

func TestTLVsGetFirstOfRepeatedTag(t *testing.T) {
	ts := TLVs{{Tag: 0x1400, Value: []byte("first")}, {Tag: 0x1400, Value: []byte("second")}}
	if v, ok := ts.Get(0x1400); !ok || string(v) != "first" {
		t.Errorf("Get = %q, %v; want first", v, ok)
	}
}

func TestTLVAccessorErrors(t *testing.T) {
	var empty TLVs
	if _, err := empty.SCInterfaceVersion(); !errors.Is(err, ErrTLVNotFound) {
		t.Errorf("absent tag: %v, want ErrTLVNotFound", err)
	}
	if _, err := empty.MessagePayload(); !errors.Is(err, ErrTLVNotFound) {
		t.Errorf("absent message_payload: %v, want ErrTLVNotFound", err)
	}
	bad := TLVs{
		{Tag: TagSCInterfaceVersion, Value: []byte{0x34, 0}},
		{Tag: TagSourcePort, Value: []byte{1}},
		{Tag: TagQOSTimeToLive, Value: []byte{1, 2}},
		{Tag: TagReceiptedMessageID, Value: bytes.Repeat([]byte("9"), 66)},
	}
	if _, err := bad.SCInterfaceVersion(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("2-octet sc_interface_version: %v, want ErrInvalidTLV", err)
	}
	if _, err := bad.SourcePort(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("1-octet source_port: %v, want ErrInvalidTLV", err)
	}
	if _, err := bad.QOSTimeToLive(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("2-octet qos_time_to_live: %v, want ErrInvalidTLV", err)
	}
	if _, err := bad.ReceiptedMessageID(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("66-octet receipted_message_id: %v, want ErrInvalidTLV", err)
	}
}

func TestTLVTypedSettersRoundTrip(t *testing.T) {
	var ts TLVs
	ts.SetSAR(SAR{RefNum: 0xABCD, TotalSegments: 3, SegmentSeqnum: 2})
	ts.SetReceiptedMessageID("00B8BE19")
	ts.SetMessageState(StateDelivered)
	ts.SetNetworkErrorCode(NetworkErrorCode{NetworkType: NetworkTypeGSM, ErrorCode: 2050})
	ts.SetSourcePort(9200)
	ts.SetDestinationPort(2948)
	ts.SetSCInterfaceVersion(0x34)
	ts.SetMoreMessagesToSend(1)
	ts.SetLanguageIndicator(2)
	ts.SetUint32(TagQOSTimeToLive, 3600)
	ts.SetCString(TagAdditionalStatusInfoText, "queue full")
	if err := ts.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}

	p := mustDecode(t, mustEncode(t, &DeliverSM{TLVs: ts}))
	got := p.(*DeliverSM).TLVs
	if sar, err := got.SAR(); err != nil || sar != (SAR{RefNum: 0xABCD, TotalSegments: 3, SegmentSeqnum: 2}) {
		t.Errorf("SAR = %+v, %v", sar, err)
	}
	if id, err := got.ReceiptedMessageID(); err != nil || id != "00B8BE19" {
		t.Errorf("ReceiptedMessageID = %q, %v", id, err)
	}
	if s, err := got.MessageState(); err != nil || s != StateDelivered {
		t.Errorf("MessageState = %v, %v", s, err)
	}
	if c, err := got.NetworkErrorCode(); err != nil || c.String() != "3/2050" {
		t.Errorf("NetworkErrorCode = %v, %v", c, err)
	}
	if v, err := got.SourcePort(); err != nil || v != 9200 {
		t.Errorf("SourcePort = %d, %v", v, err)
	}
	if v, err := got.DestinationPort(); err != nil || v != 2948 {
		t.Errorf("DestinationPort = %d, %v", v, err)
	}
	if v, err := got.SCInterfaceVersion(); err != nil || v != 0x34 {
		t.Errorf("SCInterfaceVersion = %#x, %v", v, err)
	}
	if v, err := got.MoreMessagesToSend(); err != nil || v != 1 {
		t.Errorf("MoreMessagesToSend = %d, %v", v, err)
	}
	if v, err := got.LanguageIndicator(); err != nil || v != 2 {
		t.Errorf("LanguageIndicator = %d, %v", v, err)
	}
	if v, err := got.QOSTimeToLive(); err != nil || v != 3600 {
		t.Errorf("QOSTimeToLive = %d, %v", v, err)
	}
	if v, err := got.AdditionalStatusInfoText(); err != nil || v != "queue full" {
		t.Errorf("AdditionalStatusInfoText = %q, %v", v, err)
	}
}

func TestTLVCStringWithoutNUL(t *testing.T) {
	ts := TLVs{{Tag: TagReceiptedMessageID, Value: []byte("7A3F0011")}}
	if id, err := ts.ReceiptedMessageID(); err != nil || id != "7A3F0011" {
		t.Errorf("ReceiptedMessageID = %q, %v; want 7A3F0011", id, err)
	}
}

func TestTLVsValidate(t *testing.T) {
	cases := []struct {
		name string
		tlvs TLVs
		ok   bool
	}{
		{"unknown tag any length", TLVs{{Tag: 0x1401, Value: make([]byte, 300)}}, true},
		{"message_payload empty", TLVs{{Tag: TagMessagePayload}}, true},
		{"alert_on_message_delivery empty", TLVs{{Tag: TagAlertOnMessageDelivery}}, true},
		{"alert_on_message_delivery with value", TLVs{{Tag: TagAlertOnMessageDelivery, Value: []byte{1}}}, false},
		{"callback_num too short", TLVs{{Tag: TagCallbackNum, Value: []byte{1, 2, 3}}}, false},
		{"dest_subaddress at max", TLVs{{Tag: TagDestSubaddress, Value: make([]byte, 23)}}, true},
		{"network_error_code 2 octets", TLVs{{Tag: TagNetworkErrorCode, Value: []byte{3, 8}}}, false},
	}
	for _, c := range cases {
		err := c.tlvs.Validate()
		if c.ok && err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !c.ok && !errors.Is(err, ErrInvalidTLV) {
			t.Errorf("%s: %v, want ErrInvalidTLV", c.name, err)
		}
	}
}

func TestTagString(t *testing.T) {
	if s := TagMessagePayload.String(); s != "message_payload" {
		t.Errorf("TagMessagePayload = %q", s)
	}
	if s := Tag(0x1400).String(); s != "tlv(0x1400)" {
		t.Errorf("Tag(0x1400) = %q", s)
	}
	if !TagNetworkErrorCode.Known() || Tag(0x1400).Known() {
		t.Error("Known is wrong")
	}
}
