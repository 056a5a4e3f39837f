package smpp

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"
)

// These tests pin down inputs from real peers that broke other SMPP
// implementations.

func TestBindTransceiverRespEmptySystemIDWithVersionTLV(t *testing.T) {
	in := mustHex(t, "00000016 80000009 00000000 00000001 00021000 0150")
	p := mustDecode(t, in)
	resp, ok := p.(*BindTransceiverResp)
	if !ok {
		t.Fatalf("decoded %T, want *BindTransceiverResp", p)
	}
	if resp.SystemID != "" {
		t.Errorf("SystemID = %q, want empty", resp.SystemID)
	}
	v, err := resp.TLVs.SCInterfaceVersion()
	if err != nil {
		t.Fatalf("SCInterfaceVersion: %v", err)
	}
	if v != 0x50 {
		t.Errorf("sc_interface_version = %#x, want 0x50", v)
	}
	if CheckStatus(p) != nil {
		t.Errorf("CheckStatus = %v, want nil", CheckStatus(p))
	}
	if out := mustEncode(t, p); !bytes.Equal(out, in) {
		t.Errorf("re-encoded % x, want % x", out, in)
	}
}

func TestSubmitSMRespErrorWithoutBody(t *testing.T) {
	in := mustHex(t, "00000010 80000004 00000045 00000041")
	p := mustDecode(t, in)
	resp, ok := p.(*SubmitSMResp)
	if !ok {
		t.Fatalf("decoded %T, want *SubmitSMResp", p)
	}
	if resp.CommandStatus != StatusSubmitFailed {
		t.Errorf("CommandStatus = %v, want ESME_RSUBMITFAIL", resp.CommandStatus)
	}
	if resp.SequenceNumber != 0x41 {
		t.Errorf("SequenceNumber = %#x, want 0x41", resp.SequenceNumber)
	}
	var se *StatusError
	if !errors.As(CheckStatus(p), &se) || se.Status != StatusSubmitFailed {
		t.Errorf("CheckStatus = %v, want a StatusError with ESME_RSUBMITFAIL", CheckStatus(p))
	}
	// The encoder writes an error response with an empty body as a bare
	// header, the form SMPP 3.4 section 4.4.2 gives.
	if out := mustEncode(t, p); !bytes.Equal(out, in) {
		t.Errorf("re-encoded % x, want % x", out, in)
	}
}

func TestBindTransceiverRespInvalidPasswordWithoutBody(t *testing.T) {
	p := mustDecode(t, mustHex(t, "00000010 80000009 0000000e 00000001"))
	resp, ok := p.(*BindTransceiverResp)
	if !ok {
		t.Fatalf("decoded %T, want *BindTransceiverResp", p)
	}
	if resp.CommandStatus != StatusInvalidPassword {
		t.Errorf("CommandStatus = %v, want ESME_RINVPASWD", resp.CommandStatus)
	}
	if StatusOf(CheckStatus(p)) != StatusInvalidPassword {
		t.Errorf("StatusOf(CheckStatus) = %v, want ESME_RINVPASWD", StatusOf(CheckStatus(p)))
	}
}

func TestErrorResponseWithEmptyMessageID(t *testing.T) {
	// 17 octets: the body is the NUL of an empty message_id.
	p := mustDecode(t, mustHex(t, "00000011 80000004 00000045 00000041 00"))
	resp := p.(*SubmitSMResp)
	if resp.MessageID != "" || resp.CommandStatus != StatusSubmitFailed {
		t.Errorf("got id %q status %v, want empty id and ESME_RSUBMITFAIL", resp.MessageID, resp.CommandStatus)
	}
}

func TestEveryResponseAcceptsEmptyBody(t *testing.T) {
	for id := range commandNames {
		if !id.IsResponse() {
			continue
		}
		in := appendHeader(nil, Header{CommandLength: 16, CommandID: id, CommandStatus: StatusSystemError, SequenceNumber: 7})
		p, err := DecodePDU(in)
		if err != nil {
			t.Errorf("%v: %v", id, err)
			continue
		}
		if p.CommandID() != id || p.PDUHeader().SequenceNumber != 7 {
			t.Errorf("%v: decoded %v seq %d", id, p.CommandID(), p.PDUHeader().SequenceNumber)
		}
	}
}

func TestRequestWithoutBodyIsTruncated(t *testing.T) {
	_, err := DecodePDU(mustHex(t, "00000010 00000004 00000000 00000001"))
	de := asDecodeError(t, err)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("error %v does not wrap ErrTruncated", err)
	}
	if de.Status != StatusInvalidCommandLength || de.Field != "service_type" {
		t.Errorf("got status %v field %q, want ESME_RINVCMDLEN on service_type", de.Status, de.Field)
	}
}

