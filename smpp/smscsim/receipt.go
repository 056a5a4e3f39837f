package smscsim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// ErrNoReceiver means no ESME is bound as receiver or transceiver with the
// system_id a deliver_sm is for.
var ErrNoReceiver = errors.New("smscsim: no receiver or transceiver bound")

// receiptTextLen is the length of the text field of a receipt: the first
// 20 characters of the message (SMPP 3.4 appendix B).
const receiptTextLen = 20

// receipt is a delivery receipt to send for one accepted message, with
// the settings in force when it was accepted.
type receipt struct {
	systemID  string
	id        string    // the id as the receipt writes it
	sources   []address // the message's destinations, which the receipt comes from
	dest      address   // the message's source, which the receipt goes to
	state     smpp.MessageState
	errField  string
	coding    smpp.DataCoding
	noTLVs    bool
	delay     time.Duration
	first     bool
	submitted time.Time
	text      string

	networkError    smpp.NetworkErrorCode
	hasNetworkError bool
}

// newReceipt builds the receipt of an accepted message from the behaviour
// and the rule that matched it, if any.
func (sim *Simulator) newReceipt(sub *submission, id uint64, b Behaviour, act *ruleAction) *receipt {
	r := &receipt{
		systemID:  sub.msg.SystemID,
		id:        b.ReceiptIDFormat.Format(id),
		sources:   sub.dests,
		dest:      sub.src,
		state:     b.ReceiptState,
		errField:  b.ReceiptErr,
		noTLVs:    b.ReceiptNoTLVs,
		delay:     b.ReceiptDelay,
		first:     b.ReceiptFirst,
		submitted: sub.msg.Time,
		text:      receiptText(sub.msg.Text),
	}
	nec := b.NetworkErrorCode
	if act != nil {
		if act.rule.ReceiptState != 0 {
			r.state = act.rule.ReceiptState
		}
		if act.rule.NetworkErrorCode != nil {
			nec = act.rule.NetworkErrorCode
		}
	}
	if nec != nil {
		r.networkError, r.hasNetworkError = *nec, true
	}
	if r.errField == "" {
		r.errField = "000"
		if r.state != smpp.StateDelivered {
			r.errField = "001"
		}
	}
	if b.ReceiptCopyDataCoding {
		r.coding = sub.msg.DataCoding
	}
	return r
}

// wanted reports whether registered_delivery requests this receipt (SMPP
// 3.4 section 5.2.17): always, or on failure only when the message was
// not delivered. The reserved value 3 requests none.
func (r *receipt) wanted(registered uint8) bool {
	switch registered & smpp.RegisteredDeliveryReceiptMask {
	case smpp.RegisteredDeliveryReceiptAlways:
		return true
	case smpp.RegisteredDeliveryReceiptFailure:
		return r.state != smpp.StateDelivered
	}
	return false
}

