package gateway

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/optgate/optgate/smpp"
)

// Vendor-specific TLVs that optgate adds to the deliver_sm of an MO text
// sent to a business. SMPP 3.4 section 5.3.2 leaves tags 0x1400-0x3FFF to
// SMSC vendors; ESMEs that do not know them skip them.
const (
	// TagMOID is optgate's id of the MO text, a C-octet string.
	TagMOID smpp.Tag = 0x1400
	// TagConsentKeyword is the consent keyword the text is, a C-octet
	// string: opt_out, opt_in, resume or help. It is absent for an
	// ordinary text. optgate has already replied to the subscriber, so the
	// business must not reply to a keyword itself.
	TagConsentKeyword smpp.Tag = 0x1401
	// TagConsentOutcome is what the keyword did to the consent record, a
	// C-octet string such as opted_out, or none when it changed nothing.
	TagConsentOutcome smpp.Tag = 0x1402
	// TagMOFlags holds MOFlag bits, one octet. It is absent when no bit
	// is set. A delivery receipt carries it too when it is a possible
	// resend, with MOFlagPossibleResend as its only bit.
	TagMOFlags smpp.Tag = 0x1403
)

// Bits of TagMOFlags.
const (
	// MOFlagFreeText: the keyword was found with other words around it,
	// such as "Stop. Thank you", or the text is a revocation phrase.
	MOFlagFreeText = 0x01
	// MOFlagPartial: segments of a long text never arrived; the text holds
	// those that did, and it was not read for keywords.
	MOFlagPartial = 0x02
	// MOFlagUndecodable: optgate cannot decode the data_coding, so the
	// octets are passed on as they came.
	MOFlagUndecodable = 0x04
	// MOFlagPossibleResend: optgate may have delivered this deliver_sm
	// before, because an earlier attempt failed or got no response, or
	// because the item was queued when optgate started. A business that
	// saw the MO id (TagMOID) of an MO text, or the receipted_message_id
	// and message_state of a receipt, before drops this one. The bit may
	// be set on a first delivery. A repeat goes without it only when the
	// store lost the writes that recorded the earlier delivery, such as
	// on a Redis failover to a replica that had not received them.
	MOFlagPossibleResend = 0x08
)

// Target implements Targets for accounts whose delivery type is smpp: the
// Deliverer sends each queued MO text or receipt as a deliver_sm to one of
// the account's receiver or transceiver sessions, taken round robin.
//
// An MO text travels in the smallest encoding that holds it, the GSM 03.38
// default alphabet (data_coding 0) or UCS2 (data_coding 8), in
// short_message, or in message_payload when it exceeds the 254 octets of
// short_message. A receipt has esm_class 0x04, the SMPP 3.4 appendix B text
// with optgate's message id, and the receipted_message_id and
// message_state TLVs (SMPP 3.4 sections 5.3.2.12 and 5.3.2.35), and
// TagMOFlags when it is a possible resend. Its
// source_addr is the subscriber, and its destination_addr the toll-free
// sender of the original message. user_message_reference echoes the one of
// the business's submit_sm.
//
// TODO: a receipt that arrived before the id mapping is queued as soon as
// the mapping is written, so it can reach the business a moment before the
// submit_sm_resp of the same message. Holding it until that response is
// written needs the message id before the mapping is stored.
//
// The Deliverer is a WindowDeliverer: it keeps up to the sum of the bound
// sessions' windows in flight, sending each item to the next session round
// robin. With no session bound the Deliverer reports ErrTargetUnavailable,
// and the queue waits until the account binds. A response of ESME_RX_P_APPN
// or ESME_RX_R_APPN is permanent; any other failure is retried.
func (e *ESMEServer) Target(account string) (Deliverer, bool) {
	return esmeDeliverer{e: e, account: account}, true
}

// esmeDeliverer delivers the queue of one account to its sessions.
type esmeDeliverer struct {
	e       *ESMEServer
	account string
}

// Deliver implements Deliverer.
func (d esmeDeliverer) Deliver(ctx context.Context, item Item) error {
	wait, err := d.Send(ctx, item)
	if err != nil {
		return err
	}
	return wait()
}

// Window implements WindowDeliverer.
func (d esmeDeliverer) Window() int {
	n := 0
	for _, s := range d.e.receivers(d.account) {
		n += s.WindowSize()
	}
	return n
}

// Send implements WindowDeliverer.
func (d esmeDeliverer) Send(ctx context.Context, item Item) (func() error, error) {
	pdu, err := deliverPDU(item)
	if err != nil {
		return nil, Permanent(fmt.Errorf("item %d of %s: %w", item.Seq, d.account, err))
	}
	sessions := d.e.receivers(d.account)
	if len(sessions) == 0 {
		return nil, d.e.noSession(d.account)
	}
	s := sessions[int(d.e.next.Add(1)%uint32(len(sessions)))]
	pending, err := s.Send(ctx, pdu)
	if err != nil {
		return nil, deliverError(s, item, err)
	}
	return func() error {
		resp, err := pending.Wait(ctx)
		if err == nil {
			// Wait reports only transport failures; the ESME's verdict
			// is the response's command_status.
			err = smpp.CheckStatus(resp)
		}
		return deliverError(s, item, err)
	}, nil
}

