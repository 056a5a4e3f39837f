package smpp

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// decodeWireHex decodes a PDU written as hex words separated by spaces.
func decodeWireHex(t *testing.T, words string) PDU {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(words), ""))
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePDU(b)
	if err != nil {
		t.Fatalf("DecodePDU: %v", err)
	}
	return p
}

func decodeDeliverSM(t *testing.T, words string) *DeliverSM {
	t.Helper()
	p, ok := decodeWireHex(t, words).(*DeliverSM)
	if !ok {
		t.Fatal("PDU is not a deliver_sm")
	}
	return p
}

// Regression: the receipt id 00B8BE19 and receipted_message_id B8BE19 must
// correlate with submit_sm_resp id 00B8BE19.
func TestRegressionDeliverSMReceiptHexID(t *testing.T) {
	p := decodeDeliverSM(t, `000000b7 00000005 00000000 00000032 00010131 32303135 35353031
		30310001 01313838 38353535 30313030 00040000 00000000 00007069 643a3030 42384245
		31392073 75623a30 30312064 6c767264 3a303031 20737562 6d697420 64617465 3a323631
		32303431 35333020 646f6e65 20646174 653a3236 31323034 31353331 20737461 743a4445
		4c495652 44206572 723a3030 30207465 78743a59 6f757220 636f6465 20697300 1e000742
		38424531 39000427 000102`)
	if !IsDeliveryReceipt(p.ESMClass) {
		t.Fatal("esm_class 0x04 not recognised as a receipt")
	}
	rep, err := ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "B8BE19" || rep.Receipt.ID != "00B8BE19" {
		t.Errorf("ids: TLV %q, text %q", rep.MessageID, rep.Receipt.ID)
	}
	if CanonicalMessageID(rep.MessageID, IDKeepBase) != CanonicalMessageID("00B8BE19", IDKeepBase) {
		t.Error("receipt does not correlate with submit_sm_resp id 00B8BE19")
	}
	if rep.State != StateDelivered || len(rep.Problems) != 0 {
		t.Errorf("state %v, problems %v", rep.State, rep.Problems)
	}
}

// Regression: a receipt without sub, dlvrd and text, and without TLVs.
func TestRegressionDeliverSMReceiptMissingFields(t *testing.T) {
	p := decodeDeliverSM(t, `00000085 00000005 00000000 00000035 00010131 32303135 35353031
		30310001 01313838 38353535 30313030 00040000 00000000 00004e69 643a3036 35343335
		34303236 20737562 6d697420 64617465 3a323631 32303431 34353420 646f6e65 20646174
		653a3236 31323034 31343534 20737461 743a4445 4c495652 44206572 723a3030 30`)
	rep, err := ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "0654354026" || rep.State != StateDelivered || rep.Receipt.Err != "000" {
		t.Errorf("report = %+v", rep)
	}
}

// Regression: data_coding 0x08 on an ASCII receipt body.
func TestRegressionDeliverSMReceiptUCS2Coding(t *testing.T) {
	p := decodeDeliverSM(t, `000000a6 00000005 00000000 00000037 00000031 32303135 35353031
		30310000 00416c65 72747300 04000000 00000008 00746964 3a533231 33313132 34323039
		31363336 35303434 35207375 623a3030 3120646c 7672643a 30303120 7375626d 69742064
		6174653a 32363132 30343136 33363530 20646f6e 65206461 74653a32 36313230 34313633
		36353720 73746174 3a44454c 49565244 20657272 3a303030 20746578 743a`)
	if p.DataCoding != CodingUCS2 {
		t.Fatalf("data_coding = %v, want UCS2", p.DataCoding)
	}
	rep, err := ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "S2131124209163650445" || rep.State != StateDelivered {
		t.Errorf("report = %+v", rep)
	}
	if rep.Receipt.DoneDate.Second() != 57 {
		t.Errorf("done date %v, want seconds 57", rep.Receipt.DoneDate)
	}
}

// Regression: network_error_code 03 08 02 is GSM error 2050, not a
// three-digit string.
func TestRegressionDeliverSMReceiptNetworkError(t *testing.T) {
	p := decodeDeliverSM(t, `000000b5 00000005 00000000 00000061 00010131 32303135 35353031
		30310001 01313838 38353535 30313030 00040000 00000000 00006569 643a3741 33463030
		31312073 75623a30 30312064 6c767264 3a303030 20737562 6d697420 64617465 3a323631
		32303431 32303020 646f6e65 20646174 653a3236 31323034 31323031 20737461 743a554e
		44454c49 56206572 723a3230 35302074 6578743a 001e0009 37413346 30303131 00042700
		01050423 00030308 02`)
	rep, err := ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "7A3F0011" || rep.State != StateUndeliverable || rep.Receipt.Err != "2050" {
		t.Errorf("report = %+v", rep)
	}
	if !rep.HasNetworkError || rep.NetworkError != (NetworkErrorCode{NetworkType: 3, ErrorCode: 2050}) {
		t.Errorf("network error %+v (present %v), want GSM 2050", rep.NetworkError, rep.HasNetworkError)
	}

	// A network_error_code of the wrong length is reported and ignored.
	p.TLVs.Set(TagNetworkErrorCode, []byte{0x03, 0x08})
	rep, err = ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.HasNetworkError || len(rep.Problems) != 1 || !errors.Is(rep.Problems[0], ErrInvalidTLV) {
		t.Errorf("short network_error_code: present %v, problems %v", rep.HasNetworkError, rep.Problems)
	}
}

func TestDeliveryReportFromTLVsOnly(t *testing.T) {
	p := &DeliverSM{ESMClass: ESMClassDeliveryReceipt, ShortMessage: []byte("not a receipt")}
	p.TLVs.SetReceiptedMessageID("A1B2C3")
	p.TLVs.SetMessageState(StateExpired)
	rep, err := ParseDeliverSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "A1B2C3" || rep.State != StateExpired {
		t.Errorf("report = %+v", rep)
	}
	if len(rep.Problems) != 1 || !errors.Is(rep.Problems[0], ErrInvalidReceipt) {
		t.Errorf("problems = %v, want the unparsable text", rep.Problems)
	}
}

func TestDeliveryReportInvalid(t *testing.T) {
	p := &DeliverSM{ESMClass: ESMClassDeliveryReceipt, ShortMessage: []byte("hello")}
	p.TLVs.SetMessageState(MessageState(42))
	_, err := ParseDeliverSMReceipt(p, TextOptions{})
	if !errors.Is(err, ErrInvalidReceipt) {
		t.Errorf("error = %v, want ErrInvalidReceipt", err)
	}
	if _, err := ParseDeliverSMReceipt(&DeliverSM{}, TextOptions{}); !errors.Is(err, ErrInvalidReceipt) {
		t.Errorf("empty deliver_sm error = %v, want ErrInvalidReceipt", err)
	}
}

func TestDataSMReceipt(t *testing.T) {
	p := &DataSM{ESMClass: ESMClassDeliveryReceipt}
	p.TLVs.SetMessagePayload([]byte("id:77 stat:DELIVRD err:000"))
	rep, err := ParseDataSMReceipt(p, TextOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.MessageID != "77" || rep.State != StateDelivered {
		t.Errorf("report = %+v", rep)
	}
}
