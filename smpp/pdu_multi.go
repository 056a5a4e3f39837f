package smpp

import "fmt"

// SubmitMulti submits one short message to up to 254 destinations, each an
// SME address or a distribution list (SMPP 3.4 section 4.5.1). The fields
// other than DestAddresses mean what they mean in SubmitSM.
type SubmitMulti struct {
	Header
	ServiceType   string
	SourceAddrTON TON
	SourceAddrNPI NPI
	SourceAddr    string
	// DestAddresses lists the destinations. number_of_dests on the wire is
	// its length, at most 254.
	DestAddresses        []DestAddress
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

// CommandID returns SubmitMultiID.
func (*SubmitMulti) CommandID() CommandID { return SubmitMultiID }

func (p *SubmitMulti) decodeBody(d decoder) decoder {
	p.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxAddr, StatusInvalidSourceAddr)
	p.DestAddresses = d.destAddresses()
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

func (p *SubmitMulti) appendBody(e encoder) encoder {
	e.cstring("service_type", p.ServiceType, maxServiceType, StatusInvalidServiceType)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxAddr, StatusInvalidSourceAddr)
	e.destAddresses(p.DestAddresses)
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

func (p *SubmitMulti) optional() *TLVs { return &p.TLVs }

// destAddresses reads number_of_dests and the dest_address list that
// follows it (SMPP 3.4 sections 4.5.1 and 4.5.1.1).
func (d *decoder) destAddresses() []DestAddress {
	countOff := d.off
	n := int(d.u8("number_of_dests"))
	if d.err != nil || n == 0 {
		return nil
	}
	if n > maxNumberOfDests {
		d.fail("number_of_dests", countOff, StatusInvalidNumDests,
			fmt.Errorf("%w: %d, max %d", ErrInvalidField, n, maxNumberOfDests))
		return nil
	}
	// Each destination takes at least 2 octets, so a count the PDU cannot
	// hold is caught before the slice is allocated.
	if d.remaining() < 2*n {
		d.truncated("dest_address")
		return nil
	}
	dests := make([]DestAddress, n)
	for i := range dests {
		dests[i] = d.destAddress()
		if d.err != nil {
			return nil
		}
	}
	return dests
}

func (d *decoder) destAddress() DestAddress {
	flagOff := d.off
	a := DestAddress{DestFlag: DestFlag(d.u8("dest_flag"))}
	switch a.DestFlag {
	case DestFlagSMEAddress:
		a.DestAddrTON = TON(d.u8("dest_addr_ton"))
		a.DestAddrNPI = NPI(d.u8("dest_addr_npi"))
		a.DestinationAddr = d.cstring("destination_addr", maxAddr, StatusInvalidDestAddr)
	case DestFlagDLName:
		a.DLName = d.cstring("dl_name", maxAddr, StatusInvalidDLName)
	default:
		d.fail("dest_flag", flagOff, StatusInvalidDestFlag,
			fmt.Errorf("%w: %d, want 1 (SME address) or 2 (distribution list)", ErrInvalidField, a.DestFlag))
	}
	return a
}

func (e *encoder) destAddresses(dests []DestAddress) {
	if e.err != nil {
		return
	}
	if len(dests) > maxNumberOfDests {
		e.fail("number_of_dests", StatusInvalidNumDests,
			fmt.Errorf("%w: %d, max %d", ErrInvalidField, len(dests), maxNumberOfDests))
		return
	}
	e.u8(uint8(len(dests)))
	for _, a := range dests {
		switch a.DestFlag {
		case DestFlagSMEAddress:
			e.u8(uint8(a.DestFlag))
			e.u8(uint8(a.DestAddrTON))
			e.u8(uint8(a.DestAddrNPI))
			e.cstring("destination_addr", a.DestinationAddr, maxAddr, StatusInvalidDestAddr)
		case DestFlagDLName:
			e.u8(uint8(a.DestFlag))
			e.cstring("dl_name", a.DLName, maxAddr, StatusInvalidDLName)
		default:
			e.fail("dest_flag", StatusInvalidDestFlag,
				fmt.Errorf("%w: %d, want 1 (SME address) or 2 (distribution list)", ErrInvalidField, a.DestFlag))
		}
	}
}

// SubmitMultiResp is the response to a submit_multi (SMPP 3.4 section 4.5.2). A
// response with a non-zero CommandStatus may arrive without a body.
type SubmitMultiResp struct {
	Header
	// MessageID is the SMSC's id for the message: at most 64 characters.
	MessageID string
	// UnsuccessSMEs lists the destinations the SMSC could not accept.
	// no_unsuccess on the wire is its length, at most 255.
	UnsuccessSMEs []UnsuccessSME
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns SubmitMultiRespID.
func (*SubmitMultiResp) CommandID() CommandID { return SubmitMultiRespID }

// minUnsuccessSME is the smallest unsuccess_sme: TON, NPI, an empty
// destination_addr and the 4-octet error_status_code.
const minUnsuccessSME = 7

func (p *SubmitMultiResp) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	n := int(d.u8("no_unsuccess"))
	if d.err != nil {
		return d
	}
	if n > 0 {
		if d.remaining() < minUnsuccessSME*n {
			d.truncated("unsuccess_sme")
			return d
		}
		p.UnsuccessSMEs = make([]UnsuccessSME, n)
		for i := range p.UnsuccessSMEs {
			u := &p.UnsuccessSMEs[i]
			u.DestAddrTON = TON(d.u8("dest_addr_ton"))
			u.DestAddrNPI = NPI(d.u8("dest_addr_npi"))
			u.DestinationAddr = d.cstring("destination_addr", maxAddr, StatusInvalidDestAddr)
			u.ErrorStatusCode = CommandStatus(d.u32("error_status_code"))
		}
		if d.err != nil {
			p.UnsuccessSMEs = nil
			return d
		}
	}
	p.TLVs = d.tlvs()
	return d
}

func (p *SubmitMultiResp) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	if len(p.UnsuccessSMEs) > 255 {
		e.fail("no_unsuccess", StatusInvalidNumDests,
			fmt.Errorf("%w: %d, max 255", ErrInvalidField, len(p.UnsuccessSMEs)))
		return e
	}
	e.u8(uint8(len(p.UnsuccessSMEs)))
	for _, u := range p.UnsuccessSMEs {
		e.u8(uint8(u.DestAddrTON))
		e.u8(uint8(u.DestAddrNPI))
		e.cstring("destination_addr", u.DestinationAddr, maxAddr, StatusInvalidDestAddr)
		e.u32(uint32(u.ErrorStatusCode))
	}
	e.tlvs(p.TLVs)
	return e
}

func (p *SubmitMultiResp) optional() *TLVs { return &p.TLVs }
