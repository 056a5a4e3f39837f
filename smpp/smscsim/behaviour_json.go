package smscsim

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/optgate/optgate/smpp"
)

// This file holds the JSON forms of Behaviour and Rule that the control
// endpoint reads and writes. Durations are Go duration strings such as
// "1.5s", and states are receipt stat texts such as "UNDELIV". A
// command_status is a number, or a string such as "0x58", "88" or
// "ESME_RTHROTTLED".

// behaviourJSON is the JSON form of Behaviour. Decoding onto a value
// filled from the current behaviour changes only the fields present.
type behaviourJSON struct {
	ResponseIDFormat      IDFormat          `json:"response_id_format"`
	ReceiptIDFormat       IDFormat          `json:"receipt_id_format"`
	ReceiptDelay          string            `json:"receipt_delay"`
	ReceiptFirst          bool              `json:"receipt_first"`
	ReceiptState          string            `json:"receipt_state"`
	ReceiptErr            string            `json:"receipt_err"`
	NetworkErrorCode      *networkErrorJSON `json:"network_error_code"`
	ReceiptCopyDataCoding bool              `json:"receipt_copy_data_coding"`
	ReceiptNoTLVs         bool              `json:"receipt_no_tlvs"`
	Throttle              float64           `json:"throttle"`
}

// networkErrorJSON is the JSON form of smpp.NetworkErrorCode, such as
// {"network_type": 3, "error_code": 2050} for GSM error 2050.
type networkErrorJSON struct {
	NetworkType uint8  `json:"network_type"`
	ErrorCode   uint16 `json:"error_code"`
}

func networkErrorToJSON(c *smpp.NetworkErrorCode) *networkErrorJSON {
	if c == nil {
		return nil
	}
	return &networkErrorJSON{NetworkType: c.NetworkType, ErrorCode: c.ErrorCode}
}

func (j *networkErrorJSON) code() *smpp.NetworkErrorCode {
	if j == nil {
		return nil
	}
	return &smpp.NetworkErrorCode{NetworkType: j.NetworkType, ErrorCode: j.ErrorCode}
}

func behaviourToJSON(b Behaviour) behaviourJSON {
	return behaviourJSON{
		ResponseIDFormat:      b.ResponseIDFormat,
		ReceiptIDFormat:       b.ReceiptIDFormat,
		ReceiptDelay:          b.ReceiptDelay.String(),
		ReceiptFirst:          b.ReceiptFirst,
		ReceiptState:          b.ReceiptState.String(),
		ReceiptErr:            b.ReceiptErr,
		NetworkErrorCode:      networkErrorToJSON(b.NetworkErrorCode),
		ReceiptCopyDataCoding: b.ReceiptCopyDataCoding,
		ReceiptNoTLVs:         b.ReceiptNoTLVs,
		Throttle:              b.Throttle,
	}
}

func (j behaviourJSON) behaviour() (Behaviour, error) {
	b := Behaviour{
		ResponseIDFormat:      j.ResponseIDFormat,
		ReceiptIDFormat:       j.ReceiptIDFormat,
		ReceiptFirst:          j.ReceiptFirst,
		ReceiptErr:            j.ReceiptErr,
		NetworkErrorCode:      j.NetworkErrorCode.code(),
		ReceiptCopyDataCoding: j.ReceiptCopyDataCoding,
		ReceiptNoTLVs:         j.ReceiptNoTLVs,
		Throttle:              j.Throttle,
	}
	var err error
	if b.ReceiptDelay, err = parseDuration("receipt_delay", j.ReceiptDelay); err != nil {
		return b, err
	}
	if b.ReceiptState, err = parseState("receipt_state", j.ReceiptState); err != nil {
		return b, err
	}
	return b, nil
}

// ruleJSON is the JSON form of a rule and, in responses, its progress.
type ruleJSON struct {
	Destination      string            `json:"destination,omitempty"`
	TextContains     string            `json:"text_contains,omitempty"`
	After            int               `json:"after,omitempty"`
	Count            int               `json:"count,omitempty"`
	Status           statusJSON        `json:"status,omitempty"`
	Delay            string            `json:"delay,omitempty"`
	Drop             bool              `json:"drop,omitempty"`
	ReceiptState     string            `json:"receipt_state,omitempty"`
	NetworkErrorCode *networkErrorJSON `json:"network_error_code,omitempty"`
	Matched          int               `json:"matched"`
	Acted            int               `json:"acted"`
}

func ruleToJSON(st RuleState) ruleJSON {
	j := ruleJSON{
		Destination:      st.Destination,
		TextContains:     st.TextContains,
		After:            st.After,
		Count:            st.Count,
		Status:           statusJSON(st.Status),
		Drop:             st.Drop,
		NetworkErrorCode: networkErrorToJSON(st.NetworkErrorCode),
		Matched:          st.Matched,
		Acted:            st.Acted,
	}
	if st.Delay != 0 {
		j.Delay = st.Delay.String()
	}
	if st.ReceiptState != 0 {
		j.ReceiptState = st.ReceiptState.String()
	}
	return j
}

func (j ruleJSON) rule() (Rule, error) {
	r := Rule{
		Destination:      j.Destination,
		TextContains:     j.TextContains,
		After:            j.After,
		Count:            j.Count,
		Status:           smpp.CommandStatus(j.Status),
		Drop:             j.Drop,
		NetworkErrorCode: j.NetworkErrorCode.code(),
	}
	var err error
	if r.Delay, err = parseDuration("delay", j.Delay); err != nil {
		return r, err
	}
	if j.ReceiptState != "" {
		if r.ReceiptState, err = parseState("receipt_state", j.ReceiptState); err != nil {
			return r, err
		}
	}
	return r, r.validate()
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%s: invalid duration %q: write it like 500ms or 2s", field, s)
	}
	return d, nil
}

func parseState(field, s string) (smpp.MessageState, error) {
	if s == "" {
		return smpp.StateDelivered, nil
	}
	st, ok := smpp.ParseMessageState(s)
	if !ok {
		return 0, fmt.Errorf("%s: invalid message state %q: want DELIVRD, UNDELIV, EXPIRED, "+
			"DELETED, REJECTD or ACCEPTD", field, s)
	}
	return st, nil
}

// statusJSON is a command_status that JSON writes as a number and reads
// from a number or a string.
type statusJSON smpp.CommandStatus

func (s *statusJSON) UnmarshalJSON(data []byte) error {
	var n uint32
	if err := json.Unmarshal(data, &n); err == nil {
		*s = statusJSON(n)
		return nil
	}
	var text string
	if err := json.Unmarshal(data, &text); err != nil {
		return fmt.Errorf("status: want a number or a string such as \"0x58\", got %s", data)
	}
	st, err := ParseStatus(text)
	if err != nil {
		return err
	}
	*s = statusJSON(st)
	return nil
}

// ParseStatus reads a command_status written in decimal ("88"), in hex
// with 0x ("0x58") or as its SMPP 3.4 mnemonic ("ESME_RTHROTTLED").
func ParseStatus(s string) (smpp.CommandStatus, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(strings.ToUpper(s), "ESME_") {
		// Mnemonics name only the statuses of SMPP 3.4 table 5-2, all
		// below 0x100.
		for st := smpp.CommandStatus(0); st < 0x100; st++ {
			if strings.EqualFold(st.String(), s) {
				return st, nil
			}
		}
		return 0, fmt.Errorf("invalid status %q: unknown SMPP 3.4 mnemonic", s)
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid status %q: write a number such as 0x58 "+
			"or a mnemonic such as ESME_RTHROTTLED", s)
	}
	return smpp.CommandStatus(n), nil
}
