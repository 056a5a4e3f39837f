package smpp

import (
	"bytes"
	"reflect"
	"testing"

	"pgregory.net/rapid"
)

// asciiRunes lists printable ASCII, the text SMSCs put in C-octet strings.
var asciiRunes = func() []rune {
	var rs []rune
	for r := rune(0x20); r < 0x7f; r++ {
		rs = append(rs, r)
	}
	return rs
}()

// pduGen draws random valid field values for the PDU generators.
type pduGen struct{ t *rapid.T }

// cstring draws a string that fits a C-octet string field of max octets.
func (g pduGen) cstring(label string, max int) string {
	return rapid.StringOfN(rapid.RuneFrom(asciiRunes), 0, max-1, max-1).Draw(g.t, label)
}

func (g pduGen) u8(label string) uint8 { return rapid.Uint8().Draw(g.t, label) }

// octets draws up to max octets, or nil for none, as the decoder returns.
func (g pduGen) octets(label string, max int) []byte {
	b := rapid.SliceOfN(rapid.Byte(), 0, max).Draw(g.t, label)
	if len(b) == 0 {
		return nil
	}
	return b
}

var knownTags = func() []Tag {
	var tags []Tag
	for tag := range tagSpecs {
		tags = append(tags, tag)
	}
	return tags
}()

// tlvs draws TLVs with known and unknown tags and lengths that need not
// match the tag, since the codec keeps them as they are.
func (g pduGen) tlvs() TLVs {
	n := rapid.IntRange(0, 4).Draw(g.t, "tlv_count")
	var ts TLVs
	for range n {
		tag := rapid.OneOf(rapid.SampledFrom(knownTags), rapid.Map(rapid.Uint16(), func(v uint16) Tag {
			return Tag(v)
		})).Draw(g.t, "tag")
		ts = append(ts, TLV{Tag: tag, Value: g.octets("value", 300)})
	}
	return ts
}

func (g pduGen) header() Header {
	return Header{
		CommandStatus:  CommandStatus(rapid.SampledFrom([]uint32{0, 0, 0x45, 0x58, 0xC0, 0x400}).Draw(g.t, "status")),
		SequenceNumber: rapid.Uint32Range(1, 0x7FFFFFFF).Draw(g.t, "seq"),
	}
}

func (g pduGen) submitSM() SubmitSM {
	return SubmitSM{
		Header:               g.header(),
		ServiceType:          g.cstring("service_type", maxServiceType),
		SourceAddrTON:        TON(g.u8("source_addr_ton")),
		SourceAddrNPI:        NPI(g.u8("source_addr_npi")),
		SourceAddr:           g.cstring("source_addr", maxAddr),
		DestAddrTON:          TON(g.u8("dest_addr_ton")),
		DestAddrNPI:          NPI(g.u8("dest_addr_npi")),
		DestinationAddr:      g.cstring("destination_addr", maxAddr),
		ESMClass:             g.u8("esm_class"),
		ProtocolID:           g.u8("protocol_id"),
		PriorityFlag:         g.u8("priority_flag"),
		ScheduleDeliveryTime: g.cstring("schedule_delivery_time", maxTime),
		ValidityPeriod:       g.cstring("validity_period", maxTime),
		RegisteredDelivery:   g.u8("registered_delivery"),
		ReplaceIfPresentFlag: g.u8("replace_if_present_flag"),
		DataCoding:           DataCoding(g.u8("data_coding")),
		SMDefaultMsgID:       g.u8("sm_default_msg_id"),
		ShortMessage:         g.octets("short_message", maxShortMessage),
		TLVs:                 g.tlvs(),
	}
}

func (g pduGen) bind() BindTransmitter {
	return BindTransmitter{
		Header:           g.header(),
		SystemID:         g.cstring("system_id", maxSystemID),
		Password:         g.cstring("password", maxPassword),
		SystemType:       g.cstring("system_type", maxSystemType),
		InterfaceVersion: g.u8("interface_version"),
		AddrTON:          TON(g.u8("addr_ton")),
		AddrNPI:          NPI(g.u8("addr_npi")),
		AddressRange:     g.cstring("address_range", maxAddressRange),
		TLVs:             g.tlvs(),
	}
}

func (g pduGen) bindResp() BindTransmitterResp {
	return BindTransmitterResp{
		Header:   g.header(),
		SystemID: g.cstring("system_id", maxSystemID),
		TLVs:     g.tlvs(),
	}
}

