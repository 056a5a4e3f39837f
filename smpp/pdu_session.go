package smpp

// This file holds the PDU types that have a header and no mandatory fields.

// GenericNACK reports a PDU the receiver could not handle at all: an invalid
// command_length or command_id, or a body it could not parse (SMPP 3.4 section 4.3.1).
// Its header carries the error in CommandStatus and, when known, the
// sequence_number of the offending PDU. It has no body.
type GenericNACK struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns GenericNACKID.
func (*GenericNACK) CommandID() CommandID { return GenericNACKID }

func (p *GenericNACK) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *GenericNACK) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *GenericNACK) optional() *TLVs { return &p.TLVs }

// Unbind requests the end of the session (SMPP 3.4 section 4.2.1). It has no body.
type Unbind struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns UnbindID.
func (*Unbind) CommandID() CommandID { return UnbindID }

func (p *Unbind) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *Unbind) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *Unbind) optional() *TLVs { return &p.TLVs }

// UnbindResp is the response to an unbind (SMPP 3.4 section 4.2.2). It has no body.
type UnbindResp struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns UnbindRespID.
func (*UnbindResp) CommandID() CommandID { return UnbindRespID }

func (p *UnbindResp) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *UnbindResp) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *UnbindResp) optional() *TLVs { return &p.TLVs }

// EnquireLink checks that the link and the peer are alive (SMPP 3.4 section
// 4.11.1). It has no body.
type EnquireLink struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns EnquireLinkID.
func (*EnquireLink) CommandID() CommandID { return EnquireLinkID }

func (p *EnquireLink) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *EnquireLink) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *EnquireLink) optional() *TLVs { return &p.TLVs }

// EnquireLinkResp is the response to an enquire_link (SMPP 3.4 section 4.11.2). It has no body.
type EnquireLinkResp struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns EnquireLinkRespID.
func (*EnquireLinkResp) CommandID() CommandID { return EnquireLinkRespID }

func (p *EnquireLinkResp) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *EnquireLinkResp) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *EnquireLinkResp) optional() *TLVs { return &p.TLVs }

// CancelSMResp is the response to a cancel_sm (SMPP 3.4 section 4.9.2). It has no body.
type CancelSMResp struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns CancelSMRespID.
func (*CancelSMResp) CommandID() CommandID { return CancelSMRespID }

func (p *CancelSMResp) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *CancelSMResp) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *CancelSMResp) optional() *TLVs { return &p.TLVs }

// ReplaceSMResp is the response to a replace_sm (SMPP 3.4 section 4.10.2). It has no body.
type ReplaceSMResp struct {
	Header
	// TLVs holds any optional parameters the peer sent anyway.
	TLVs TLVs
}

// CommandID returns ReplaceSMRespID.
func (*ReplaceSMResp) CommandID() CommandID { return ReplaceSMRespID }

func (p *ReplaceSMResp) decodeBody(d decoder) decoder {
	p.TLVs = d.tlvs()
	return d
}
func (p *ReplaceSMResp) appendBody(e encoder) encoder {
	e.tlvs(p.TLVs)
	return e
}
func (p *ReplaceSMResp) optional() *TLVs { return &p.TLVs }
