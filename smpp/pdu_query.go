package smpp

// This file holds the PDUs that act on a message already submitted:
// query_sm, cancel_sm and replace_sm.

// QuerySM requests the state of a submitted message (SMPP 3.4
// section 4.8.1).
type QuerySM struct {
	Header
	// MessageID is the id the SMSC returned in submit_sm_resp.
	MessageID string
	// SourceAddrTON, SourceAddrNPI and SourceAddr must match the source
	// address of the original message.
	SourceAddrTON TON
	SourceAddrNPI NPI
	SourceAddr    string
	TLVs          TLVs
}

// CommandID returns QuerySMID.
func (*QuerySM) CommandID() CommandID { return QuerySMID }

func (p *QuerySM) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxAddr, StatusInvalidSourceAddr)
	p.TLVs = d.tlvs()
	return d
}

func (p *QuerySM) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxAddr, StatusInvalidSourceAddr)
	e.tlvs(p.TLVs)
	return e
}

func (p *QuerySM) optional() *TLVs { return &p.TLVs }

// QuerySMResp is the response to a query_sm (SMPP 3.4 section 4.8.2). A response with a
// non-zero CommandStatus may arrive without a body.
type QuerySMResp struct {
	Header
	MessageID string
	// FinalDate is when the message reached its final state, in the format
	// of section 7.1.1, or empty while it has not.
	FinalDate    string
	MessageState MessageState
	// ErrorCode is the network error code for a failed message, or 0.
	ErrorCode uint8
	TLVs      TLVs
}

// CommandID returns QuerySMRespID.
func (*QuerySMResp) CommandID() CommandID { return QuerySMRespID }

func (p *QuerySMResp) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.FinalDate = d.cstring("final_date", maxTime, StatusQueryFailed)
	p.MessageState = MessageState(d.u8("message_state"))
	p.ErrorCode = d.u8("error_code")
	p.TLVs = d.tlvs()
	return d
}

func (p *QuerySMResp) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.cstring("final_date", p.FinalDate, maxTime, StatusQueryFailed)
	e.u8(uint8(p.MessageState))
	e.u8(p.ErrorCode)
	e.tlvs(p.TLVs)
	return e
}

func (p *QuerySMResp) optional() *TLVs { return &p.TLVs }

// CancelSM cancels one pending message, or every pending message from a
// source to a destination when MessageID is empty (SMPP 3.4 section 4.9.1).
type CancelSM struct {
	Header
	ServiceType     string
	MessageID       string
	SourceAddrTON   TON
	SourceAddrNPI   NPI
	SourceAddr      string
	DestAddrTON     TON
	DestAddrNPI     NPI
	DestinationAddr string
	TLVs            TLVs
}

// CommandID returns CancelSMID.
func (*CancelSM) CommandID() CommandID { return CancelSMID }

func (p *CancelSM) decodeBody(d decoder) decoder {
	p.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxAddr, StatusInvalidSourceAddr)
	p.DestAddrTON = TON(d.u8("dest_addr_ton"))
	p.DestAddrNPI = NPI(d.u8("dest_addr_npi"))
	p.DestinationAddr = d.cstring("destination_addr", maxAddr, StatusInvalidDestAddr)
	p.TLVs = d.tlvs()
	return d
}

func (p *CancelSM) appendBody(e encoder) encoder {
	e.cstring("service_type", p.ServiceType, maxServiceType, StatusInvalidServiceType)
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxAddr, StatusInvalidSourceAddr)
	e.u8(uint8(p.DestAddrTON))
	e.u8(uint8(p.DestAddrNPI))
	e.cstring("destination_addr", p.DestinationAddr, maxAddr, StatusInvalidDestAddr)
	e.tlvs(p.TLVs)
	return e
}

func (p *CancelSM) optional() *TLVs { return &p.TLVs }

// ReplaceSM replaces the text and times of a pending message (SMPP 3.4
// section 4.10.1).
type ReplaceSM struct {
	Header
	MessageID            string
	SourceAddrTON        TON
	SourceAddrNPI        NPI
	SourceAddr           string
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   uint8
	SMDefaultMsgID       uint8
	// ShortMessage is the new message, at most 254 octets.
	ShortMessage []byte
	TLVs         TLVs
}

// CommandID returns ReplaceSMID.
func (*ReplaceSM) CommandID() CommandID { return ReplaceSMID }

func (p *ReplaceSM) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxAddr, StatusInvalidSourceAddr)
	p.ScheduleDeliveryTime = d.cstring("schedule_delivery_time", maxTime, StatusInvalidSchedule)
	p.ValidityPeriod = d.cstring("validity_period", maxTime, StatusInvalidExpiry)
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
	return d
}

func (p *ReplaceSM) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxAddr, StatusInvalidSourceAddr)
	e.cstring("schedule_delivery_time", p.ScheduleDeliveryTime, maxTime, StatusInvalidSchedule)
	e.cstring("validity_period", p.ValidityPeriod, maxTime, StatusInvalidExpiry)
	e.u8(p.RegisteredDelivery)
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
	return e
}

func (p *ReplaceSM) optional() *TLVs { return &p.TLVs }
