package smpp

import (
	"errors"
	"fmt"
)

// ValidationError is a PDU that decoded but breaks a rule that spans
// several fields. Status is the command_status to respond with.
type ValidationError struct {
	CommandID      CommandID
	SequenceNumber uint32
	// Field is the SMPP 3.4 name of the field or TLV at fault.
	Field  string
	Status CommandStatus
	Err    error
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("smpp: invalid %v seq %d: %s: %s (%v)", e.CommandID, e.SequenceNumber,
		e.Field, trimPrefix(e.Err), e.Status)
}

// Unwrap returns the cause.
func (e *ValidationError) Unwrap() error { return e.Err }

// Validate checks the rules the decoder leaves to the receiver because they
// span fields, and returns a *ValidationError for the first one broken:
//
//   - submit_sm, deliver_sm and submit_multi must not carry both a
//     non-empty short_message and a message_payload TLV (SMPP 3.4 section
//     5.3.2.32): status ESME_RINVPARLEN, cause ErrPayloadConflict.
//   - sar_msg_ref_num, sar_total_segments and sar_segment_seqnum come
//     together or not at all, with 1 <= seqnum <= total (sections 5.3.2.22
//     to 5.3.2.24): status ESME_RMISSINGOPTPARAM or ESME_RINVOPTPARAMVAL.
//   - submit_multi has at least one destination: status ESME_RINVNUMDESTS.
//
// Validate does not check TLV lengths, so that a receiver can still use a
// PDU with one malformed optional parameter; TLVs.Validate does that.
func Validate(p PDU) error {
	h := p.PDUHeader()
	fail := func(field string, status CommandStatus, err error) error {
		return &ValidationError{
			CommandID:      p.CommandID(),
			SequenceNumber: h.SequenceNumber,
			Field:          field,
			Status:         status,
			Err:            err,
		}
	}

	var msg []byte
	switch v := p.(type) {
	case *SubmitSM:
		msg = v.ShortMessage
	case *DeliverSM:
		msg = v.ShortMessage
	case *SubmitMulti:
		msg = v.ShortMessage
		if len(v.DestAddresses) == 0 {
			return fail("number_of_dests", StatusInvalidNumDests,
				fmt.Errorf("%w: no destinations", ErrInvalidField))
		}
	}
	tlvs := *p.optional()
	if len(msg) > 0 && tlvs.Has(TagMessagePayload) {
		return fail("message_payload", StatusInvalidTLVLength, ErrPayloadConflict)
	}
	if err := checkSAR(tlvs); err != nil {
		var missing *missingTLVError
		if errors.As(err, &missing) {
			return fail(missing.tag.String(), StatusMissingTLV, err)
		}
		return fail("sar_segment_seqnum", StatusInvalidTLVValue, err)
	}
	return nil
}

type missingTLVError struct{ tag Tag }

func (e *missingTLVError) Error() string { return fmt.Sprintf("smpp: %v missing", e.tag) }
func (e *missingTLVError) Unwrap() error { return ErrTLVNotFound }

func checkSAR(ts TLVs) error {
	tags := [...]Tag{TagSARMsgRefNum, TagSARTotalSegments, TagSARSegmentSeqnum}
	present := 0
	for _, tag := range tags {
		if ts.Has(tag) {
			present++
		}
	}
	if present == 0 {
		return nil
	}
	for _, tag := range tags {
		if !ts.Has(tag) {
			return &missingTLVError{tag: tag}
		}
	}
	sar, err := ts.SAR()
	if err != nil {
		return err
	}
	if sar.SegmentSeqnum == 0 || sar.SegmentSeqnum > sar.TotalSegments {
		return fmt.Errorf("%w: segment %d of %d", ErrInvalidTLV, sar.SegmentSeqnum, sar.TotalSegments)
	}
	return nil
}

// StatusOf returns the command_status that reports err to a peer: the Status of a
// *DecodeError, *EncodeError, *ValidationError or *StatusError in err's
// chain, StatusOK for a nil error, and StatusSystemError otherwise.
func StatusOf(err error) CommandStatus {
	if err == nil {
		return StatusOK
	}
	var de *DecodeError
	if errors.As(err, &de) {
		return de.Status
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Status
	}
	var ee *EncodeError
	if errors.As(err, &ee) {
		return ee.Status
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return StatusSystemError
}
