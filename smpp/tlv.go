package smpp

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Tag identifies an optional parameter (SMPP 3.4 section 3.2.4.1 and 5.3).
type Tag uint16

// Optional parameter tags from SMPP 3.4 section 5.3.2, table 5-8. The comment
// gives the subsection and the value size the spec defines.
const (
	TagDestAddrSubunit          Tag = 0x0005 // dest_addr_subunit, 5.3.2.1, 1 octet
	TagDestNetworkType          Tag = 0x0006 // dest_network_type, 5.3.2.3, 1 octet
	TagDestBearerType           Tag = 0x0007 // dest_bearer_type, 5.3.2.5, 1 octet
	TagDestTelematicsID         Tag = 0x0008 // dest_telematics_id, 5.3.2.7, 2 octets
	TagSourceAddrSubunit        Tag = 0x000D // source_addr_subunit, 5.3.2.2, 1 octet
	TagSourceNetworkType        Tag = 0x000E // source_network_type, 5.3.2.4, 1 octet
	TagSourceBearerType         Tag = 0x000F // source_bearer_type, 5.3.2.6, 1 octet
	TagSourceTelematicsID       Tag = 0x0010 // source_telematics_id, 5.3.2.8, 1 octet
	TagQOSTimeToLive            Tag = 0x0017 // qos_time_to_live, 5.3.2.9, 4 octets
	TagPayloadType              Tag = 0x0019 // payload_type, 5.3.2.10, 1 octet
	TagAdditionalStatusInfoText Tag = 0x001D // additional_status_info_text, 5.3.2.11, C-string max 256
	TagReceiptedMessageID       Tag = 0x001E // receipted_message_id, 5.3.2.12, C-string max 65
	TagMSMsgWaitFacilities      Tag = 0x0030 // ms_msg_wait_facilities, 5.3.2.13, 1 octet
	TagPrivacyIndicator         Tag = 0x0201 // privacy_indicator, 5.3.2.14, 1 octet
	TagSourceSubaddress         Tag = 0x0202 // source_subaddress, 5.3.2.15, 2-23 octets
	TagDestSubaddress           Tag = 0x0203 // dest_subaddress, 5.3.2.16, 2-23 octets
	TagUserMessageReference     Tag = 0x0204 // user_message_reference, 5.3.2.17, 2 octets
	TagUserResponseCode         Tag = 0x0205 // user_response_code, 5.3.2.18, 1 octet
	TagSourcePort               Tag = 0x020A // source_port, 5.3.2.20, 2 octets
	TagDestinationPort          Tag = 0x020B // destination_port, 5.3.2.21, 2 octets
	TagSARMsgRefNum             Tag = 0x020C // sar_msg_ref_num, 5.3.2.22, 2 octets
	TagLanguageIndicator        Tag = 0x020D // language_indicator, 5.3.2.19, 1 octet
	TagSARTotalSegments         Tag = 0x020E // sar_total_segments, 5.3.2.23, 1 octet
	TagSARSegmentSeqnum         Tag = 0x020F // sar_segment_seqnum, 5.3.2.24, 1 octet
	TagSCInterfaceVersion       Tag = 0x0210 // sc_interface_version, 5.3.2.25, 1 octet
	TagCallbackNumPresInd       Tag = 0x0302 // callback_num_pres_ind, 5.3.2.37, 1 octet
	TagCallbackNumAtag          Tag = 0x0303 // callback_num_atag, 5.3.2.38, max 65 octets
	TagNumberOfMessages         Tag = 0x0304 // number_of_messages, 5.3.2.39, 1 octet
	TagCallbackNum              Tag = 0x0381 // callback_num, 5.3.2.36, 4-19 octets
	TagDPFResult                Tag = 0x0420 // dpf_result, 5.3.2.28, 1 octet
	TagSetDPF                   Tag = 0x0421 // set_dpf, 5.3.2.29, 1 octet
	TagMSAvailabilityStatus     Tag = 0x0422 // ms_availability_status, 5.3.2.30, 1 octet
	TagNetworkErrorCode         Tag = 0x0423 // network_error_code, 5.3.2.31, 3 octets
	TagMessagePayload           Tag = 0x0424 // message_payload, 5.3.2.32, any length
	TagDeliveryFailureReason    Tag = 0x0425 // delivery_failure_reason, 5.3.2.33, 1 octet
	TagMoreMessagesToSend       Tag = 0x0426 // more_messages_to_send, 5.3.2.34, 1 octet
	TagMessageState             Tag = 0x0427 // message_state, 5.3.2.35, 1 octet
	TagUSSDServiceOp            Tag = 0x0501 // ussd_service_op, 5.3.2.44, 1 octet
	TagDisplayTime              Tag = 0x1201 // display_time, 5.3.2.26, 1 octet
	TagSMSSignal                Tag = 0x1203 // sms_signal, 5.3.2.40, 2 octets
	TagMSValidity               Tag = 0x1204 // ms_validity, 5.3.2.27, 1 octet
	TagAlertOnMessageDelivery   Tag = 0x130C // alert_on_message_delivery, 5.3.2.41, 0 octets
	TagITSReplyType             Tag = 0x1380 // its_reply_type, 5.3.2.42, 1 octet
	TagITSSessionInfo           Tag = 0x1383 // its_session_info, 5.3.2.43, 2 octets
)

