package smpp

import "fmt"

// DeliverSMPart returns the reassembly part of a deliver_sm, with its
// header when UDHI is set, for Reassembler.Add. The body comes from
// short_message, or from message_payload when short_message is empty; a
// PDU that fills both is rejected with ErrPayloadConflict. The segment
// numbers come from a concatenation element in the header, else from the
// sar_* TLVs, else the message is whole (Total 1). session names the peer
// in the key.
func DeliverSMPart(p *DeliverSM, session string, opts TextOptions) (Part, *UDH, error) {
	data := p.ShortMessage
	payload, hasPayload := p.TLVs.Get(TagMessagePayload)
	switch {
	case len(data) > 0 && len(payload) > 0:
		return Part{}, nil, fmt.Errorf("deliver_sm segment: %w", ErrPayloadConflict)
	case len(data) == 0 && hasPayload:
		data = payload
	}
	ud, err := ParseUserData(p.DataCoding, data, p.ESMClass&ESMClassUDHI != 0, opts)
	if err != nil {
		return Part{}, nil, fmt.Errorf("deliver_sm segment: %w", err)
	}

	place := ConcatInfo{Total: 1, Seq: 1}
	if c, ok := headerConcat(ud.Header); ok {
		place = c
	} else if sar, err := p.TLVs.SAR(); err == nil {
		place = ConcatInfo{Ref: sar.RefNum, Total: sar.TotalSegments, Seq: sar.SegmentSeqnum}
	}
	key := PartKey{
		Session:     session,
		Source:      p.SourceAddr,
		Destination: p.DestinationAddr,
		Ref:         place.Ref,
		Total:       place.Total,
	}
	return Part{Key: key, Seq: place.Seq, Coding: p.DataCoding, Body: ud.Body}, ud.Header, nil
}

func headerConcat(h *UDH) (ConcatInfo, bool) {
	if h == nil {
		return ConcatInfo{}, false
	}
	return h.Concat()
}
