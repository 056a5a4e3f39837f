package smpp

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// goldenPDUs maps each fixture in testdata/pdu to the PDU it encodes. The
// fixtures spell out SMPP 3.4 section 4 layouts one field per line and are
// written independently of the encoder.
var goldenPDUs = map[string]PDU{
	"bind_transmitter": &BindTransmitter{
		Header:   Header{SequenceNumber: 1},
		SystemID: "acmeretail01", Password: "pa55w0rd", SystemType: "SMPP",
		InterfaceVersion: 0x34, AddrTON: TONInternational, AddrNPI: NPIISDN, AddressRange: "^1201555",
	},
	"bind_transmitter_resp": &BindTransmitterResp{
		Header:   Header{SequenceNumber: 1},
		SystemID: "SMSC01",
		TLVs:     TLVs{{Tag: TagSCInterfaceVersion, Value: []byte{0x34}}},
	},
	"bind_receiver": &BindReceiver{
		Header:   Header{SequenceNumber: 2},
		SystemID: "acmeretail01", Password: "secret", InterfaceVersion: 0x34,
	},
	"bind_receiver_resp": &BindReceiverResp{Header: Header{SequenceNumber: 2}, SystemID: "SMSC01"},
	"bind_transceiver": &BindTransceiver{
		Header:   Header{SequenceNumber: 3},
		SystemID: "acmeretail01", Password: "pa55w0rd", SystemType: "VMA",
		InterfaceVersion: 0x34, AddrTON: TONInternational, AddrNPI: NPIISDN,
	},
	"bind_transceiver_resp": &BindTransceiverResp{
		Header:   Header{SequenceNumber: 3},
		SystemID: "SMSC01",
		TLVs:     TLVs{{Tag: TagSCInterfaceVersion, Value: []byte{0x34}}},
	},
	"outbind":      &Outbind{Header: Header{SequenceNumber: 4}, SystemID: "SMSC01", Password: "pw"},
	"unbind":       &Unbind{Header: Header{SequenceNumber: 5}},
	"unbind_resp":  &UnbindResp{Header: Header{SequenceNumber: 5}},
	"generic_nack": &GenericNACK{Header: Header{SequenceNumber: 6, CommandStatus: StatusInvalidCommandID}},
	"submit_sm": &SubmitSM{
		Header:        Header{SequenceNumber: 8},
		SourceAddrTON: TONAlphanumeric, SourceAddr: "ACME",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550101",
		PriorityFlag: 1, ValidityPeriod: "261205120000000+", RegisteredDelivery: 1,
		ShortMessage: []byte("Reply STOP to opt out"),
		TLVs:         TLVs{{Tag: TagUserMessageReference, Value: []byte{0, 7}}},
	},
	"submit_sm_resp": &SubmitSMResp{Header: Header{SequenceNumber: 8}, MessageID: "00B8BE19"},
	"submit_multi": &SubmitMulti{
		Header:      Header{SequenceNumber: 9},
		ServiceType: "CMT", SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "18005550100",
		DestAddresses: []DestAddress{
			{DestFlag: DestFlagSMEAddress, DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550101"},
			{DestFlag: DestFlagDLName, DLName: "friends"},
			{DestFlag: DestFlagSMEAddress, DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550102"},
		},
		DataCoding:   8,
		ShortMessage: []byte{0, 'H', 0, 'i'},
	},
	"submit_multi_resp": &SubmitMultiResp{
		Header:    Header{SequenceNumber: 9},
		MessageID: "M1",
		UnsuccessSMEs: []UnsuccessSME{{
			DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550102",
			ErrorStatusCode: StatusInvalidDestAddr,
		}},
	},
	"deliver_sm": &DeliverSM{
		Header:        Header{SequenceNumber: 10},
		SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "12015550101",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "18885550100",
		ShortMessage: []byte("STOP"),
	},
	"deliver_sm_resp": &DeliverSMResp{Header: Header{SequenceNumber: 10}},
	"data_sm": &DataSM{
		Header:      Header{SequenceNumber: 11},
		ServiceType: "WAP", SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "12015550101",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "18885550100",
		RegisteredDelivery: 1, DataCoding: 4,
		TLVs: TLVs{
			{Tag: TagMessagePayload, Value: []byte("hello")},
			{Tag: TagSourcePort, Value: []byte{0x23, 0xf0}},
		},
	},
	"data_sm_resp": &DataSMResp{Header: Header{SequenceNumber: 11}, MessageID: "D11"},
	"query_sm": &QuerySM{
		Header:    Header{SequenceNumber: 12},
		MessageID: "00B8BE19", SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "18885550100",
	},
	"query_sm_resp": &QuerySMResp{
		Header:    Header{SequenceNumber: 12},
		MessageID: "00B8BE19", FinalDate: "261204153000000+", MessageState: StateDelivered,
	},
	"cancel_sm": &CancelSM{
		Header:    Header{SequenceNumber: 13},
		MessageID: "00B8BE19", SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "18885550100",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550101",
	},
	"cancel_sm_resp": &CancelSMResp{Header: Header{SequenceNumber: 13}},
	"replace_sm": &ReplaceSM{
		Header:    Header{SequenceNumber: 14},
		MessageID: "00B8BE19", SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "18885550100",
		ValidityPeriod: "000001000000000R", RegisteredDelivery: 1,
		ShortMessage: []byte("Updated: table at 8pm"),
	},
	"replace_sm_resp":   &ReplaceSMResp{Header: Header{SequenceNumber: 14}},
	"enquire_link":      &EnquireLink{Header: Header{SequenceNumber: 7}},
	"enquire_link_resp": &EnquireLinkResp{Header: Header{SequenceNumber: 7}},
	"alert_notification": &AlertNotification{
		Header:        Header{SequenceNumber: 15},
		SourceAddrTON: TONInternational, SourceAddrNPI: NPIISDN, SourceAddr: "12015550101",
		ESMEAddrTON: TONInternational, ESMEAddrNPI: NPIISDN, ESMEAddr: "18885550100",
		TLVs: TLVs{{Tag: TagMSAvailabilityStatus, Value: []byte{0}}},
	},
}

// withWireHeader returns a copy of p's header as the decoder fills it for a
// PDU of n octets.
func withWireHeader(p PDU, n int) Header {
	h := *p.PDUHeader()
	h.CommandLength = uint32(n)
	h.CommandID = p.CommandID()
	return h
}

func TestGoldenPDUs(t *testing.T) {
	files, err := filepath.Glob("testdata/pdu/*.hex")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(goldenPDUs) {
		t.Errorf("found %d fixtures, want one per PDU type (%d)", len(files), len(goldenPDUs))
	}
	for name, want := range goldenPDUs {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/pdu", name+".hex"))
			if err != nil {
				t.Fatal(err)
			}
			wire := mustHex(t, string(raw))
			if want.CommandID().String() != name {
				t.Fatalf("fixture %s holds a %v", name, want.CommandID())
			}

			got, err := DecodePDU(wire)
			if err != nil {
				t.Fatalf("DecodePDU: %v", err)
			}
			*want.PDUHeader() = withWireHeader(want, len(wire))
			if !reflect.DeepEqual(got, want) {
				t.Errorf("decoded\n%#v\nwant\n%#v", got, want)
			}

			out, err := EncodePDU(want)
			if err != nil {
				t.Fatalf("EncodePDU: %v", err)
			}
			if !bytes.Equal(out, wire) {
				t.Errorf("encoded\n% x\nwant\n% x", out, wire)
			}
		})
	}
}

func TestGoldenCoversEveryCommand(t *testing.T) {
	for id, name := range commandNames {
		p, ok := goldenPDUs[name]
		if !ok {
			t.Errorf("no fixture for %v", id)
			continue
		}
		if p.CommandID() != id {
			t.Errorf("fixture %s holds %v", name, p.CommandID())
		}
	}
}
