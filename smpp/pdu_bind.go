package smpp

// BindTransmitter opens a session in which the ESME submits messages to the
// SMSC (SMPP 3.4 section 4.1.1). BindReceiver and BindTransceiver have the
// same fields.
type BindTransmitter struct {
	Header
	// SystemID identifies the ESME: at most 15 characters.
	SystemID string
	// Password authenticates the ESME: at most 8 characters.
	Password string
	// SystemType categorises the ESME, such as "VMS": at most 12
	// characters, often empty.
	SystemType string
	// InterfaceVersion is the SMPP version the ESME speaks, 0x34 for 3.4.
	InterfaceVersion uint8
	// AddrTON, AddrNPI and AddressRange describe the addresses the ESME
	// serves. AddressRange holds at most 40 characters.
	AddrTON      TON
	AddrNPI      NPI
	AddressRange string
	// TLVs holds optional parameters. SMPP 3.4 defines none for bind
	// requests, but any the peer sends are kept.
	TLVs TLVs
}

// BindReceiver opens a session in which the SMSC delivers messages to the
// ESME (SMPP 3.4 section 4.1.3). Its fields are those of BindTransmitter.
type BindReceiver BindTransmitter

// BindTransceiver opens a session that both submits and receives messages
// (SMPP 3.4 section 4.1.5). Its fields are those of BindTransmitter.
type BindTransceiver BindTransmitter

// CommandID returns BindTransmitterID.
func (*BindTransmitter) CommandID() CommandID { return BindTransmitterID }

// CommandID returns BindReceiverID.
func (*BindReceiver) CommandID() CommandID { return BindReceiverID }

// CommandID returns BindTransceiverID.
func (*BindTransceiver) CommandID() CommandID { return BindTransceiverID }

func (p *BindTransmitter) decodeBody(d decoder) decoder {
	p.SystemID = d.cstring("system_id", maxSystemID, StatusInvalidSystemID)
	p.Password = d.cstring("password", maxPassword, StatusInvalidPassword)
	p.SystemType = d.cstring("system_type", maxSystemType, StatusInvalidSystemType)
	p.InterfaceVersion = d.u8("interface_version")
	p.AddrTON = TON(d.u8("addr_ton"))
	p.AddrNPI = NPI(d.u8("addr_npi"))
	p.AddressRange = d.cstring("address_range", maxAddressRange, StatusBindFailed)
	p.TLVs = d.tlvs()
	return d
}

func (p *BindTransmitter) appendBody(e encoder) encoder {
	e.cstring("system_id", p.SystemID, maxSystemID, StatusInvalidSystemID)
	e.cstring("password", p.Password, maxPassword, StatusInvalidPassword)
	e.cstring("system_type", p.SystemType, maxSystemType, StatusInvalidSystemType)
	e.u8(p.InterfaceVersion)
	e.u8(uint8(p.AddrTON))
	e.u8(uint8(p.AddrNPI))
	e.cstring("address_range", p.AddressRange, maxAddressRange, StatusBindFailed)
	e.tlvs(p.TLVs)
	return e
}

func (p *BindTransmitter) optional() *TLVs { return &p.TLVs }

func (p *BindReceiver) decodeBody(d decoder) decoder { return (*BindTransmitter)(p).decodeBody(d) }
func (p *BindReceiver) appendBody(e encoder) encoder { return (*BindTransmitter)(p).appendBody(e) }
func (p *BindReceiver) optional() *TLVs              { return &p.TLVs }

func (p *BindTransceiver) decodeBody(d decoder) decoder { return (*BindTransmitter)(p).decodeBody(d) }
func (p *BindTransceiver) appendBody(e encoder) encoder { return (*BindTransmitter)(p).appendBody(e) }
func (p *BindTransceiver) optional() *TLVs              { return &p.TLVs }

// BindTransmitterResp is the response to a bind_transmitter (SMPP 3.4 section 4.1.2).
// BindReceiverResp and BindTransceiverResp have the same fields. A response
// with a non-zero CommandStatus may arrive without a body, which decodes to
// empty fields.
type BindTransmitterResp struct {
	Header
	// SystemID identifies the SMSC: at most 15 characters, may be empty.
	SystemID string
	// TLVs holds optional parameters, usually sc_interface_version, the
	// SMPP version the SMSC speaks (see TLVs.SCInterfaceVersion).
	TLVs TLVs
}

// BindReceiverResp is the response to a bind_receiver (SMPP 3.4 section 4.1.4). Its
// fields are those of BindTransmitterResp.
type BindReceiverResp BindTransmitterResp

// BindTransceiverResp is the response to a bind_transceiver (SMPP 3.4 section 4.1.6).
// Its fields are those of BindTransmitterResp.
type BindTransceiverResp BindTransmitterResp

// CommandID returns BindTransmitterRespID.
func (*BindTransmitterResp) CommandID() CommandID { return BindTransmitterRespID }

// CommandID returns BindReceiverRespID.
func (*BindReceiverResp) CommandID() CommandID { return BindReceiverRespID }

// CommandID returns BindTransceiverRespID.
func (*BindTransceiverResp) CommandID() CommandID { return BindTransceiverRespID }

func (p *BindTransmitterResp) decodeBody(d decoder) decoder {
	p.SystemID = d.cstring("system_id", maxSystemID, StatusInvalidSystemID)
	p.TLVs = d.tlvs()
	return d
}

func (p *BindTransmitterResp) appendBody(e encoder) encoder {
	e.cstring("system_id", p.SystemID, maxSystemID, StatusInvalidSystemID)
	e.tlvs(p.TLVs)
	return e
}

func (p *BindTransmitterResp) optional() *TLVs { return &p.TLVs }

func (p *BindReceiverResp) decodeBody(d decoder) decoder {
	return (*BindTransmitterResp)(p).decodeBody(d)
}
func (p *BindReceiverResp) appendBody(e encoder) encoder {
	return (*BindTransmitterResp)(p).appendBody(e)
}
func (p *BindReceiverResp) optional() *TLVs { return &p.TLVs }

func (p *BindTransceiverResp) decodeBody(d decoder) decoder {
	return (*BindTransmitterResp)(p).decodeBody(d)
}
func (p *BindTransceiverResp) appendBody(e encoder) encoder {
	return (*BindTransmitterResp)(p).appendBody(e)
}
func (p *BindTransceiverResp) optional() *TLVs { return &p.TLVs }

// Outbind requests that an ESME bind back to the SMSC that sent it, with
// bind_receiver or bind_transceiver (SMPP 3.4 section 4.1.7). It has no response.
type Outbind struct {
	Header
	// SystemID identifies the SMSC: at most 15 characters.
	SystemID string
	// Password authenticates the SMSC: at most 8 characters.
	Password string
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns OutbindID.
func (*Outbind) CommandID() CommandID { return OutbindID }

func (p *Outbind) decodeBody(d decoder) decoder {
	p.SystemID = d.cstring("system_id", maxSystemID, StatusInvalidSystemID)
	p.Password = d.cstring("password", maxPassword, StatusInvalidPassword)
	p.TLVs = d.tlvs()
	return d
}

func (p *Outbind) appendBody(e encoder) encoder {
	e.cstring("system_id", p.SystemID, maxSystemID, StatusInvalidSystemID)
	e.cstring("password", p.Password, maxPassword, StatusInvalidPassword)
	e.tlvs(p.TLVs)
	return e
}

func (p *Outbind) optional() *TLVs { return &p.TLVs }
