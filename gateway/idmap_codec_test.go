package gateway

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

// fullRecord returns a record with every field set, its receipts naming
// another carrier and id than the segment so no field is elided.
func fullRecord() MessageRecord {
	t := func(sec int64) time.Time { return time.Unix(sec, 123456789).UTC() }
	return MessageRecord{
		ID: "0193a1b2-c3d4", Account: "acme", Carrier: "carrier-a", From: "+18005550100",
		To: "+12015550101", RegisteredDelivery: 0x11, Policy: ReceiptAll, ClientRef: "ref-7",
		Total: 3, Failed: true, Reported: true, Submitted: t(1000), Expires: t(260200),
		Segments: []SegmentRecord{
			{CarrierID: "0A1B", Keys: []string{"0A1B", "2587"}, State: smpp.StateDelivered,
				Receipt: &CarrierReceipt{Carrier: "carrier-a", ID: "0A1B", State: smpp.StateDelivered,
					Stat: "DELIVRD", Err: "000", SubmitDate: t(1000), DoneDate: t(1010), Received: t(1011)}},
			{CarrierID: "0A1C", Keys: []string{"0A1C"}, State: smpp.StateUndeliverable,
				Receipt: &CarrierReceipt{Carrier: "carrier-b", ID: "a1c", State: smpp.StateUndeliverable,
					Stat: "UNDELIV", Err: "034",
					NetworkError: &smpp.NetworkErrorCode{NetworkType: 3, ErrorCode: 0x0102},
					Received:     t(1020)}},
		},
	}
}

func TestRecordCodecRoundTrip(t *testing.T) {
	blocked := MessageRecord{ID: "b1", Account: "acme", Blocked: Code("opted_out"),
		Submitted: time.Unix(5, 0).UTC(), Expires: time.Unix(3605, 0).UTC()}
	for name, rec := range map[string]MessageRecord{"full": fullRecord(), "blocked": blocked, "zero": {ID: "z"}} {
		t.Run(name, func(t *testing.T) {
			v, err := appendRecord(nil, &rec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeRecord(v)
			if err != nil {
				t.Fatalf("decodeRecord: %v", err)
			}
			if !reflect.DeepEqual(got, rec) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, rec)
			}
		})
	}
}

func TestRecordCodecReadsJSON(t *testing.T) {
	rec := fullRecord()
	v, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeRecord(v)
	if err != nil {
		t.Fatalf("decodeRecord of JSON: %v", err)
	}
	if !reflect.DeepEqual(got, rec) {
		t.Errorf("JSON record:\n got %+v\nwant %+v", got, rec)
	}
}

func TestRecordCodecSmallerThanJSON(t *testing.T) {
	rec := fullRecord()
	bin, err := appendRecord(nil, &rec)
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if 2*len(bin) > len(js) {
		t.Errorf("binary record is %d bytes, JSON %d; want at most half", len(bin), len(js))
	}
}

func TestRecordCodecRejectsDamage(t *testing.T) {
	rec := fullRecord()
	v, err := appendRecord(nil, &rec)
	if err != nil {
		t.Fatal(err)
	}
	// Every truncation must fail cleanly, never panic or succeed.
	for n := range len(v) {
		if _, err := decodeRecord(v[:n]); err == nil {
			t.Fatalf("decodeRecord of the first %d of %d bytes succeeded", n, len(v))
		}
	}
	if _, err := decodeRecord(append(v, 0)); err == nil {
		t.Error("decodeRecord with a trailing byte succeeded")
	}
	if _, err := decodeRecord([]byte{0x7f, 1, 2}); err == nil {
		t.Error("decodeRecord of an unknown format succeeded")
	}
	huge := []byte{recordFormatV1, 0xff, 0xff, 0xff, 0xff, 0x0f}
	if _, err := decodeRecord(huge); !errors.Is(err, errRecordTruncated) {
		t.Errorf("decodeRecord of a string longer than the value: %v, want errRecordTruncated", err)
	}
	big := rec
	big.Total = maxRecordSegments + 1
	if _, err := appendRecord(nil, &big); err == nil {
		t.Error("appendRecord of a segment total above 255 succeeded")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	rec := fullRecord()
	v, _ := appendRecord(nil, &rec)
	f.Add(v)
	js, _ := json.Marshal(rec)
	f.Add(js)
	f.Add([]byte{recordFormatV1})
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeRecord(data)
		if err != nil || len(data) == 0 || data[0] != recordFormatV1 {
			return
		}
		// A value that decodes must encode back to a value that decodes
		// to the same record.
		again, err := appendRecord(nil, &got)
		if err != nil {
			t.Fatalf("appendRecord of a decoded record: %v", err)
		}
		back, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("decodeRecord of a re-encoded record: %v", err)
		}
		if !reflect.DeepEqual(back, got) {
			t.Fatalf("re-encoded record differs:\n got %+v\nwant %+v", back, got)
		}
	})
}
