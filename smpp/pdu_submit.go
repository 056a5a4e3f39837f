package smpp

// SubmitSM submits one short message to the SMSC for one destination (SMPP
// 3.4 section 4.4.1). A long message travels either as several submit_sm
// with a UDH or with sar_* TLVs, or whole in the message_payload TLV with an
// empty ShortMessage.
type SubmitSM struct {
	Header
	// ServiceType names the SMS application service: at most 5 characters,
	// usually empty for the SMSC default.
	ServiceType string
	// SourceAddrTON, SourceAddrNPI and SourceAddr give the originator.
	// SourceAddr holds at most 20 characters and may be empty.
	SourceAddrTON TON
	SourceAddrNPI NPI
	SourceAddr    string
	// DestAddrTON, DestAddrNPI and DestinationAddr give the recipient.
	// DestinationAddr holds at most 20 characters.
	DestAddrTON     TON
	DestAddrNPI     NPI
	DestinationAddr string
	// ESMClass holds the messaging mode, message type and GSM features,
	// such as ESMClassUDHI (section 5.2.12).
	ESMClass uint8
	// ProtocolID is the GSM TP-PID (section 5.2.13).
	ProtocolID uint8
	// PriorityFlag is the message priority, 0 (lowest) to 3 (section 5.2.14).
	PriorityFlag uint8
	// ScheduleDeliveryTime and ValidityPeriod are times in the 16-character
	// format of section 7.1.1, or empty for the SMSC default. The codec
	// checks only their length.
	ScheduleDeliveryTime string
	ValidityPeriod       string
	// RegisteredDelivery requests receipts and acknowledgements
	// (section 5.2.17).
	RegisteredDelivery uint8
	// ReplaceIfPresentFlag requests that the SMSC replace a pending message with
	// the same source, destination and service type (section 5.2.18).
	ReplaceIfPresentFlag uint8
	// DataCoding is the character set or coding scheme of ShortMessage
	// (section 5.2.19).
	DataCoding DataCoding
	// SMDefaultMsgID selects a canned message stored on the SMSC, or 0.
	SMDefaultMsgID uint8
	// ShortMessage is the message, at most 254 octets. sm_length is its
	// length on the wire. NUL octets are data. The decoder returns nil for
	// an empty message.
	ShortMessage []byte
	// TLVs holds the optional parameters in wire order.
	TLVs TLVs
}

// DeliverSM carries a mobile-originated message or a delivery receipt from
// the SMSC to the ESME (SMPP 3.4 section 4.6.1). Its layout is that of
// submit_sm, but SMPP 3.4 sets ScheduleDeliveryTime, ValidityPeriod,
// ReplaceIfPresentFlag and SMDefaultMsgID to empty or zero. The decoder
// accepts other values and keeps them. A receipt has ESMClassDeliveryReceipt
// in ESMClass and the receipt text in ShortMessage, with the
// receipted_message_id, message_state and network_error_code TLVs when the
// SMSC sends them.
type DeliverSM struct {
	Header
	ServiceType          string
	SourceAddrTON        TON
	SourceAddrNPI        NPI
	SourceAddr           string
	DestAddrTON          TON
	DestAddrNPI          NPI
	DestinationAddr      string
	ESMClass             uint8
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	ReplaceIfPresentFlag uint8
	DataCoding           DataCoding
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 TLVs
}

// CommandID returns SubmitSMID.
func (*SubmitSM) CommandID() CommandID { return SubmitSMID }

// CommandID returns DeliverSMID.
func (*DeliverSM) CommandID() CommandID { return DeliverSMID }

func (p *SubmitSM) decodeBody(d decoder) decoder {
	p.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxAddr, StatusInvalidSourceAddr)
	p.DestAddrTON = TON(d.u8("dest_addr_ton"))
	p.DestAddrNPI = NPI(d.u8("dest_addr_npi"))
	p.DestinationAddr = d.cstring("destination_addr", maxAddr, StatusInvalidDestAddr)
	p.ESMClass = d.u8("esm_class")
	p.ProtocolID = d.u8("protocol_id")
	p.PriorityFlag = d.u8("priority_flag")
	p.ScheduleDeliveryTime = d.cstring("schedule_delivery_time", maxTime, StatusInvalidSchedule)
	p.ValidityPeriod = d.cstring("validity_period", maxTime, StatusInvalidExpiry)
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.ReplaceIfPresentFlag = d.u8("replace_if_present_flag")
	p.DataCoding = DataCoding(d.u8("data_coding"))
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
	return d
}

func (p *SubmitSM) appendBody(e encoder) encoder {
	e.cstring("service_type", p.ServiceType, maxServiceType, StatusInvalidServiceType)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxAddr, StatusInvalidSourceAddr)
	e.u8(uint8(p.DestAddrTON))
	e.u8(uint8(p.DestAddrNPI))
	e.cstring("destination_addr", p.DestinationAddr, maxAddr, StatusInvalidDestAddr)
	e.u8(p.ESMClass)
	e.u8(p.ProtocolID)
	e.u8(p.PriorityFlag)
	e.cstring("schedule_delivery_time", p.ScheduleDeliveryTime, maxTime, StatusInvalidSchedule)
	e.cstring("validity_period", p.ValidityPeriod, maxTime, StatusInvalidExpiry)
	e.u8(p.RegisteredDelivery)
	e.u8(p.ReplaceIfPresentFlag)
	e.u8(uint8(p.DataCoding))
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
	return e
}

func (p *SubmitSM) optional() *TLVs { return &p.TLVs }

func (p *DeliverSM) decodeBody(d decoder) decoder { return (*SubmitSM)(p).decodeBody(d) }
func (p *DeliverSM) appendBody(e encoder) encoder { return (*SubmitSM)(p).appendBody(e) }
func (p *DeliverSM) optional() *TLVs              { return &p.TLVs }

// SubmitSMResp is the response to a submit_sm (SMPP 3.4 section 4.4.2). A response with
// a non-zero CommandStatus may arrive without a body, which decodes to an
// empty MessageID.
type SubmitSMResp struct {
	Header
	// MessageID is the SMSC's id for the message: at most 64 characters.
	// Compare ids as opaque strings, because leading zeros are significant.
	MessageID string
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns SubmitSMRespID.
func (*SubmitSMResp) CommandID() CommandID { return SubmitSMRespID }

func (p *SubmitSMResp) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.TLVs = d.tlvs()
	return d
}

func (p *SubmitSMResp) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.tlvs(p.TLVs)
	return e
}

func (p *SubmitSMResp) optional() *TLVs { return &p.TLVs }

// DeliverSMResp is the response to a deliver_sm (SMPP 3.4 section 4.6.2). SMPP 3.4
// fixes message_id to a single NUL, but some ESMEs return an id there, so
// the codec accepts up to 64 characters and the decoder also takes a
// response without a body.
type DeliverSMResp struct {
	Header
	// MessageID is unused by SMPP 3.4 and normally empty.
	MessageID string
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns DeliverSMRespID.
func (*DeliverSMResp) CommandID() CommandID { return DeliverSMRespID }

func (p *DeliverSMResp) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxDeliverSMRespID, StatusInvalidMessageID)
	p.TLVs = d.tlvs()
	return d
}

func (p *DeliverSMResp) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxDeliverSMRespID, StatusInvalidMessageID)
	e.tlvs(p.TLVs)
	return e
}

func (p *DeliverSMResp) optional() *TLVs { return &p.TLVs }
