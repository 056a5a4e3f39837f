package smpp

import (
	"encoding/binary"
	"fmt"
)

// This file holds typed accessors for the TLVs callers read most. Each
// getter reads the first TLV with its tag and returns an error wrapping
// ErrTLVNotFound when the tag is absent, or ErrInvalidTLV when the value
// has the wrong size for its tag. The decoder does not check TLV sizes, so
// a malformed TLV does not fail the PDU decode. Each setter replaces the first TLV with its tag or appends one.

// Network types of the network_error_code TLV (SMPP 3.4 section 5.3.2.31).
const (
	NetworkTypeANSI136       = 1 // ANSI-136 access denied reason
	NetworkTypeIS95          = 2 // IS-95 access denied reason
	NetworkTypeGSM           = 3
	NetworkTypeANSI136Cause  = 4 // ANSI 136 cause code
	NetworkTypeIS95Cause     = 5 // IS 95 cause code
	NetworkTypeANSI41        = 6 // ANSI-41 error
	NetworkTypeSMPP          = 7 // SMPP error
	NetworkTypeMessageCenter = 8 // message center specific
)

// NetworkErrorCode is the value of the network_error_code TLV: a 1-octet
// network type followed by a 2-octet big-endian error code (SMPP 3.4
// section 5.3.2.31). For example 03 08 02 is GSM error 2050.
type NetworkErrorCode struct {
	NetworkType uint8
	ErrorCode   uint16
}

// String returns the code as "type/code", such as "3/2050".
func (c NetworkErrorCode) String() string {
	return fmt.Sprintf("%d/%d", c.NetworkType, c.ErrorCode)
}

// MessagePayload returns the message_payload TLV, which carries a message
// of up to 64 KiB in place of short_message, UDH included when ESMClassUDHI
// is set.
func (ts TLVs) MessagePayload() ([]byte, error) {
	v, ok := ts.Get(TagMessagePayload)
	if !ok {
		return nil, fmt.Errorf("%w: %v", ErrTLVNotFound, TagMessagePayload)
	}
	return v, nil
}

// SetMessagePayload sets the message_payload TLV.
func (ts *TLVs) SetMessagePayload(b []byte) { ts.Set(TagMessagePayload, b) }

// SAR is the segmentation and reassembly information of one part of a long
// message, from the sar_msg_ref_num, sar_total_segments and
// sar_segment_seqnum TLVs (SMPP 3.4 sections 5.3.2.22 to 5.3.2.24).
type SAR struct {
	// RefNum is the same in every part of one message.
	RefNum uint16
	// TotalSegments is the number of parts, 1 to 255.
	TotalSegments uint8
	// SegmentSeqnum is this part's number, 1 to TotalSegments.
	SegmentSeqnum uint8
}

// SAR returns the three sar_* TLVs. All three must be present. The error
// names the first one that is missing or malformed.
func (ts TLVs) SAR() (SAR, error) {
	ref, err := ts.Uint16(TagSARMsgRefNum)
	if err != nil {
		return SAR{}, err
	}
	total, err := ts.Uint8(TagSARTotalSegments)
	if err != nil {
		return SAR{}, err
	}
	seq, err := ts.Uint8(TagSARSegmentSeqnum)
	if err != nil {
		return SAR{}, err
	}
	return SAR{RefNum: ref, TotalSegments: total, SegmentSeqnum: seq}, nil
}

// SetSAR sets the three sar_* TLVs.
func (ts *TLVs) SetSAR(s SAR) {
	ts.SetUint16(TagSARMsgRefNum, s.RefNum)
	ts.SetUint8(TagSARTotalSegments, s.TotalSegments)
	ts.SetUint8(TagSARSegmentSeqnum, s.SegmentSeqnum)
}

// ReceiptedMessageID returns the receipted_message_id TLV of a delivery
// receipt: the id the SMSC returned for the original message, without its
// NUL. A value over 64 characters is reported as invalid.
func (ts TLVs) ReceiptedMessageID() (string, error) {
	if _, err := ts.lookupSized(TagReceiptedMessageID); err != nil {
		return "", err
	}
	return ts.CString(TagReceiptedMessageID)
}

// SetReceiptedMessageID sets the receipted_message_id TLV.
func (ts *TLVs) SetReceiptedMessageID(id string) { ts.SetCString(TagReceiptedMessageID, id) }

// MessageState returns the message_state TLV of a delivery receipt
// (section 5.3.2.35).
func (ts TLVs) MessageState() (MessageState, error) {
	v, err := ts.Uint8(TagMessageState)
	return MessageState(v), err
}

// SetMessageState sets the message_state TLV.
func (ts *TLVs) SetMessageState(s MessageState) { ts.SetUint8(TagMessageState, uint8(s)) }