func (g pduGen) destAddresses() []DestAddress {
	n := rapid.IntRange(0, 5).Draw(g.t, "number_of_dests")
	var dests []DestAddress
	for range n {
		if rapid.Bool().Draw(g.t, "is_dl") {
			dests = append(dests, DestAddress{DestFlag: DestFlagDLName, DLName: g.cstring("dl_name", maxAddr)})
			continue
		}
		dests = append(dests, DestAddress{
			DestFlag:        DestFlagSMEAddress,
			DestAddrTON:     TON(g.u8("dest_addr_ton")),
			DestAddrNPI:     NPI(g.u8("dest_addr_npi")),
			DestinationAddr: g.cstring("destination_addr", maxAddr),
		})
	}
	return dests
}

func (g pduGen) unsuccessSMEs() []UnsuccessSME {
	n := rapid.IntRange(0, 5).Draw(g.t, "no_unsuccess")
	var smes []UnsuccessSME
	for range n {
		smes = append(smes, UnsuccessSME{
			DestAddrTON:     TON(g.u8("dest_addr_ton")),
			DestAddrNPI:     NPI(g.u8("dest_addr_npi")),
			DestinationAddr: g.cstring("destination_addr", maxAddr),
			ErrorStatusCode: CommandStatus(rapid.Uint32().Draw(g.t, "error_status_code")),
		})
	}
	return smes
}

// pdu draws a random valid PDU of the type id names.
func (g pduGen) pdu(id CommandID) PDU {
	switch id {
	case BindTransmitterID:
		p := g.bind()
		return &p
	case BindReceiverID:
		p := BindReceiver(g.bind())
		return &p
	case BindTransceiverID:
		p := BindTransceiver(g.bind())
		return &p
	case BindTransmitterRespID:
		p := g.bindResp()
		return &p
	case BindReceiverRespID:
		p := BindReceiverResp(g.bindResp())
		return &p
	case BindTransceiverRespID:
		p := BindTransceiverResp(g.bindResp())
		return &p
	case OutbindID:
		return &Outbind{Header: g.header(), SystemID: g.cstring("system_id", maxSystemID),
			Password: g.cstring("password", maxPassword), TLVs: g.tlvs()}
	case SubmitSMID:
		p := g.submitSM()
		return &p
	case DeliverSMID:
		p := DeliverSM(g.submitSM())
		return &p
	case SubmitSMRespID:
		return &SubmitSMResp{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID), TLVs: g.tlvs()}
	case DeliverSMRespID:
		return &DeliverSMResp{Header: g.header(), MessageID: g.cstring("message_id", maxDeliverSMRespID), TLVs: g.tlvs()}
	case DataSMRespID:
		return &DataSMResp{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID), TLVs: g.tlvs()}
	case SubmitMultiID:
		sm := g.submitSM()
		return &SubmitMulti{
			Header: sm.Header, ServiceType: sm.ServiceType,
			SourceAddrTON: sm.SourceAddrTON, SourceAddrNPI: sm.SourceAddrNPI, SourceAddr: sm.SourceAddr,
			DestAddresses: g.destAddresses(),
			ESMClass:      sm.ESMClass, ProtocolID: sm.ProtocolID, PriorityFlag: sm.PriorityFlag,
			ScheduleDeliveryTime: sm.ScheduleDeliveryTime, ValidityPeriod: sm.ValidityPeriod,
			RegisteredDelivery: sm.RegisteredDelivery, ReplaceIfPresentFlag: sm.ReplaceIfPresentFlag,
			DataCoding: sm.DataCoding, SMDefaultMsgID: sm.SMDefaultMsgID, ShortMessage: sm.ShortMessage,
			TLVs: sm.TLVs,
		}
	case SubmitMultiRespID:
		return &SubmitMultiResp{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID),
			UnsuccessSMEs: g.unsuccessSMEs(), TLVs: g.tlvs()}
	case DataSMID:
		return &DataSM{
			Header: g.header(), ServiceType: g.cstring("service_type", maxServiceType),
			SourceAddrTON: TON(g.u8("source_addr_ton")), SourceAddrNPI: NPI(g.u8("source_addr_npi")),
			SourceAddr:  g.cstring("source_addr", maxDataSMAddr),
			DestAddrTON: TON(g.u8("dest_addr_ton")), DestAddrNPI: NPI(g.u8("dest_addr_npi")),
			DestinationAddr: g.cstring("destination_addr", maxDataSMAddr),
			ESMClass:        g.u8("esm_class"), RegisteredDelivery: g.u8("registered_delivery"),
			DataCoding: DataCoding(g.u8("data_coding")), TLVs: g.tlvs(),
		}
	case QuerySMID:
		return &QuerySM{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID),
			SourceAddrTON: TON(g.u8("source_addr_ton")), SourceAddrNPI: NPI(g.u8("source_addr_npi")),
			SourceAddr: g.cstring("source_addr", maxAddr), TLVs: g.tlvs()}
	case QuerySMRespID:
		return &QuerySMResp{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID),
			FinalDate: g.cstring("final_date", maxTime), MessageState: MessageState(g.u8("message_state")),
			ErrorCode: g.u8("error_code"), TLVs: g.tlvs()}
	case CancelSMID:
		return &CancelSM{Header: g.header(), ServiceType: g.cstring("service_type", maxServiceType),
			MessageID:     g.cstring("message_id", maxMessageID),
			SourceAddrTON: TON(g.u8("source_addr_ton")), SourceAddrNPI: NPI(g.u8("source_addr_npi")),
			SourceAddr:  g.cstring("source_addr", maxAddr),
			DestAddrTON: TON(g.u8("dest_addr_ton")), DestAddrNPI: NPI(g.u8("dest_addr_npi")),
			DestinationAddr: g.cstring("destination_addr", maxAddr), TLVs: g.tlvs()}
	case ReplaceSMID:
		return &ReplaceSM{Header: g.header(), MessageID: g.cstring("message_id", maxMessageID),
			SourceAddrTON: TON(g.u8("source_addr_ton")), SourceAddrNPI: NPI(g.u8("source_addr_npi")),
			SourceAddr:           g.cstring("source_addr", maxAddr),
			ScheduleDeliveryTime: g.cstring("schedule_delivery_time", maxTime),
			ValidityPeriod:       g.cstring("validity_period", maxTime),
			RegisteredDelivery:   g.u8("registered_delivery"), SMDefaultMsgID: g.u8("sm_default_msg_id"),
			ShortMessage: g.octets("short_message", maxShortMessage), TLVs: g.tlvs()}
	case AlertNotificationID:
		return &AlertNotification{Header: g.header(),
			SourceAddrTON: TON(g.u8("source_addr_ton")), SourceAddrNPI: NPI(g.u8("source_addr_npi")),
			SourceAddr:  g.cstring("source_addr", maxDataSMAddr),
			ESMEAddrTON: TON(g.u8("esme_addr_ton")), ESMEAddrNPI: NPI(g.u8("esme_addr_npi")),
			ESMEAddr: g.cstring("esme_addr", maxDataSMAddr), TLVs: g.tlvs()}
	}
	// The header-only PDUs: generic_nack, unbind(_resp), enquire_link(_resp),
	// cancel_sm_resp and replace_sm_resp.
	p := newPDU(id)
	*p.PDUHeader() = g.header()
	*p.optional() = g.tlvs()
	return p
}