var httpResponse = "48545450 2f312e31 20343030 20426164 20526571 75657374 0d0a436f 6e74656e " +
	"742d4c65 6e677468 3a20300d 0a0d0a"

func TestHTTPResponseRejectedBeforeAllocating(t *testing.T) {
	in := mustHex(t, httpResponse)
	fr := NewFrameReader(bytes.NewReader(in), 0)
	_, err := fr.ReadFrame()
	de := asDecodeError(t, err)
	if de.Status != StatusInvalidCommandLength {
		t.Errorf("Status = %v, want ESME_RINVCMDLEN", de.Status)
	}
	if !errors.Is(err, ErrInvalidCommandLength) {
		t.Errorf("error %v does not wrap ErrInvalidCommandLength", err)
	}
	// The stream cannot be resynchronised, so the error sticks.
	if _, again := fr.ReadFrame(); again != err {
		t.Errorf("second ReadFrame = %v, want the same error", again)
	}

	// command_length 0x48545450 is 1.2 GB. Reading it must cost no more
	// than the reader's small initial buffer.
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range 10 {
		fr := NewFrameReader(bytes.NewReader(in), 0)
		if _, err := fr.ReadFrame(); err == nil {
			t.Fatal("ReadFrame accepted the HTTP response")
		}
	}
	runtime.ReadMemStats(&after)
	if perRead := (after.TotalAlloc - before.TotalAlloc) / 10; perRead > 16*1024 {
		t.Errorf("each rejected frame allocated %d bytes, want at most 16 KiB", perRead)
	}
}

const trailingNULSubmitSM = `
0000006f 00000004 00000000 00000008 00050041 434d4530 31000101 31323031 35353530 31303400
00000000 00010000 003c5265 6d696e64 65723a20 796f7572 20746162 6c652066 6f722074 776f2069
7320626f 6f6b6564 20666f72 2037706d 20746f6e 69676874 2e205468 782100`

func TestSubmitSMTrailingNULAfterShortMessage(t *testing.T) {
	p := mustDecode(t, mustHex(t, trailingNULSubmitSM))
	sm, ok := p.(*SubmitSM)
	if !ok {
		t.Fatalf("decoded %T, want *SubmitSM", p)
	}
	want := "Reminder: your table for two is booked for 7pm tonight. Thx!"
	if string(sm.ShortMessage) != want {
		t.Errorf("ShortMessage = %q, want %q", sm.ShortMessage, want)
	}
	if len(sm.ShortMessage) != 60 {
		t.Errorf("len(ShortMessage) = %d, want 60", len(sm.ShortMessage))
	}
	if len(sm.TLVs) != 0 {
		t.Errorf("TLVs = %v, want none", sm.TLVs)
	}
	if sm.SourceAddr != "ACME01" || sm.DestinationAddr != "12015550104" || sm.SequenceNumber != 8 {
		t.Errorf("got source %q dest %q seq %d", sm.SourceAddr, sm.DestinationAddr, sm.SequenceNumber)
	}
}

// withTrailer returns the trailing-NUL submit_sm with its last octet
// replaced by trailer and command_length fixed up.
func withTrailer(t *testing.T, trailer []byte) []byte {
	in := mustHex(t, trailingNULSubmitSM)
	in = append(in[:len(in)-1:len(in)-1], trailer...)
	in[3] = byte(len(in))
	return in
}

func TestTrailingOctetsAfterLastField(t *testing.T) {
	for _, trailer := range [][]byte{{}, {0}, {0, 0}, {0, 0, 0}} {
		if _, err := DecodePDU(withTrailer(t, trailer)); err != nil {
			t.Errorf("%d zero octets: %v", len(trailer), err)
		}
	}
	for _, trailer := range [][]byte{{1}, {0, 7}, {0xff, 0, 0}} {
		_, err := DecodePDU(withTrailer(t, trailer))
		de := asDecodeError(t, err)
		if de.Status != StatusInvalidTLVStream {
			t.Errorf("trailer % x: Status = %v, want ESME_RINVOPTPARSTREAM", trailer, de.Status)
		}
		if de.SequenceNumber != 8 || de.CommandID != SubmitSMID {
			t.Errorf("trailer % x: error names %v seq %d, want submit_sm seq 8", trailer, de.CommandID, de.SequenceNumber)
		}
		if !errors.Is(err, ErrInvalidTLVStream) {
			t.Errorf("trailer % x: %v does not wrap ErrInvalidTLVStream", trailer, err)
		}
	}
}

