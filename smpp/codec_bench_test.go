package smpp

import (
	"bytes"
	"testing"
)

// Run with: go test ./smpp -run '^$' -bench . -benchmem

func benchSubmitSM() *SubmitSM {
	return &SubmitSM{
		Header:        Header{SequenceNumber: 8},
		SourceAddrTON: TONAlphanumeric, SourceAddr: "ACME01",
		DestAddrTON: TONInternational, DestAddrNPI: NPIISDN, DestinationAddr: "12015550104",
		RegisteredDelivery: RegisteredDeliveryReceiptAlways,
		ShortMessage:       []byte("Reminder: your table for two is booked for 7pm tonight. Thx!"),
	}
}

func benchEncode(b *testing.B, p PDU) {
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		buf, err = AppendPDU(buf[:0], p)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}

func benchDecode(b *testing.B, wire []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, err := DecodePDU(wire); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeSubmitSM(b *testing.B) { benchEncode(b, benchSubmitSM()) }

func BenchmarkDecodeSubmitSM(b *testing.B) { benchDecode(b, mustEncode(b, benchSubmitSM())) }

func BenchmarkEncodeSubmitSMResp(b *testing.B) {
	benchEncode(b, &SubmitSMResp{Header: Header{SequenceNumber: 8}, MessageID: "00B8BE19"})
}

func BenchmarkDecodeSubmitSMResp(b *testing.B) {
	benchDecode(b, mustHex(b, "00000019 80000004 00000000 00000031 30304238 42453139 00"))
}

func BenchmarkEncodeDeliverSM(b *testing.B) {
	benchEncode(b, mustDecode(b, mustHex(b, networkErrorReceipt)))
}

// BenchmarkDecodeDeliverSM decodes a delivery receipt with three TLVs.
func BenchmarkDecodeDeliverSM(b *testing.B) { benchDecode(b, mustHex(b, networkErrorReceipt)) }

func BenchmarkEncodeDeliverSMResp(b *testing.B) {
	benchEncode(b, &DeliverSMResp{Header: Header{SequenceNumber: 0x61}})
}

func BenchmarkDecodeDeliverSMResp(b *testing.B) {
	benchDecode(b, mustHex(b, "00000011 80000005 00000000 00000061 00"))
}

// BenchmarkFrameReaderSubmitSM reads and decodes submit_sm PDUs from a
// stream that holds 64 of them.
func BenchmarkFrameReaderSubmitSM(b *testing.B) {
	wire := mustEncode(b, benchSubmitSM())
	stream := bytes.Repeat(wire, 64)
	r := bytes.NewReader(stream)
	fr := NewFrameReader(r, 0)
	b.ReportAllocs()
	b.SetBytes(int64(len(wire)))
	for b.Loop() {
		if _, err := fr.ReadPDU(); err != nil {
			r.Reset(stream)
			if _, err := fr.ReadPDU(); err != nil {
				b.Fatal(err)
			}
		}
	}
}