var allCommandIDs = func() []CommandID {
	var ids []CommandID
	for id := range commandNames {
		ids = append(ids, id)
	}
	return ids
}()

func TestRoundTripEveryPDUType(t *testing.T) {
	for _, id := range allCommandIDs {
		t.Run(id.String(), func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				checkRoundTrip(rt, pduGen{rt}.pdu(id))
			})
		})
	}
}

// checkRoundTrip encodes p, decodes the result, and checks that the decoded
// PDU equals p and encodes to the same bytes.
func checkRoundTrip(t *rapid.T, p PDU) {
	wire, err := EncodePDU(p)
	if err != nil {
		t.Fatalf("EncodePDU: %v", err)
	}
	got, err := DecodePDU(wire)
	if err != nil {
		t.Fatalf("DecodePDU(% x): %v", wire, err)
	}
	*p.PDUHeader() = withWireHeader(p, len(wire))
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("decoded\n%#v\nwant\n%#v", got, p)
	}
	again, err := EncodePDU(got)
	if err != nil {
		t.Fatalf("re-encoding: %v", err)
	}
	if !bytes.Equal(again, wire) {
		t.Fatalf("re-encoded\n% x\nfirst encoding\n% x", again, wire)
	}
}

func TestRoundTripThroughFrameReader(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		g := pduGen{rt}
		n := rapid.IntRange(1, 8).Draw(rt, "pdus")
		var stream []byte
		var sent []PDU
		for range n {
			p := g.pdu(rapid.SampledFrom(allCommandIDs).Draw(rt, "command_id"))
			var err error
			stream, err = AppendPDU(stream, p)
			if err != nil {
				rt.Fatalf("AppendPDU: %v", err)
			}
			sent = append(sent, p)
		}
		chunk := rapid.IntRange(1, 64).Draw(rt, "read_size")
		fr := NewFrameReader(&chunkReader{data: stream, chunk: chunk}, 0)
		for i, want := range sent {
			got, err := fr.ReadPDU()
			if err != nil {
				rt.Fatalf("PDU %d: %v", i, err)
			}
			if got.CommandID() != want.CommandID() ||
				got.PDUHeader().SequenceNumber != want.PDUHeader().SequenceNumber {
				rt.Fatalf("PDU %d is %v, want %v", i, got.PDUHeader(), want.PDUHeader())
			}
		}
		if _, err := fr.ReadPDU(); err == nil {
			rt.Fatal("read a PDU past the end of the stream")
		}
	})
}
