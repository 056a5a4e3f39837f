package smpp

import (
	"errors"
	"testing"
)

func TestValidateSAR(t *testing.T) {
	full := func() TLVs {
		var ts TLVs
		ts.SetSAR(SAR{RefNum: 1, TotalSegments: 2, SegmentSeqnum: 1})
		return ts
	}
	if err := Validate(&SubmitSM{TLVs: full()}); err != nil {
		t.Errorf("complete SAR: %v", err)
	}

	missing := full()
	missing.Delete(TagSARTotalSegments)
	err := Validate(&SubmitSM{TLVs: missing})
	var ve *ValidationError
	if !errors.As(err, &ve) || ve.Status != StatusMissingTLV || ve.Field != "sar_total_segments" {
		t.Errorf("missing sar_total_segments: %v", err)
	}

	beyond := full()
	beyond.SetUint8(TagSARSegmentSeqnum, 3)
	if err := Validate(&DeliverSM{TLVs: beyond}); StatusOf(err) != StatusInvalidTLVValue {
		t.Errorf("segment 3 of 2: %v, want ESME_RINVOPTPARAMVAL", err)
	}
}

func TestValidateSubmitMultiWithoutDestinations(t *testing.T) {
	err := Validate(&SubmitMulti{Header: Header{SequenceNumber: 4}})
	if StatusOf(err) != StatusInvalidNumDests {
		t.Errorf("Validate = %v, want ESME_RINVNUMDESTS", err)
	}
}

func TestValidatePayloadConflictInEveryMessagePDU(t *testing.T) {
	payload := TLVs{{Tag: TagMessagePayload, Value: []byte("x")}}
	dest := []DestAddress{{DestFlag: DestFlagSMEAddress, DestinationAddr: "12015550101"}}
	for _, p := range []PDU{
		&SubmitSM{ShortMessage: []byte("y"), TLVs: payload},
		&DeliverSM{ShortMessage: []byte("y"), TLVs: payload},
		&SubmitMulti{DestAddresses: dest, ShortMessage: []byte("y"), TLVs: payload},
	} {
		if err := Validate(p); !errors.Is(err, ErrPayloadConflict) {
			t.Errorf("%v: %v, want ErrPayloadConflict", p.CommandID(), err)
		}
	}
	if err := Validate(&DataSM{TLVs: payload}); err != nil {
		t.Errorf("data_sm with message_payload: %v", err)
	}
}
