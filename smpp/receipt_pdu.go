package smpp

import (
	"errors"
	"fmt"
)

// DeliveryReport is a delivery receipt read from a deliver_sm or data_sm:
// the receipt text and the receipt TLVs together.
type DeliveryReport struct {
	// MessageID is the id to correlate with the submitted message: the
	// receipted_message_id TLV (SMPP 3.4 section 5.3.2.12) when present,
	// else the id in the text. Compare it through CanonicalMessageID.
	MessageID string
	// State is the message_state TLV when present and valid, else the stat
	// of the text.
	State MessageState
	// Receipt is the parsed text. It is zero when the PDU has no text or
	// the text is not a receipt.
	Receipt Receipt
	// NetworkError is the network_error_code TLV; HasNetworkError reports
	// whether a valid one was present.
	NetworkError    NetworkErrorCode
	HasNetworkError bool
	// Problems lists what was ignored because it was malformed, such as a
	// network_error_code that is not 3 octets or text that is not a
	// receipt, for the caller to log.
	Problems []error
}

// IsDeliveryReceipt reports whether esm_class marks an SMSC delivery
// receipt (message type 0x04, SMPP 3.4 section 5.2.12).
func IsDeliveryReceipt(esmClass uint8) bool {
	return esmClass&ESMClassMessageTypeMask == ESMClassDeliveryReceipt
}

// ParseDeliverSMReceipt reads the delivery report of a deliver_sm. The
// text comes from short_message, or from message_payload when short_message
// is empty, and is decoded with DecodeReceiptText whatever the data_coding.
// It returns an error wrapping ErrInvalidReceipt when neither the TLVs nor
// the text give a message id and a state. It does not check esm_class; see
// IsDeliveryReceipt.
func ParseDeliverSMReceipt(p *DeliverSM, opts TextOptions) (DeliveryReport, error) {
	data := p.ShortMessage
	if len(data) == 0 {
		data, _ = p.TLVs.Get(TagMessagePayload)
	}
	return parseDeliveryReport(p.DataCoding, data, p.ESMClass&ESMClassUDHI != 0, p.TLVs, opts)
}

// ParseDataSMReceipt reads the delivery report of a data_sm, whose text, if
// any, is in message_payload. It behaves as ParseDeliverSMReceipt.
func ParseDataSMReceipt(p *DataSM, opts TextOptions) (DeliveryReport, error) {
	data, _ := p.TLVs.Get(TagMessagePayload)
	return parseDeliveryReport(p.DataCoding, data, p.ESMClass&ESMClassUDHI != 0, p.TLVs, opts)
}

func parseDeliveryReport(coding DataCoding, data []byte, udhi bool, tlvs TLVs, opts TextOptions) (DeliveryReport, error) {
	var rep DeliveryReport
	if udhi {
		_, rest, err := ParseUDH(data)
		if err != nil {
			rep.Problems = append(rep.Problems, fmt.Errorf("receipt text: %w", err))
		}
		data = rest
	}
	if len(data) > 0 {
		r, err := ParseReceipt(DecodeReceiptText(coding, data, opts))
		if err != nil {
			rep.Problems = append(rep.Problems, err)
		}
		rep.Receipt = r
		rep.MessageID = r.ID
		rep.State = r.State
	}

	// The TLVs are the spec's own fields, so they win over the text.
	if id, err := tlvs.ReceiptedMessageID(); err == nil && id != "" {
		rep.MessageID = id
	} else if err != nil && !errors.Is(err, ErrTLVNotFound) {
		rep.Problems = append(rep.Problems, err)
	}
	if state, err := tlvs.MessageState(); err == nil && state.Valid() {
		rep.State = state
	} else if err == nil {
		rep.Problems = append(rep.Problems, fmt.Errorf("%w: message_state %d is not an SMPP 3.4 state",
			ErrInvalidTLV, uint8(state)))
	} else if !errors.Is(err, ErrTLVNotFound) {
		rep.Problems = append(rep.Problems, err)
	}
	if code, err := tlvs.NetworkErrorCode(); err == nil {
		rep.NetworkError, rep.HasNetworkError = code, true
	} else if !errors.Is(err, ErrTLVNotFound) {
		rep.Problems = append(rep.Problems, err)
	}

	if rep.MessageID == "" || !rep.State.Valid() {
		return rep, fmt.Errorf("%w: no message id or state in the text or TLVs (%w)",
			ErrInvalidReceipt, errors.Join(rep.Problems...))
	}
	return rep, nil
}