// NetworkErrorCode returns the network_error_code TLV. A value that is not
// exactly 3 octets is reported as invalid.
func (ts TLVs) NetworkErrorCode() (NetworkErrorCode, error) {
	v, ok := ts.Get(TagNetworkErrorCode)
	if !ok {
		return NetworkErrorCode{}, fmt.Errorf("%w: %v", ErrTLVNotFound, TagNetworkErrorCode)
	}
	if len(v) != 3 {
		return NetworkErrorCode{}, fmt.Errorf("%w: %v is %d octets, want 3", ErrInvalidTLV, TagNetworkErrorCode, len(v))
	}
	return NetworkErrorCode{NetworkType: v[0], ErrorCode: binary.BigEndian.Uint16(v[1:])}, nil
}

// SetNetworkErrorCode sets the network_error_code TLV.
func (ts *TLVs) SetNetworkErrorCode(c NetworkErrorCode) {
	ts.Set(TagNetworkErrorCode, []byte{c.NetworkType, byte(c.ErrorCode >> 8), byte(c.ErrorCode)})
}

// UserMessageReference returns the user_message_reference TLV, an ESME's
// own reference for a message.
func (ts TLVs) UserMessageReference() (uint16, error) { return ts.Uint16(TagUserMessageReference) }

// SetUserMessageReference sets the user_message_reference TLV.
func (ts *TLVs) SetUserMessageReference(v uint16) { ts.SetUint16(TagUserMessageReference, v) }

// SourcePort returns the source_port TLV, the application port of the
// originator (WAP and similar).
func (ts TLVs) SourcePort() (uint16, error) { return ts.Uint16(TagSourcePort) }

// SetSourcePort sets the source_port TLV.
func (ts *TLVs) SetSourcePort(v uint16) { ts.SetUint16(TagSourcePort, v) }

// DestinationPort returns the destination_port TLV.
func (ts TLVs) DestinationPort() (uint16, error) { return ts.Uint16(TagDestinationPort) }

// SetDestinationPort sets the destination_port TLV.
func (ts *TLVs) SetDestinationPort(v uint16) { ts.SetUint16(TagDestinationPort, v) }

// SCInterfaceVersion returns the sc_interface_version TLV, the SMPP version
// an SMSC supports, such as 0x34 or 0x50.
func (ts TLVs) SCInterfaceVersion() (uint8, error) { return ts.Uint8(TagSCInterfaceVersion) }

// SetSCInterfaceVersion sets the sc_interface_version TLV.
func (ts *TLVs) SetSCInterfaceVersion(v uint8) { ts.SetUint8(TagSCInterfaceVersion, v) }

// MoreMessagesToSend returns the more_messages_to_send TLV: 1 when more
// messages follow for the same destination, 0 when not.
func (ts TLVs) MoreMessagesToSend() (uint8, error) { return ts.Uint8(TagMoreMessagesToSend) }

// SetMoreMessagesToSend sets the more_messages_to_send TLV.
func (ts *TLVs) SetMoreMessagesToSend(v uint8) { ts.SetUint8(TagMoreMessagesToSend, v) }

// LanguageIndicator returns the language_indicator TLV (section 5.3.2.19).
func (ts TLVs) LanguageIndicator() (uint8, error) { return ts.Uint8(TagLanguageIndicator) }

// SetLanguageIndicator sets the language_indicator TLV.
func (ts *TLVs) SetLanguageIndicator(v uint8) { ts.SetUint8(TagLanguageIndicator, v) }

// PayloadType returns the payload_type TLV: 0 for WAP, 1 for WCMP.
func (ts TLVs) PayloadType() (uint8, error) { return ts.Uint8(TagPayloadType) }

// DeliveryFailureReason returns the delivery_failure_reason TLV of a
// data_sm_resp (section 5.3.2.33).
func (ts TLVs) DeliveryFailureReason() (uint8, error) { return ts.Uint8(TagDeliveryFailureReason) }

// MSAvailabilityStatus returns the ms_availability_status TLV of an
// alert_notification: 0 available, 1 denied, 2 unavailable.
func (ts TLVs) MSAvailabilityStatus() (uint8, error) { return ts.Uint8(TagMSAvailabilityStatus) }

// AdditionalStatusInfoText returns the additional_status_info_text TLV, a
// free-form explanation of an error, without its NUL.
func (ts TLVs) AdditionalStatusInfoText() (string, error) {
	if _, err := ts.lookupSized(TagAdditionalStatusInfoText); err != nil {
		return "", err
	}
	return ts.CString(TagAdditionalStatusInfoText)
}

// QOSTimeToLive returns the qos_time_to_live TLV, in seconds.
func (ts TLVs) QOSTimeToLive() (uint32, error) { return ts.Uint32(TagQOSTimeToLive) }
