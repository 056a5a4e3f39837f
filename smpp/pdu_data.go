package smpp

// DataSM transfers data between ESME and SMSC in either direction, for
// interactive and WAP-style applications (SMPP 3.4 section 4.7.1). The
// payload travels in the message_payload TLV, because data_sm has no
// short_message field. Addresses may be up to 64 characters.
type DataSM struct {
	Header
	ServiceType        string
	SourceAddrTON      TON
	SourceAddrNPI      NPI
	SourceAddr         string // at most 64 characters
	DestAddrTON        TON
	DestAddrNPI        NPI
	DestinationAddr    string // at most 64 characters
	ESMClass           uint8
	RegisteredDelivery uint8
	DataCoding         DataCoding
	TLVs               TLVs
}

// CommandID returns DataSMID.
func (*DataSM) CommandID() CommandID { return DataSMID }

func (p *DataSM) decodeBody(d decoder) decoder {
	p.ServiceType = d.cstring("service_type", maxServiceType, StatusInvalidServiceType)
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxDataSMAddr, StatusInvalidSourceAddr)
	p.DestAddrTON = TON(d.u8("dest_addr_ton"))
	p.DestAddrNPI = NPI(d.u8("dest_addr_npi"))
	p.DestinationAddr = d.cstring("destination_addr", maxDataSMAddr, StatusInvalidDestAddr)
	p.ESMClass = d.u8("esm_class")
	p.RegisteredDelivery = d.u8("registered_delivery")
	p.DataCoding = DataCoding(d.u8("data_coding"))
	p.TLVs = d.tlvs()
	return d
}

func (p *DataSM) appendBody(e encoder) encoder {
	e.cstring("service_type", p.ServiceType, maxServiceType, StatusInvalidServiceType)
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxDataSMAddr, StatusInvalidSourceAddr)
	e.u8(uint8(p.DestAddrTON))
	e.u8(uint8(p.DestAddrNPI))
	e.cstring("destination_addr", p.DestinationAddr, maxDataSMAddr, StatusInvalidDestAddr)
	e.u8(p.ESMClass)
	e.u8(p.RegisteredDelivery)
	e.u8(uint8(p.DataCoding))
	e.tlvs(p.TLVs)
	return e
}

func (p *DataSM) optional() *TLVs { return &p.TLVs }

// DataSMResp is the response to a data_sm (SMPP 3.4 section 4.7.2). A response with a
// non-zero CommandStatus may arrive without a body.
type DataSMResp struct {
	Header
	// MessageID is the SMSC's id for the message: at most 64 characters.
	MessageID string
	// TLVs holds optional parameters such as delivery_failure_reason and
	// additional_status_info_text.
	TLVs TLVs
}

// CommandID returns DataSMRespID.
func (*DataSMResp) CommandID() CommandID { return DataSMRespID }

func (p *DataSMResp) decodeBody(d decoder) decoder {
	p.MessageID = d.cstring("message_id", maxMessageID, StatusInvalidMessageID)
	p.TLVs = d.tlvs()
	return d
}

func (p *DataSMResp) appendBody(e encoder) encoder {
	e.cstring("message_id", p.MessageID, maxMessageID, StatusInvalidMessageID)
	e.tlvs(p.TLVs)
	return e
}

func (p *DataSMResp) optional() *TLVs { return &p.TLVs }

// AlertNotification informs an ESME that a mobile subscriber it queried
// is available again (SMPP 3.4 section 4.12.1). It has no response.
type AlertNotification struct {
	Header
	SourceAddrTON TON
	SourceAddrNPI NPI
	SourceAddr    string // the mobile subscriber, at most 64 characters
	ESMEAddrTON   TON
	ESMEAddrNPI   NPI
	ESMEAddr      string // the ESME to alert, at most 64 characters
	// TLVs holds optional parameters, usually ms_availability_status.
	TLVs TLVs
}

// CommandID returns AlertNotificationID.
func (*AlertNotification) CommandID() CommandID { return AlertNotificationID }

func (p *AlertNotification) decodeBody(d decoder) decoder {
	p.SourceAddrTON = TON(d.u8("source_addr_ton"))
	p.SourceAddrNPI = NPI(d.u8("source_addr_npi"))
	p.SourceAddr = d.cstring("source_addr", maxDataSMAddr, StatusInvalidSourceAddr)
	p.ESMEAddrTON = TON(d.u8("esme_addr_ton"))
	p.ESMEAddrNPI = NPI(d.u8("esme_addr_npi"))
	p.ESMEAddr = d.cstring("esme_addr", maxDataSMAddr, StatusInvalidDestAddr)
	p.TLVs = d.tlvs()
	return d
}

func (p *AlertNotification) appendBody(e encoder) encoder {
	e.u8(uint8(p.SourceAddrTON))
	e.u8(uint8(p.SourceAddrNPI))
	e.cstring("source_addr", p.SourceAddr, maxDataSMAddr, StatusInvalidSourceAddr)
	e.u8(uint8(p.ESMEAddrTON))
	e.u8(uint8(p.ESMEAddrNPI))
	e.cstring("esme_addr", p.ESMEAddr, maxDataSMAddr, StatusInvalidDestAddr)
	e.tlvs(p.TLVs)
	return e
}

func (p *AlertNotification) optional() *TLVs { return &p.TLVs }
