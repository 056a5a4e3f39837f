package smpp

import (
	"errors"
	"strings"
	"testing"
)

func TestCommandIDString(t *testing.T) {
	cases := map[CommandID]string{
		SubmitSMID:            "submit_sm",
		BindTransceiverRespID: "bind_transceiver_resp",
		GenericNACKID:         "generic_nack",
		0x00000099:            "command_id(0x00000099)",
	}
	for id, want := range cases {
		if got := id.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint32(id), got, want)
		}
	}
}

func TestCommandIDResponseID(t *testing.T) {
	for id := range commandNames {
		resp, ok := id.ResponseID()
		switch {
		case id.IsResponse(), id == OutbindID, id == AlertNotificationID:
			if ok {
				t.Errorf("%v has response %v, want none", id, resp)
			}
		case !ok:
			t.Errorf("%v has no response", id)
		case resp.String() != id.String()+"_resp":
			t.Errorf("%v response is %v", id, resp)
		}
	}
}

func TestStatusString(t *testing.T) {
	cases := map[CommandStatus]string{
		StatusOK:               "ESME_ROK",
		StatusInvalidSystemID:  "ESME_RINVSYSID",
		StatusInvalidTLVStream: "ESME_RINVOPTPARSTREAM",
		StatusInvalidTLVLength: "ESME_RINVPARLEN",
		StatusTempAppError:     "ESME_RX_T_APPN",
		0x0400:                 "command_status(0x00000400)",
	}
	for s, want := range cases {
		if got := s.String(); got != want {
			t.Errorf("%#x.String() = %q, want %q", uint32(s), got, want)
		}
	}
	if d := CommandStatus(0x0401).Description(); d != "vendor-specific error" {
		t.Errorf("0x401 description %q", d)
	}
	if d := CommandStatus(0x0009).Description(); d != "reserved" {
		t.Errorf("0x009 description %q", d)
	}
}

func TestStatusError(t *testing.T) {
	err := CheckStatus(&SubmitSMResp{Header: Header{CommandStatus: StatusThrottled, SequenceNumber: 0x70}})
	var se *StatusError
	if !errors.As(err, &se) {
		t.Fatalf("CheckStatus = %v, want *StatusError", err)
	}
	if se.Status != StatusThrottled || se.SequenceNumber != 0x70 || se.CommandID != SubmitSMRespID {
		t.Errorf("StatusError = %+v", se)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "smpp: submit_sm_resp seq 112: ESME_RTHROTTLED") {
		t.Errorf("Error() = %q", msg)
	}
	if StatusOf(err) != StatusThrottled {
		t.Errorf("StatusOf = %v", StatusOf(err))
	}
}

func TestStatusOf(t *testing.T) {
	if StatusOf(nil) != StatusOK {
		t.Error("StatusOf(nil) is not ESME_ROK")
	}
	if StatusOf(errors.New("disk full")) != StatusSystemError {
		t.Error("StatusOf(plain error) is not ESME_RSYSERR")
	}
}

func TestNewResponse(t *testing.T) {
	req := &SubmitSM{Header: Header{SequenceNumber: 77}}
	resp := NewResponse(req, StatusMsgQueueFull)
	r, ok := resp.(*SubmitSMResp)
	if !ok {
		t.Fatalf("NewResponse(submit_sm) = %T", resp)
	}
	if r.SequenceNumber != 77 || r.CommandStatus != StatusMsgQueueFull || r.Header.CommandID != SubmitSMRespID {
		t.Errorf("response header %v", r.Header)
	}
	if nack := NewResponse(&Outbind{}, StatusInvalidCommandID); nack.CommandID() != GenericNACKID {
		t.Errorf("NewResponse(outbind) = %v, want generic_nack", nack.CommandID())
	}
}

func TestNewPDU(t *testing.T) {
	for id := range commandNames {
		p := NewPDU(id)
		if p == nil || p.CommandID() != id || p.PDUHeader().CommandID != id {
			t.Errorf("NewPDU(%v) = %v", id, p)
		}
	}
	if NewPDU(0x99) != nil {
		t.Error("NewPDU(0x99) is not nil")
	}
}

func TestTONAndNPIString(t *testing.T) {
	if TONInternational.String() != "international" || TON(9).String() != "ton(0x09)" {
		t.Errorf("TON strings: %v %v", TONInternational, TON(9))
	}
	if NPIISDN.String() != "isdn" || NPI(2).String() != "npi(0x02)" {
		t.Errorf("NPI strings: %v %v", NPIISDN, NPI(2))
	}
}