// tagSpec is the name and the allowed value length of a standard tag.
type tagSpec struct {
	name     string
	min, max int
}

const anyLength = 0xFFFF

var tagSpecs = map[Tag]tagSpec{
	TagDestAddrSubunit:          {"dest_addr_subunit", 1, 1},
	TagDestNetworkType:          {"dest_network_type", 1, 1},
	TagDestBearerType:           {"dest_bearer_type", 1, 1},
	TagDestTelematicsID:         {"dest_telematics_id", 2, 2},
	TagSourceAddrSubunit:        {"source_addr_subunit", 1, 1},
	TagSourceNetworkType:        {"source_network_type", 1, 1},
	TagSourceBearerType:         {"source_bearer_type", 1, 1},
	TagSourceTelematicsID:       {"source_telematics_id", 1, 1},
	TagQOSTimeToLive:            {"qos_time_to_live", 4, 4},
	TagPayloadType:              {"payload_type", 1, 1},
	TagAdditionalStatusInfoText: {"additional_status_info_text", 1, 256},
	TagReceiptedMessageID:       {"receipted_message_id", 1, 65},
	TagMSMsgWaitFacilities:      {"ms_msg_wait_facilities", 1, 1},
	TagPrivacyIndicator:         {"privacy_indicator", 1, 1},
	TagSourceSubaddress:         {"source_subaddress", 2, 23},
	TagDestSubaddress:           {"dest_subaddress", 2, 23},
	TagUserMessageReference:     {"user_message_reference", 2, 2},
	TagUserResponseCode:         {"user_response_code", 1, 1},
	TagSourcePort:               {"source_port", 2, 2},
	TagDestinationPort:          {"destination_port", 2, 2},
	TagSARMsgRefNum:             {"sar_msg_ref_num", 2, 2},
	TagLanguageIndicator:        {"language_indicator", 1, 1},
	TagSARTotalSegments:         {"sar_total_segments", 1, 1},
	TagSARSegmentSeqnum:         {"sar_segment_seqnum", 1, 1},
	TagSCInterfaceVersion:       {"sc_interface_version", 1, 1},
	TagCallbackNumPresInd:       {"callback_num_pres_ind", 1, 1},
	TagCallbackNumAtag:          {"callback_num_atag", 0, 65},
	TagNumberOfMessages:         {"number_of_messages", 1, 1},
	TagCallbackNum:              {"callback_num", 4, 19},
	TagDPFResult:                {"dpf_result", 1, 1},
	TagSetDPF:                   {"set_dpf", 1, 1},
	TagMSAvailabilityStatus:     {"ms_availability_status", 1, 1},
	TagNetworkErrorCode:         {"network_error_code", 3, 3},
	TagMessagePayload:           {"message_payload", 0, anyLength},
	TagDeliveryFailureReason:    {"delivery_failure_reason", 1, 1},
	TagMoreMessagesToSend:       {"more_messages_to_send", 1, 1},
	TagMessageState:             {"message_state", 1, 1},
	TagUSSDServiceOp:            {"ussd_service_op", 1, 1},
	TagDisplayTime:              {"display_time", 1, 1},
	TagSMSSignal:                {"sms_signal", 2, 2},
	TagMSValidity:               {"ms_validity", 1, 1},
	TagAlertOnMessageDelivery:   {"alert_on_message_delivery", 0, 0},
	TagITSReplyType:             {"its_reply_type", 1, 1},
	TagITSSessionInfo:           {"its_session_info", 2, 2},
}

// String returns the spec name of the tag, such as "message_payload", or
// "tlv(0x....)" for a tag SMPP 3.4 does not define.
func (t Tag) String() string {
	if s, ok := tagSpecs[t]; ok {
		return s.name
	}
	return fmt.Sprintf("tlv(0x%04x)", uint16(t))
}

// Known reports whether SMPP 3.4 section 5.3.2 defines the tag.
func (t Tag) Known() bool {
	_, ok := tagSpecs[t]
	return ok
}

// TLV is one optional parameter: a tag, and a value whose length the wire
// format gives in a 2-octet length field (SMPP 3.4 section 3.2.4.1).
type TLV struct {
	Tag   Tag
	Value []byte
}

// maxTLVValue is the largest value a 2-octet length field can describe.
const maxTLVValue = 0xFFFF

// TLVs is the optional part of a PDU body, in wire order. The decoder keeps
// every TLV it reads: unknown tags, tags SMPP 3.4 does not list for the PDU
// type, and repeated tags, so that re-encoding reproduces the input. The
// accessors read the first TLV with a given tag.
type TLVs []TLV

