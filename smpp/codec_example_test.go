package smpp_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/optgate/optgate/smpp"
)

func ExampleDecodePDU() {
	wire := []byte{
		0x00, 0x00, 0x00, 0x16, 0x80, 0x00, 0x00, 0x09, // command_length 22, bind_transceiver_resp
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, // ESME_ROK, sequence_number 1
		0x00,                         // system_id ""
		0x02, 0x10, 0x00, 0x01, 0x50, // sc_interface_version 0x50
	}
	p, err := smpp.DecodePDU(wire)
	if err != nil {
		fmt.Println(err)
		return
	}
	resp := p.(*smpp.BindTransceiverResp)
	version, _ := resp.TLVs.SCInterfaceVersion()
	fmt.Printf("%v system_id=%q version=%#x\n", resp.Header, resp.SystemID, version)
	// Output: bind_transceiver_resp seq=1 status=ESME_ROK len=22 system_id="" version=0x50
}

func ExampleAppendPDU() {
	sm := &smpp.SubmitSM{
		Header:        smpp.Header{SequenceNumber: 8},
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: "18885550100",
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: "12015550101",
		RegisteredDelivery: smpp.RegisteredDeliveryReceiptAlways,
		ShortMessage:       []byte("Reply STOP to opt out"),
	}
	buf := make([]byte, 0, 256) // reuse buf[:0] for the next PDU
	buf, err := smpp.AppendPDU(buf, sm)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d octets, command_length % x\n", len(buf), buf[:4])

	sm.DestinationAddr = "120155501010123456789" // 21 characters, one too many
	_, err = smpp.AppendPDU(buf[:0], sm)
	fmt.Println(err)
	// Output:
	// 76 octets, command_length 00 00 00 4c
	// smpp: encode submit_sm: destination_addr: field too long: 21 characters, max 20 (ESME_RINVDSTADR)
}

func ExampleFrameReader() {
	var stream bytes.Buffer
	w := smpp.NewFrameWriter(&stream)
	_ = w.WritePDU(&smpp.EnquireLink{Header: smpp.Header{SequenceNumber: 1}})
	_ = w.WritePDU(&smpp.SubmitSMResp{Header: smpp.Header{SequenceNumber: 2, CommandStatus: smpp.StatusThrottled}})
	stream.WriteString("HTTP/1.1 400 Bad Request\r\n\r\n")

	r := smpp.NewFrameReader(&stream, 0)
	for {
		p, err := r.ReadPDU()
		if err == io.EOF {
			return
		}
		var de *smpp.DecodeError
		if errors.As(err, &de) {
			// A framing error: send generic_nack with de.Status and close.
			fmt.Println("close:", de.Status)
			return
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(p.PDUHeader(), smpp.CheckStatus(p))
	}
	// Output:
	// enquire_link seq=1 status=ESME_ROK len=16 <nil>
	// submit_sm_resp seq=2 status=ESME_RTHROTTLED len=16 smpp: submit_sm_resp seq 2: ESME_RTHROTTLED: throttling error (ESME has exceeded allowed message limits)
	// close: ESME_RINVCMDLEN
}
