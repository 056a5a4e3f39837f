package smpp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// stringFieldLimit is one C-octet string field with its SMPP 3.4 maximum
// (NUL included) and the status that rejects an over-long value.
type stringFieldLimit struct {
	id     CommandID
	goName string // struct field
	field  string // spec name
	max    int
	status CommandStatus
}

var stringFieldLimits = []stringFieldLimit{
	{BindTransmitterID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{BindTransmitterID, "Password", "password", 9, StatusInvalidPassword},
	{BindTransmitterID, "SystemType", "system_type", 13, StatusInvalidSystemType},
	{BindTransmitterID, "AddressRange", "address_range", 41, StatusBindFailed},
	{BindReceiverID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{BindTransceiverID, "Password", "password", 9, StatusInvalidPassword},
	{BindTransceiverRespID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{BindReceiverRespID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{BindTransmitterRespID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{OutbindID, "SystemID", "system_id", 16, StatusInvalidSystemID},
	{OutbindID, "Password", "password", 9, StatusInvalidPassword},
	{SubmitSMID, "ServiceType", "service_type", 6, StatusInvalidServiceType},
	{SubmitSMID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{SubmitSMID, "DestinationAddr", "destination_addr", 21, StatusInvalidDestAddr},
	{SubmitSMID, "ScheduleDeliveryTime", "schedule_delivery_time", 17, StatusInvalidSchedule},
	{SubmitSMID, "ValidityPeriod", "validity_period", 17, StatusInvalidExpiry},
	{DeliverSMID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{DeliverSMID, "DestinationAddr", "destination_addr", 21, StatusInvalidDestAddr},
	{SubmitSMRespID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{DeliverSMRespID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{DataSMRespID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{SubmitMultiID, "ServiceType", "service_type", 6, StatusInvalidServiceType},
	{SubmitMultiID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{SubmitMultiID, "ValidityPeriod", "validity_period", 17, StatusInvalidExpiry},
	{SubmitMultiRespID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{DataSMID, "ServiceType", "service_type", 6, StatusInvalidServiceType},
	{DataSMID, "SourceAddr", "source_addr", 65, StatusInvalidSourceAddr},
	{DataSMID, "DestinationAddr", "destination_addr", 65, StatusInvalidDestAddr},
	{QuerySMID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{QuerySMID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{QuerySMRespID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{QuerySMRespID, "FinalDate", "final_date", 17, StatusQueryFailed},
	{CancelSMID, "ServiceType", "service_type", 6, StatusInvalidServiceType},
	{CancelSMID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{CancelSMID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{CancelSMID, "DestinationAddr", "destination_addr", 21, StatusInvalidDestAddr},
	{ReplaceSMID, "MessageID", "message_id", 65, StatusInvalidMessageID},
	{ReplaceSMID, "SourceAddr", "source_addr", 21, StatusInvalidSourceAddr},
	{ReplaceSMID, "ScheduleDeliveryTime", "schedule_delivery_time", 17, StatusInvalidSchedule},
	{ReplaceSMID, "ValidityPeriod", "validity_period", 17, StatusInvalidExpiry},
	{AlertNotificationID, "SourceAddr", "source_addr", 65, StatusInvalidSourceAddr},
	{AlertNotificationID, "ESMEAddr", "esme_addr", 65, StatusInvalidDestAddr},
}

// pduWithString returns a new PDU of type id with the named string field
// set to s and every other field empty.
func pduWithString(t *testing.T, id CommandID, goName, s string) PDU {
	t.Helper()
	p := NewPDU(id)
	f := reflect.ValueOf(p).Elem().FieldByName(goName)
	if !f.IsValid() || f.Kind() != reflect.String {
		t.Fatalf("%v has no string field %s", id, goName)
	}
	f.SetString(s)
	p.PDUHeader().SequenceNumber = 42
	return p
}

func TestStringFieldAtMaxLengthRoundTrips(t *testing.T) {
	for _, lim := range stringFieldLimits {
		t.Run(lim.id.String()+"/"+lim.field, func(t *testing.T) {
			s := strings.Repeat("7", lim.max-1)
			wire := mustEncode(t, pduWithString(t, lim.id, lim.goName, s))
			p := mustDecode(t, wire)
			if got := reflect.ValueOf(p).Elem().FieldByName(lim.goName).String(); got != s {
				t.Errorf("decoded %s = %q, want %q", lim.field, got, s)
			}
		})
	}
}

func TestEncodeRejectsOverLongString(t *testing.T) {
	for _, lim := range stringFieldLimits {
		t.Run(lim.id.String()+"/"+lim.field, func(t *testing.T) {
			p := pduWithString(t, lim.id, lim.goName, strings.Repeat("7", lim.max))
			dst := []byte("keep")
			out, err := AppendPDU(dst, p)
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("AppendPDU error = %v, want *EncodeError", err)
			}
			if ee.Field != lim.field || ee.Status != lim.status {
				t.Errorf("error on %s with %v, want %s with %v", ee.Field, ee.Status, lim.field, lim.status)
			}
			if !errors.Is(err, ErrFieldTooLong) {
				t.Errorf("%v does not wrap ErrFieldTooLong", err)
			}
			if string(out) != "keep" {
				t.Errorf("AppendPDU returned % x on error, want dst unchanged", out)
			}
		})
	}
}

func TestDecodeRejectsOverLongString(t *testing.T) {
	for _, lim := range stringFieldLimits {
		t.Run(lim.id.String()+"/"+lim.field, func(t *testing.T) {
			// Encode a value at the maximum, then lengthen it on the wire
			// by one octet.
			marker := strings.Repeat("~", lim.max-1)
			wire := mustEncode(t, pduWithString(t, lim.id, lim.goName, marker))
			at := bytes.Index(wire, []byte(marker))
			long := append(append(append([]byte(nil), wire[:at]...), '~'), wire[at:]...)
			binary.BigEndian.PutUint32(long, uint32(len(long)))

			_, err := DecodePDU(long)
			de := asDecodeError(t, err)
			if de.Field != lim.field || de.Status != lim.status || de.Offset != at {
				t.Errorf("error on %s at %d with %v, want %s at %d with %v",
					de.Field, de.Offset, de.Status, lim.field, at, lim.status)
			}
			if de.SequenceNumber != 42 || de.CommandID != lim.id {
				t.Errorf("error names %v seq %d", de.CommandID, de.SequenceNumber)
			}
			if !errors.Is(err, ErrFieldTooLong) {
				t.Errorf("%v does not wrap ErrFieldTooLong", err)
			}
		})
	}
}

func TestEncodeRejectsNULInString(t *testing.T) {
	_, err := EncodePDU(&SubmitSM{SourceAddr: "ACME\x00X"})
	var ee *EncodeError
	if !errors.As(err, &ee) || ee.Field != "source_addr" || !errors.Is(err, ErrInvalidField) {
		t.Errorf("EncodePDU = %v, want an invalid source_addr", err)
	}
}

func TestSubmitMultiAddressLimits(t *testing.T) {
	long := strings.Repeat("1", 21)
	cases := []struct {
		name   string
		dest   DestAddress
		field  string
		status CommandStatus
	}{
		{"destination_addr", DestAddress{DestFlag: DestFlagSMEAddress, DestinationAddr: long}, "destination_addr", StatusInvalidDestAddr},
		{"dl_name", DestAddress{DestFlag: DestFlagDLName, DLName: long}, "dl_name", StatusInvalidDLName},
		{"dest_flag", DestAddress{DestFlag: 3}, "dest_flag", StatusInvalidDestFlag},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := EncodePDU(&SubmitMulti{DestAddresses: []DestAddress{c.dest}})
			var ee *EncodeError
			if !errors.As(err, &ee) || ee.Field != c.field || ee.Status != c.status {
				t.Errorf("EncodePDU = %v, want %s with %v", err, c.field, c.status)
			}
		})
	}
	_, err := EncodePDU(&SubmitMulti{DestAddresses: make([]DestAddress, 255)})
	if StatusOf(err) != StatusInvalidNumDests {
		t.Errorf("255 destinations: %v, want ESME_RINVNUMDESTS", err)
	}
	if _, err := EncodePDU(&SubmitMultiResp{UnsuccessSMEs: make([]UnsuccessSME, 256)}); err == nil {
		t.Error("256 unsuccess_sme entries encoded, want an error")
	}
}

// submitMultiWire is a submit_multi with one SME destination, seq 5.
func submitMultiWire(t *testing.T) []byte {
	return mustEncode(t, &SubmitMulti{
		Header:        Header{SequenceNumber: 5},
		DestAddresses: []DestAddress{{DestFlag: DestFlagSMEAddress, DestinationAddr: "12015550101"}},
	})
}

func TestDecodeSubmitMultiBadDestinations(t *testing.T) {
	// number_of_dests sits after service_type, source_addr_ton, npi and
	// an empty source_addr: offset 16 + 4.
	const countOff = 20
	t.Run("dest_flag", func(t *testing.T) {
		wire := submitMultiWire(t)
		wire[countOff+1] = 9
		de := asDecodeError(t, decodeErr(wire))
		if de.Status != StatusInvalidDestFlag || de.Offset != countOff+1 {
			t.Errorf("got %v at %d, want ESME_RINVDESTFLAG at %d", de.Status, de.Offset, countOff+1)
		}
	})
	t.Run("number_of_dests 255", func(t *testing.T) {
		wire := submitMultiWire(t)
		wire[countOff] = 255
		de := asDecodeError(t, decodeErr(wire))
		if de.Status != StatusInvalidNumDests {
			t.Errorf("got %v, want ESME_RINVNUMDESTS", de.Status)
		}
	})
	t.Run("number_of_dests beyond data", func(t *testing.T) {
		wire := submitMultiWire(t)
		wire[countOff] = 200
		de := asDecodeError(t, decodeErr(wire))
		if de.Status != StatusInvalidCommandLength || !errors.Is(de, ErrTruncated) {
			t.Errorf("got %v, want a truncation with ESME_RINVCMDLEN", de)
		}
	})
}

func decodeErr(b []byte) error {
	_, err := DecodePDU(b)
	return err
}

func TestDecodeShortMessageLength(t *testing.T) {
	base := mustEncode(t, &SubmitSM{Header: Header{SequenceNumber: 3}, ShortMessage: []byte("hi")})
	smLenOff := bytes.Index(base, []byte("\x02hi"))
	t.Run("over the data", func(t *testing.T) {
		wire := bytes.Clone(base)
		wire[smLenOff] = 3
		de := asDecodeError(t, decodeErr(wire))
		if de.Status != StatusInvalidMsgLength || de.Field != "short_message" {
			t.Errorf("got %v on %s, want ESME_RINVMSGLEN on short_message", de.Status, de.Field)
		}
	})
	t.Run("255", func(t *testing.T) {
		wire := bytes.Clone(base)
		wire[smLenOff] = 255
		de := asDecodeError(t, decodeErr(wire))
		if de.Status != StatusInvalidMsgLength || de.Field != "sm_length" || de.Offset != smLenOff {
			t.Errorf("got %v on %s at %d, want ESME_RINVMSGLEN on sm_length at %d", de.Status, de.Field, de.Offset, smLenOff)
		}
	})
	t.Run("encode 255 octets", func(t *testing.T) {
		_, err := EncodePDU(&SubmitSM{ShortMessage: make([]byte, 255)})
		if StatusOf(err) != StatusInvalidMsgLength || !errors.Is(err, ErrFieldTooLong) {
			t.Errorf("EncodePDU = %v, want ESME_RINVMSGLEN", err)
		}
	})
	t.Run("encode 254 octets", func(t *testing.T) {
		p := mustDecode(t, mustEncode(t, &SubmitSM{ShortMessage: bytes.Repeat([]byte{0}, 254)}))
		if n := len(p.(*SubmitSM).ShortMessage); n != 254 {
			t.Errorf("decoded %d octets, want 254", n)
		}
	})
}

func TestDecodeTLVLengthBeyondPDU(t *testing.T) {
	wire := mustEncode(t, &DeliverSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: []byte("abc")}}})
	binary.BigEndian.PutUint16(wire[len(wire)-5:], 4)
	de := asDecodeError(t, decodeErr(wire))
	if de.Status != StatusInvalidTLVStream || de.Offset != len(wire)-7 || !errors.Is(de, ErrInvalidTLVStream) {
		t.Errorf("got %v at %d, want ESME_RINVOPTPARSTREAM at %d", de, de.Offset, len(wire)-7)
	}
}

func TestEncodeRejectsOversizeTLV(t *testing.T) {
	_, err := EncodePDU(&DataSM{TLVs: TLVs{{Tag: TagMessagePayload, Value: make([]byte, 0x10000)}}})
	var ee *EncodeError
	if !errors.As(err, &ee) || ee.Field != "message_payload" || ee.Status != StatusInvalidTLVLength {
		t.Errorf("EncodePDU = %v, want an over-long message_payload", err)
	}
}

func TestDecodeHeaderErrors(t *testing.T) {
	t.Run("unknown command_id", func(t *testing.T) {
		de := asDecodeError(t, decodeErr(mustHex(t, "00000010 00000099 00000000 00000007")))
		if de.Status != StatusInvalidCommandID || !errors.Is(de, ErrUnknownCommandID) || de.SequenceNumber != 7 {
			t.Errorf("got %v, want ESME_RINVCMDID for seq 7", de)
		}
		nack := NewResponse(&GenericNACK{Header: Header{SequenceNumber: de.SequenceNumber}}, de.Status)
		if nack.CommandID() != GenericNACKID || nack.PDUHeader().SequenceNumber != 7 {
			t.Errorf("NewResponse = %v, want generic_nack seq 7", nack.PDUHeader())
		}
	})
	t.Run("command_length below 16", func(t *testing.T) {
		de := asDecodeError(t, decodeErr(mustHex(t, "0000000f 00000015 00000000 00000007")))
		if de.Status != StatusInvalidCommandLength || !errors.Is(de, ErrInvalidCommandLength) {
			t.Errorf("got %v, want ESME_RINVCMDLEN", de)
		}
	})
	t.Run("command_length differs from buffer", func(t *testing.T) {
		de := asDecodeError(t, decodeErr(mustHex(t, "00000011 00000015 00000000 00000007")))
		if de.Status != StatusInvalidCommandLength || !errors.Is(de, ErrInvalidCommandLength) {
			t.Errorf("got %v, want ESME_RINVCMDLEN", de)
		}
	})
	t.Run("short header", func(t *testing.T) {
		if err := decodeErr(mustHex(t, "00000010 00000015")); !errors.Is(err, ErrIncomplete) {
			t.Errorf("got %v, want ErrIncomplete", err)
		}
	})
}

func TestDecodeErrorText(t *testing.T) {
	in := mustHex(t, `00000030 00000009 00000000 00000002 61636d65 72657461 696c3031
		32333435 00706135 35773072 64390000 34000000`)
	msg := decodeErr(in).Error()
	want := "smpp: decode bind_transceiver seq 2: system_id at offset 16: field too long: " +
		"no NUL within 16 octets (ESME_RINVSYSID)"
	if msg != want {
		t.Errorf("Error() =\n%q\nwant\n%q", msg, want)
	}
}

func TestDecodedPDUDoesNotAliasInput(t *testing.T) {
	in := mustHex(t, payloadUDHDeliverSM)
	p := mustDecode(t, in)
	for i := range in {
		in[i] = 0xEE
	}
	payload, _ := p.(*DeliverSM).TLVs.MessagePayload()
	if !bytes.HasSuffix(payload, []byte("Hello from part one")) || p.(*DeliverSM).SourceAddr != "12015550101" {
		t.Errorf("decoded PDU changed with its input: payload %q", payload)
	}
}

func TestAppendPDUAppends(t *testing.T) {
	var buf []byte
	for seq := uint32(1); seq <= 3; seq++ {
		var err error
		buf, err = AppendPDU(buf, &EnquireLink{Header: Header{SequenceNumber: seq}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(buf) != 48 {
		t.Fatalf("three enquire_link are %d octets, want 48", len(buf))
	}
	for i := range 3 {
		h, err := ParseHeader(buf[16*i:])
		if err != nil || h.CommandLength != 16 || h.SequenceNumber != uint32(i+1) || h.CommandID != EnquireLinkID {
			t.Errorf("PDU %d header %v, %v", i, h, err)
		}
	}
}

func TestEncodeUsesTypeNotHeaderCommandID(t *testing.T) {
	p := &SubmitSMResp{Header: Header{CommandID: DeliverSMRespID, CommandLength: 999, SequenceNumber: 1}}
	h, err := ParseHeader(mustEncode(t, p))
	if err != nil || h.CommandID != SubmitSMRespID || h.CommandLength != 17 {
		t.Errorf("header %v, %v; want submit_sm_resp of 17 octets", h, err)
	}
}
