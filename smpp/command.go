package smpp

import "fmt"

// CommandID identifies the PDU type carried in the command_id header field
// (SMPP 3.4 section 5.1.2). Responses have bit 31 set: a response's
// command_id is its request's command_id OR 0x80000000.
type CommandID uint32

// Command ids from SMPP 3.4 section 5.1.2.1.
const (
	GenericNACKID         CommandID = 0x80000000 // generic_nack, section 4.3.1
	BindReceiverID        CommandID = 0x00000001 // bind_receiver, section 4.1.3
	BindReceiverRespID    CommandID = 0x80000001 // bind_receiver_resp, section 4.1.4
	BindTransmitterID     CommandID = 0x00000002 // bind_transmitter, section 4.1.1
	BindTransmitterRespID CommandID = 0x80000002 // bind_transmitter_resp, section 4.1.2
	QuerySMID             CommandID = 0x00000003 // query_sm, section 4.8.1
	QuerySMRespID         CommandID = 0x80000003 // query_sm_resp, section 4.8.2
	SubmitSMID            CommandID = 0x00000004 // submit_sm, section 4.4.1
	SubmitSMRespID        CommandID = 0x80000004 // submit_sm_resp, section 4.4.2
	DeliverSMID           CommandID = 0x00000005 // deliver_sm, section 4.6.1
	DeliverSMRespID       CommandID = 0x80000005 // deliver_sm_resp, section 4.6.2
	UnbindID              CommandID = 0x00000006 // unbind, section 4.2.1
	UnbindRespID          CommandID = 0x80000006 // unbind_resp, section 4.2.2
	ReplaceSMID           CommandID = 0x00000007 // replace_sm, section 4.10.1
	ReplaceSMRespID       CommandID = 0x80000007 // replace_sm_resp, section 4.10.2
	CancelSMID            CommandID = 0x00000008 // cancel_sm, section 4.9.1
	CancelSMRespID        CommandID = 0x80000008 // cancel_sm_resp, section 4.9.2
	BindTransceiverID     CommandID = 0x00000009 // bind_transceiver, section 4.1.5
	BindTransceiverRespID CommandID = 0x80000009 // bind_transceiver_resp, section 4.1.6
	OutbindID             CommandID = 0x0000000B // outbind, section 4.1.7
	EnquireLinkID         CommandID = 0x00000015 // enquire_link, section 4.11.1
	EnquireLinkRespID     CommandID = 0x80000015 // enquire_link_resp, section 4.11.2
	SubmitMultiID         CommandID = 0x00000021 // submit_multi, section 4.5.1
	SubmitMultiRespID     CommandID = 0x80000021 // submit_multi_resp, section 4.5.2
	AlertNotificationID   CommandID = 0x00000102 // alert_notification, section 4.12.1
	DataSMID              CommandID = 0x00000103 // data_sm, section 4.7.1
	DataSMRespID          CommandID = 0x80000103 // data_sm_resp, section 4.7.2
)

// responseBit is the command_id bit that marks a response (section 5.1.2.1).
const responseBit CommandID = 0x80000000

var commandNames = map[CommandID]string{
	GenericNACKID:         "generic_nack",
	BindReceiverID:        "bind_receiver",
	BindReceiverRespID:    "bind_receiver_resp",
	BindTransmitterID:     "bind_transmitter",
	BindTransmitterRespID: "bind_transmitter_resp",
	QuerySMID:             "query_sm",
	QuerySMRespID:         "query_sm_resp",
	SubmitSMID:            "submit_sm",
	SubmitSMRespID:        "submit_sm_resp",
	DeliverSMID:           "deliver_sm",
	DeliverSMRespID:       "deliver_sm_resp",
	UnbindID:              "unbind",
	UnbindRespID:          "unbind_resp",
	ReplaceSMID:           "replace_sm",
	ReplaceSMRespID:       "replace_sm_resp",
	CancelSMID:            "cancel_sm",
	CancelSMRespID:        "cancel_sm_resp",
	BindTransceiverID:     "bind_transceiver",
	BindTransceiverRespID: "bind_transceiver_resp",
	OutbindID:             "outbind",
	EnquireLinkID:         "enquire_link",
	EnquireLinkRespID:     "enquire_link_resp",
	SubmitMultiID:         "submit_multi",
	SubmitMultiRespID:     "submit_multi_resp",
	AlertNotificationID:   "alert_notification",
	DataSMID:              "data_sm",
	DataSMRespID:          "data_sm_resp",
}

// String returns the spec name of the command, such as "submit_sm", or
// "command_id(0x...)" for an id SMPP 3.4 does not define.
func (id CommandID) String() string {
	if name, ok := commandNames[id]; ok {
		return name
	}
	return fmt.Sprintf("command_id(0x%08x)", uint32(id))
}

// Known reports whether SMPP 3.4 defines the command id.
func (id CommandID) Known() bool {
	_, ok := commandNames[id]
	return ok
}

// IsResponse reports whether bit 31 of the command id is set, which marks a
// response PDU (generic_nack included).
func (id CommandID) IsResponse() bool {
	return id&responseBit != 0
}

// ResponseID returns the command id of the response to a request. The
// result is only meaningful for requests that have a response: outbind and
// alert_notification have none (SMPP 3.4 sections 4.1.7 and 4.12), so
// ResponseID returns false for them, for responses and for unknown ids.
func (id CommandID) ResponseID() (CommandID, bool) {
	if id.IsResponse() || id == OutbindID || id == AlertNotificationID {
		return 0, false
	}
	resp := id | responseBit
	if !resp.Known() {
		return 0, false
	}
	return resp, true
}