// receiptText returns the first characters of a message for the text
// field. Characters that are not the same in ASCII and in the GSM 03.38
// alphabet become '?', so the receipt reads alike in both.
func receiptText(text string) string {
	var b strings.Builder
	n := 0
	for _, r := range text {
		if n == receiptTextLen {
			break
		}
		n++
		switch {
		case r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
			b.WriteRune(r)
		case r >= ' ' && r <= '?' && r != '$':
			b.WriteRune(r)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// deliverSM builds the receipt deliver_sm for one destination of the
// message.
func (r *receipt) deliverSM(from address, done time.Time) *smpp.DeliverSM {
	delivered := "000"
	if r.state == smpp.StateDelivered {
		delivered = "001"
	}
	text := smpp.Receipt{
		ID:         r.id,
		Submitted:  "001",
		Delivered:  delivered,
		SubmitDate: r.submitted.UTC().Truncate(time.Second),
		DoneDate:   done.UTC().Truncate(time.Second),
		State:      r.state,
		Err:        r.errField,
		Text:       r.text,
	}.String()
	d := &smpp.DeliverSM{
		SourceAddrTON:   from.TON,
		SourceAddrNPI:   from.NPI,
		SourceAddr:      from.Addr,
		DestAddrTON:     r.dest.TON,
		DestAddrNPI:     r.dest.NPI,
		DestinationAddr: r.dest.Addr,
		ESMClass:        smpp.ESMClassDeliveryReceipt,
		DataCoding:      r.coding,
		ShortMessage:    []byte(text),
	}
	if !r.noTLVs {
		d.TLVs.SetReceiptedMessageID(r.id)
		d.TLVs.SetMessageState(r.state)
	}
	if r.hasNetworkError {
		d.TLVs.SetNetworkErrorCode(r.networkError)
	}
	return d
}

// sendReceiptFor sends the receipt of an accepted submit: at once when it
// goes before the response, else once the response is written and the
// receipt delay has passed.
func (sim *Simulator) sendReceiptFor(ctx context.Context, sub *submission, r *receipt) {
	if r.first {
		sim.deliverReceipt(ctx, r, sub.sess)
		return
	}
	later := func() {
		if r.delay > 0 && !sim.sleep(sim.ctx, r.delay) {
			return
		}
		sim.deliverReceipt(sim.ctx, r, sub.sess)
	}
	c := sim.connOf(sub.sess)
	if c == nil || !c.afterResponse(sub.req.PDUHeader().SequenceNumber, later) {
		sim.goTracked(later)
	}
}

// deliverReceipt sends the receipt for each destination of the message to
// a receiver bound with the submitter's system_id, preferring the session
// that submitted it. A receipt that finds no receiver or gets an error
// status is tried again Config.ReceiptRetries times.
func (sim *Simulator) deliverReceipt(ctx context.Context, r *receipt, prefer *smpp.ServerSession) {
	for _, from := range r.sources {
		var err error
		for attempt := 0; attempt <= sim.cfg.ReceiptRetries; attempt++ {
			if attempt > 0 && !sim.sleep(ctx, sim.cfg.ReceiptRetryDelay) {
				return
			}
			err = sim.deliverReceiptOnce(ctx, r, from, prefer)
			if err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			sim.log.Warn("receipt not delivered",
				zap.String("system_id", r.systemID), zap.String("message_id", r.id), zap.Error(err))
		}
	}
}

func (sim *Simulator) deliverReceiptOnce(ctx context.Context, r *receipt, from address,
	prefer *smpp.ServerSession) error {
	ss := sim.receiver(r.systemID, prefer)
	if ss == nil {
		return noReceiver(r.systemID)
	}
	_, err := ss.Deliver(ctx, r.deliverSM(from, time.Now()))
	if err != nil {
		return err
	}
	sim.log.Debug("receipt delivered",
		zap.String("system_id", r.systemID), zap.String("message_id", r.id),
		zap.Stringer("state", r.state), zap.String("destination", r.dest.Addr))
	return nil
}

// receiver returns a session bound with systemID that can receive
// deliver_sm: prefer when it can, else the next in turn. An empty systemID
// takes any. It returns nil when there is none.
func (sim *Simulator) receiver(systemID string, prefer *smpp.ServerSession) *smpp.ServerSession {
	if prefer != nil && canReceive(prefer) && (systemID == "" || prefer.SystemID() == systemID) {
		return prefer
	}
	var found []*smpp.ServerSession
	for _, ss := range sim.srv.Sessions() {
		if canReceive(ss) && (systemID == "" || ss.SystemID() == systemID) {
			found = append(found, ss)
		}
	}
	if len(found) == 0 {
		return nil
	}
	sim.mu.Lock()
	sim.turn++
	i := sim.turn % uint64(len(found))
	sim.mu.Unlock()
	return found[i]
}

// noReceiver returns ErrNoReceiver with the system_id asked for.
func noReceiver(systemID string) error {
	if systemID == "" {
		return fmt.Errorf("%w with any system_id", ErrNoReceiver)
	}
	return fmt.Errorf("%w with system_id %q", ErrNoReceiver, systemID)
}

func canReceive(ss *smpp.ServerSession) bool {
	st := ss.State()
	return st == smpp.SessionBoundRX || st == smpp.SessionBoundTRX
}