func TestBadTrailerFailsOnlyThatPDU(t *testing.T) {
	var stream []byte
	stream = append(stream, withTrailer(t, []byte{0x01})...)
	stream = append(stream, mustHex(t, "00000010 00000015 00000000 00000009")...)
	fr := NewFrameReader(bytes.NewReader(stream), 0)
	_, err := fr.ReadPDU()
	if StatusOf(err) != StatusInvalidTLVStream {
		t.Fatalf("first PDU: %v, want ESME_RINVOPTPARSTREAM", err)
	}
	p, err := fr.ReadPDU()
	if err != nil {
		t.Fatalf("second PDU: %v", err)
	}
	if p.CommandID() != EnquireLinkID || p.PDUHeader().SequenceNumber != 9 {
		t.Errorf("second PDU is %v, want enquire_link seq 9", p.PDUHeader())
	}
	if _, err := fr.ReadPDU(); err != io.EOF {
		t.Errorf("after the last PDU: %v, want io.EOF", err)
	}
}

func TestBindTransceiverStringsAtMaxLength(t *testing.T) {
	p := mustDecode(t, mustHex(t, `0000002e 00000009 00000000 00000001 61636d65 72657461
		696c3031 32333400 70613535 77307264 00003400 0000`))
	bind, ok := p.(*BindTransceiver)
	if !ok {
		t.Fatalf("decoded %T, want *BindTransceiver", p)
	}
	if bind.SystemID != "acmeretail01234" || bind.Password != "pa55w0rd" {
		t.Errorf("got system_id %q password %q", bind.SystemID, bind.Password)
	}
	if bind.InterfaceVersion != InterfaceVersion34 {
		t.Errorf("InterfaceVersion = %#x, want 0x34", bind.InterfaceVersion)
	}
}

func TestBindTransceiverStringsOverMaxLength(t *testing.T) {
	in := mustHex(t, `00000030 00000009 00000000 00000002 61636d65 72657461 696c3031
		32333435 00706135 35773072 64390000 34000000`)
	_, err := DecodePDU(in)
	de := asDecodeError(t, err)
	if de.Status != StatusInvalidSystemID {
		t.Errorf("Status = %v, want ESME_RINVSYSID", de.Status)
	}
	if de.Field != "system_id" || de.Offset != 16 {
		t.Errorf("error at %s offset %d, want system_id at offset 16", de.Field, de.Offset)
	}
	if de.SequenceNumber != 2 || de.CommandID != BindTransceiverID {
		t.Errorf("error names %v seq %d, want bind_transceiver seq 2", de.CommandID, de.SequenceNumber)
	}
	if !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("%v does not wrap ErrFieldTooLong", err)
	}
}

const unexpectedTLVDeliverSM = `00000042 00000005 00000000 000000fa 57415000 01013132 30313535
	35303130 33000001 33383338 00000000 00000000 00000454 65737402 04000200 c5021000 0134`

func TestDeliverSMKeepsUnexpectedTLV(t *testing.T) {
	in := mustHex(t, unexpectedTLVDeliverSM)
	p := mustDecode(t, in)
	dm, ok := p.(*DeliverSM)
	if !ok {
		t.Fatalf("decoded %T, want *DeliverSM", p)
	}
	if string(dm.ShortMessage) != "Test" || dm.ServiceType != "WAP" {
		t.Errorf("got text %q service_type %q", dm.ShortMessage, dm.ServiceType)
	}
	want := TLVs{
		{Tag: TagUserMessageReference, Value: []byte{0x00, 0xc5}},
		{Tag: TagSCInterfaceVersion, Value: []byte{0x34}},
	}
	if len(dm.TLVs) != 2 || dm.TLVs[0].Tag != want[0].Tag || dm.TLVs[1].Tag != want[1].Tag ||
		!bytes.Equal(dm.TLVs[0].Value, want[0].Value) || !bytes.Equal(dm.TLVs[1].Value, want[1].Value) {
		t.Errorf("TLVs = %v, want %v", dm.TLVs, want)
	}
	if ref, err := dm.TLVs.UserMessageReference(); err != nil || ref != 0xc5 {
		t.Errorf("UserMessageReference = %#x, %v; want 0xc5", ref, err)
	}
	if err := Validate(p); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if out := mustEncode(t, p); !bytes.Equal(out, in) {
		t.Errorf("re-encoded\n% x\nwant\n% x", out, in)
	}
}

const networkErrorReceipt = `000000b5 00000005 00000000 00000061 00010131 32303135 35353031 30310001
	01313838 38353535 30313030 00040000 00000000 00006569 643a3741 33463030 31312073 75623a30
	30312064 6c767264 3a303030 20737562 6d697420 64617465 3a323631 32303431 32303020 646f6e65
	20646174 653a3236 31323034 31323031 20737461 743a554e 44454c49 56206572 723a3230 35302074
	6578743a 001e0009 37413346 30303131 00042700 01050423 00030308 02`