// deliverError classifies the outcome of a deliver_sm to session s.
func deliverError(s *smpp.ServerSession, item Item, err error) error {
	var st *smpp.StatusError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &st) && (st.Status == smpp.StatusPermAppError || st.Status == smpp.StatusRejectAppError):
		return Permanent(fmt.Errorf("system_id %s rejected %v: %w", s.SystemID(), item.Kind, err))
	case errors.Is(err, smpp.ErrNotBound):
		return fmt.Errorf("system_id %s: %w: %w", s.SystemID(), ErrTargetUnavailable, err)
	}
	return fmt.Errorf("deliver %v to system_id %s: %w", item.Kind, s.SystemID(), err)
}

// deliverPDU builds the deliver_sm of a queued item.
func deliverPDU(item Item) (*smpp.DeliverSM, error) {
	switch {
	case item.Kind == KindMO && item.MO != nil:
		return moDeliverSM(item.MO, item.PossibleResend)
	case item.Kind == KindReceipt && item.Receipt != nil:
		return receiptDeliverSM(item.Receipt, item), nil
	}
	return nil, fmt.Errorf("a %v item cannot go to a business", item.Kind)
}

// e164Address returns an E.164 number as SMPP address fields: TON
// international and NPI ISDN (SMPP 3.4 sections 5.2.5 and 5.2.6), digits
// without the plus.
func e164Address(n string) (smpp.TON, smpp.NPI, string) {
	return smpp.TONInternational, smpp.NPIISDN, strings.TrimPrefix(n, "+")
}

func moDeliverSM(mo *MOItem, possibleResend bool) (*smpp.DeliverSM, error) {
	d := &smpp.DeliverSM{}
	d.SourceAddrTON, d.SourceAddrNPI, d.SourceAddr = e164Address(mo.From)
	d.DestAddrTON, d.DestAddrNPI, d.DestinationAddr = e164Address(mo.To)
	data := mo.Data
	if mo.Undecodable {
		d.DataCoding = mo.DataCoding
	} else {
		_, d.DataCoding = smpp.CountSegments(mo.Text)
		var err error
		if data, err = smpp.EncodeText(mo.Text, d.DataCoding, smpp.TextOptions{}); err != nil {
			return nil, fmt.Errorf("encode mo %s: %w", mo.ID, err)
		}
	}
	if len(data) > maxShortMessage {
		d.TLVs.SetMessagePayload(data)
	} else {
		d.ShortMessage = data
	}

	d.TLVs.SetCString(TagMOID, mo.ID)
	if mo.Keyword != "" {
		d.TLVs.SetCString(TagConsentKeyword, mo.Keyword)
		d.TLVs.SetCString(TagConsentOutcome, mo.Outcome)
	}
	var flags uint8
	if mo.FreeText {
		flags |= MOFlagFreeText
	}
	if mo.Partial {
		flags |= MOFlagPartial
	}
	if mo.Undecodable {
		flags |= MOFlagUndecodable
	}
	if possibleResend {
		flags |= MOFlagPossibleResend
	}
	if flags != 0 {
		d.TLVs.SetUint8(TagMOFlags, flags)
	}
	return d, nil
}

func receiptDeliverSM(r *ReceiptItem, item Item) *smpp.DeliverSM {
	d := &smpp.DeliverSM{ESMClass: smpp.ESMClassDeliveryReceipt}
	d.SourceAddrTON, d.SourceAddrNPI, d.SourceAddr = e164Address(r.To)
	d.DestAddrTON, d.DestAddrNPI, d.DestinationAddr = e164Address(r.From)

	text := smpp.Receipt{
		ID:         r.MessageID,
		Submitted:  "001",
		Delivered:  "000",
		SubmitDate: r.SubmitDate,
		DoneDate:   r.DoneDate,
		State:      r.State,
		Stat:       r.Stat,
		Err:        r.Err,
	}
	if r.State == smpp.StateDelivered {
		text.Delivered = "001"
	}
	if text.DoneDate.IsZero() {
		text.DoneDate = item.Enqueued
	}
	if text.Err == "" {
		text.Err = "000"
	}
	d.ShortMessage = []byte(text.String())

	d.TLVs.SetReceiptedMessageID(r.MessageID)
	d.TLVs.SetMessageState(r.State)
	if r.NetworkError != nil {
		d.TLVs.SetNetworkErrorCode(*r.NetworkError)
	}
	if ref, err := strconv.ParseUint(r.ClientRef, 10, 16); err == nil {
		d.TLVs.SetUserMessageReference(uint16(ref))
	}
	if item.PossibleResend {
		d.TLVs.SetUint8(TagMOFlags, MOFlagPossibleResend)
	}
	return d
}
