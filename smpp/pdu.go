package smpp

// PDU is one SMPP 3.4 protocol data unit. The concrete types are the
// pointer types of this package, one per command_id, such as *SubmitSM and
// *SubmitSMResp. Each embeds a Header, so p.SequenceNumber and
// p.CommandStatus read and set the header directly. Every type has a TLVs
// field for optional parameters, including types for which SMPP 3.4 lists
// none, so that whatever a peer sends survives decode and encode.
//
// The interface is sealed: only this package's types implement it.
type PDU interface {
	// CommandID returns the command_id of the PDU type. It does not read
	// the Header.CommandID field, which only the decoder sets.
	CommandID() CommandID
	// PDUHeader returns the PDU's header.
	PDUHeader() *Header

	// decodeBody and appendBody take the decoder and encoder by value and
	// return them, because a pointer passed through an interface method
	// escapes to the heap and would cost an allocation per PDU.
	decodeBody(d decoder) decoder
	appendBody(e encoder) encoder
	optional() *TLVs
}

// Field size limits from the PDU tables of SMPP 3.4 section 4. A C-octet
// string limit counts the NUL.
const (
	maxSystemID        = 16  // system_id, sections 4.1.1 and 4.1.2
	maxPassword        = 9   // password, section 4.1.1
	maxSystemType      = 13  // system_type, section 4.1.1
	maxAddressRange    = 41  // address_range, section 4.1.1
	maxServiceType     = 6   // service_type, section 4.4.1
	maxAddr            = 21  // source_addr, destination_addr, dl_name, section 4.4.1
	maxDataSMAddr      = 65  // addresses in data_sm and alert_notification, 4.7.1, 4.12.1
	maxTime            = 17  // schedule_delivery_time, validity_period, final_date, 4.4.1
	maxMessageID       = 65  // message_id, section 4.4.2
	maxShortMessage    = 254 // short_message, section 4.4.1
	maxNumberOfDests   = 254 // number_of_dests, section 4.5.1
	maxDeliverSMRespID = 65  // deliver_sm_resp message_id, see DeliverSMResp
)

// esm_class bits (SMPP 3.4 section 5.2.12).
const (
	ESMClassMessagingModeMask  = 0x03 // bits 1-0: messaging mode
	ESMClassDatagramMode       = 0x01
	ESMClassForwardMode        = 0x02
	ESMClassStoreAndForward    = 0x03
	ESMClassMessageTypeMask    = 0x3C // bits 5-2: message type
	ESMClassDeliveryReceipt    = 0x04 // SMSC delivery receipt (deliver_sm)
	ESMClassDeliveryAck        = 0x08 // SME delivery acknowledgement
	ESMClassManualAck          = 0x10 // SME manual/user acknowledgement
	ESMClassConversationAbort  = 0x18 // conversation abort (Korean CDMA)
	ESMClassIntermediateNotify = 0x20 // intermediate delivery notification
	ESMClassUDHI               = 0x40 // bit 6: short_message starts with a UDH
	ESMClassReplyPath          = 0x80 // bit 7: set reply path (GSM)
)

// registered_delivery bits (SMPP 3.4 section 5.2.17).
const (
	RegisteredDeliveryReceiptMask    = 0x03 // bits 1-0: SMSC delivery receipt
	RegisteredDeliveryReceiptAlways  = 0x01 // receipt on success or failure
	RegisteredDeliveryReceiptFailure = 0x02 // receipt on failure only
	RegisteredDeliverySMEAckMask     = 0x0C // bits 3-2: SME originated acks
	RegisteredDeliveryIntermediate   = 0x10 // bit 4: intermediate notification
)

// InterfaceVersion34 is the interface_version and sc_interface_version
// value for SMPP 3.4 (section 5.2.4).
const InterfaceVersion34 = 0x34

// newPDU returns an empty PDU of the type that id names, or nil when SMPP
// 3.4 defines no such command.
func newPDU(id CommandID) PDU {
	switch id {
	case GenericNACKID:
		return new(GenericNACK)
	case BindReceiverID:
		return new(BindReceiver)
	case BindReceiverRespID:
		return new(BindReceiverResp)
	case BindTransmitterID:
		return new(BindTransmitter)
	case BindTransmitterRespID:
		return new(BindTransmitterResp)
	case BindTransceiverID:
		return new(BindTransceiver)
	case BindTransceiverRespID:
		return new(BindTransceiverResp)
	case OutbindID:
		return new(Outbind)
	case UnbindID:
		return new(Unbind)
	case UnbindRespID:
		return new(UnbindResp)
	case EnquireLinkID:
		return new(EnquireLink)
	case EnquireLinkRespID:
		return new(EnquireLinkResp)
	case SubmitSMID:
		return new(SubmitSM)
	case SubmitSMRespID:
		return new(SubmitSMResp)
	case SubmitMultiID:
		return new(SubmitMulti)
	case SubmitMultiRespID:
		return new(SubmitMultiResp)
	case DeliverSMID:
		return new(DeliverSM)
	case DeliverSMRespID:
		return new(DeliverSMResp)
	case DataSMID:
		return new(DataSM)
	case DataSMRespID:
		return new(DataSMResp)
	case QuerySMID:
		return new(QuerySM)
	case QuerySMRespID:
		return new(QuerySMResp)
	case CancelSMID:
		return new(CancelSM)
	case CancelSMRespID:
		return new(CancelSMResp)
	case ReplaceSMID:
		return new(ReplaceSM)
	case ReplaceSMRespID:
		return new(ReplaceSMResp)
	case AlertNotificationID:
		return new(AlertNotification)
	}
	return nil
}

// NewPDU returns an empty PDU of the type that id names, with
// Header.CommandID set. It returns nil when SMPP 3.4 defines no such command.
func NewPDU(id CommandID) PDU {
	p := newPDU(id)
	if p != nil {
		p.PDUHeader().CommandID = id
	}
	return p
}

// NewResponse returns the response PDU for req with req's sequence number
// and the given status, and with every body field empty. It returns a
// *GenericNACK for outbind and alert_notification, which have no response,
// and for responses.
func NewResponse(req PDU, status CommandStatus) PDU {
	h := req.PDUHeader()
	id, ok := req.CommandID().ResponseID()
	var resp PDU = new(GenericNACK)
	if ok {
		resp = newPDU(id)
	} else {
		id = GenericNACKID
	}
	rh := resp.PDUHeader()
	rh.CommandID = id
	rh.CommandStatus = status
	rh.SequenceNumber = h.SequenceNumber
	return resp
}