// Get returns the value of the first TLV with the tag.
func (ts TLVs) Get(tag Tag) ([]byte, bool) {
	for _, t := range ts {
		if t.Tag == tag {
			return t.Value, true
		}
	}
	return nil, false
}

// Has reports whether a TLV with the tag is present.
func (ts TLVs) Has(tag Tag) bool {
	_, ok := ts.Get(tag)
	return ok
}

// Set replaces the value of the first TLV with the tag, or appends a new TLV
// when there is none. The TLVs keep their order.
func (ts *TLVs) Set(tag Tag, value []byte) {
	for i := range *ts {
		if (*ts)[i].Tag == tag {
			(*ts)[i].Value = value
			return
		}
	}
	*ts = append(*ts, TLV{Tag: tag, Value: value})
}

// Delete removes every TLV with the tag.
func (ts *TLVs) Delete(tag Tag) {
	kept := (*ts)[:0]
	for _, t := range *ts {
		if t.Tag != tag {
			kept = append(kept, t)
		}
	}
	clear((*ts)[len(kept):])
	*ts = kept
}

// Validate checks the value length of every TLV whose tag SMPP 3.4 defines,
// and returns an error wrapping ErrInvalidTLV for the first one out of range. Unknown tags are not checked. The decoder does not
// call Validate, because one malformed optional parameter should not cost a
// whole PDU. A strict server responds with StatusInvalidTLVLength.
func (ts TLVs) Validate() error {
	for _, t := range ts {
		if err := checkTLVLength(t); err != nil {
			return err
		}
	}
	return nil
}

func checkTLVLength(t TLV) error {
	spec, ok := tagSpecs[t.Tag]
	if !ok || (len(t.Value) >= spec.min && len(t.Value) <= spec.max) {
		return nil
	}
	if spec.min == spec.max {
		return fmt.Errorf("%w: %v is %d octets, want %d", ErrInvalidTLV, t.Tag, len(t.Value), spec.min)
	}
	return fmt.Errorf("%w: %v is %d octets, want %d to %d",
		ErrInvalidTLV, t.Tag, len(t.Value), spec.min, spec.max)
}

// lookupSized returns the value of the first TLV with the tag after checking
// its length against the spec.
func (ts TLVs) lookupSized(tag Tag) ([]byte, error) {
	v, ok := ts.Get(tag)
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrTLVNotFound, tag)
	}
	if err := checkTLVLength(TLV{Tag: tag, Value: v}); err != nil {
		return nil, err
	}
	return v, nil
}

// Uint8 returns the value of a 1-octet integer TLV. The error wraps
// ErrTLVNotFound when the tag is absent and ErrInvalidTLV when the value is
// not 1 octet long.
func (ts TLVs) Uint8(tag Tag) (uint8, error) {
	v, err := ts.lookupFixed(tag, 1)
	if err != nil {
		return 0, err
	}
	return v[0], nil
}

// Uint16 returns the value of a 2-octet big-endian integer TLV, with the same
// errors as Uint8.
func (ts TLVs) Uint16(tag Tag) (uint16, error) {
	v, err := ts.lookupFixed(tag, 2)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint16(v), nil
}

// Uint32 returns the value of a 4-octet big-endian integer TLV, with the same
// errors as Uint8.
func (ts TLVs) Uint32(tag Tag) (uint32, error) {
	v, err := ts.lookupFixed(tag, 4)
	if err != nil {
		return 0, err
	}
	return binary.BigEndian.Uint32(v), nil
}

func (ts TLVs) lookupFixed(tag Tag, size int) ([]byte, error) {
	v, ok := ts.Get(tag)
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrTLVNotFound, tag)
	}
	if len(v) != size {
		return nil, fmt.Errorf("%w: %v is %d octets, want %d", ErrInvalidTLV, tag, len(v), size)
	}
	return v, nil
}

// CString returns the value of a C-octet string TLV without its NUL. A value
// that lacks the NUL is accepted as it is, because some SMSCs omit it. The
// error wraps ErrTLVNotFound when the tag is absent.
func (ts TLVs) CString(tag Tag) (string, error) {
	v, ok := ts.Get(tag)
	if !ok {
		return "", fmt.Errorf("%w: %v", ErrTLVNotFound, tag)
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return string(v), nil
}

// SetUint8 sets a 1-octet integer TLV.
func (ts *TLVs) SetUint8(tag Tag, v uint8) { ts.Set(tag, []byte{v}) }

// SetUint16 sets a 2-octet big-endian integer TLV.
func (ts *TLVs) SetUint16(tag Tag, v uint16) {
	ts.Set(tag, binary.BigEndian.AppendUint16(nil, v))
}

// SetUint32 sets a 4-octet big-endian integer TLV.
func (ts *TLVs) SetUint32(tag Tag, v uint32) {
	ts.Set(tag, binary.BigEndian.AppendUint32(nil, v))
}

// SetCString sets a C-octet string TLV: s followed by a NUL.
func (ts *TLVs) SetCString(tag Tag, s string) {
	v := make([]byte, len(s)+1)
	copy(v, s)
	ts.Set(tag, v)
}