func TestReceiptNetworkErrorCode(t *testing.T) {
	p := mustDecode(t, mustHex(t, networkErrorReceipt))
	dm := p.(*DeliverSM)
	if dm.ESMClass&ESMClassMessageTypeMask != ESMClassDeliveryReceipt {
		t.Errorf("ESMClass = %#x, want a delivery receipt", dm.ESMClass)
	}
	code, err := dm.TLVs.NetworkErrorCode()
	if err != nil {
		t.Fatalf("NetworkErrorCode: %v", err)
	}
	if code.NetworkType != NetworkTypeGSM || code.ErrorCode != 2050 {
		t.Errorf("network_error_code = %v, want type 3 code 2050", code)
	}
	state, err := dm.TLVs.MessageState()
	if err != nil || state != StateUndeliverable {
		t.Errorf("MessageState = %v, %v; want UNDELIV", state, err)
	}
	id, err := dm.TLVs.ReceiptedMessageID()
	if err != nil || id != "7A3F0011" {
		t.Errorf("ReceiptedMessageID = %q, %v; want 7A3F0011", id, err)
	}
}

func TestReceiptNetworkErrorCodeWrongLength(t *testing.T) {
	// The receipt with network_error_code shortened to 2 octets.
	in := mustHex(t, networkErrorReceipt)
	in = in[:len(in)-1]
	in[len(in)-3] = 2
	in[3]--
	p, err := DecodePDU(in)
	if err != nil {
		t.Fatalf("DecodePDU: %v", err)
	}
	tlvs := p.(*DeliverSM).TLVs
	if _, err := tlvs.NetworkErrorCode(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("NetworkErrorCode error = %v, want ErrInvalidTLV", err)
	}
	if state, err := tlvs.MessageState(); err != nil || state != StateUndeliverable {
		t.Errorf("MessageState = %v, %v; want UNDELIV", state, err)
	}
	if err := tlvs.Validate(); !errors.Is(err, ErrInvalidTLV) {
		t.Errorf("TLVs.Validate = %v, want ErrInvalidTLV", err)
	}
}

const payloadUDHDeliverSM = `00000054 00000005 00000000 00000023 00010131 32303135 35353031
	30310001 01313838 38353535 30313030 00400000 00000000 00000004 24001905 0003ab02 0148656c
	6c6f2066 726f6d20 70617274 206f6e65`

func TestDeliverSMUDHInMessagePayload(t *testing.T) {
	p := mustDecode(t, mustHex(t, payloadUDHDeliverSM))
	dm := p.(*DeliverSM)
	if dm.ESMClass&ESMClassUDHI == 0 {
		t.Errorf("ESMClass = %#x, want UDHI set", dm.ESMClass)
	}
	if dm.ShortMessage != nil {
		t.Errorf("ShortMessage = % x, want nil", dm.ShortMessage)
	}
	payload, err := dm.TLVs.MessagePayload()
	if err != nil {
		t.Fatalf("MessagePayload: %v", err)
	}
	want := append([]byte{0x05, 0x00, 0x03, 0xab, 0x02, 0x01}, "Hello from part one"...)
	if !bytes.Equal(payload, want) {
		t.Errorf("message_payload = % x, want % x", payload, want)
	}
	if err := Validate(p); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestShortMessageAndPayloadConflict(t *testing.T) {
	p := mustDecode(t, mustHex(t, payloadUDHDeliverSM))
	dm := p.(*DeliverSM)
	dm.ShortMessage = []byte("also here")
	in := mustEncode(t, dm)
	p, err := DecodePDU(in)
	if err != nil {
		t.Fatalf("decoding a PDU with both fields: %v", err)
	}
	err = Validate(p)
	if !errors.Is(err, ErrPayloadConflict) {
		t.Fatalf("Validate = %v, want ErrPayloadConflict", err)
	}
	if StatusOf(err) != StatusInvalidTLVLength {
		t.Errorf("StatusOf = %v, want ESME_RINVPARLEN", StatusOf(err))
	}
}

func TestShortMessageWithNULOctets(t *testing.T) {
	// GSM 03.38 text "Café @ 10£": 0x00 is '@' and must not end the field.
	p := mustDecode(t, mustHex(t, `00000041 00000005 00000000 00000012 00010131 32303135 35353031
		30310001 01313838 38353535 30313030 00000000 00000000 00000a43 61660520 00203130 01`))
	want := []byte{0x43, 0x61, 0x66, 0x05, 0x20, 0x00, 0x20, 0x31, 0x30, 0x01}
	if got := p.(*DeliverSM).ShortMessage; !bytes.Equal(got, want) {
		t.Errorf("ShortMessage = % x, want % x", got, want)
	}
}
