package gateway

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/smpp"
)

// ReceiptConfig holds the dependencies of a ReceiptService.
type ReceiptConfig struct {
	Router *Router
	Store  Store
	// Notify receives the name of each queue that got items. Default: no
	// notification.
	Notify  func(queue string)
	Metrics *Metrics
	// Logger gets receipts that cannot be parsed or stored. Default
	// zap.NewNop().
	Logger *zap.Logger
	// KeepUnmatched is how long a receipt without an id mapping is kept,
	// waiting for the mapping: a receipt may arrive before optgate has
	// written the mapping of its submit_sm_resp. Default 10m.
	KeepUnmatched time.Duration
	// KeepAfterFinal is how long a record is kept once it is settled
	// (MessageRecord.Settled): long enough for late duplicate receipts to
	// match and for GET /v1/messages/{id}. Default DefaultKeepAfterFinal.
	KeepAfterFinal time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// ReceiptService correlates carrier delivery receipts with optgate's
// message ids and queues them for the business. It is safe for concurrent
// use.
type ReceiptService struct {
	cfg     ReceiptConfig
	log     *zap.Logger
	invalid logLimiter
}

// NewReceiptService checks the dependencies and fills the defaults.
func NewReceiptService(cfg ReceiptConfig) (*ReceiptService, error) {
	if cfg.Router == nil || cfg.Store == nil {
		return nil, errors.New("receipt service: router and store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.KeepUnmatched <= 0 {
		cfg.KeepUnmatched = 10 * time.Minute
	}
	if cfg.KeepAfterFinal <= 0 {
		cfg.KeepAfterFinal = DefaultKeepAfterFinal
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	return &ReceiptService{cfg: cfg, log: cfg.Logger}, nil
}

// incoming is the part of a deliver_sm or data_sm a receipt is read from.
type incoming struct {
	coding smpp.DataCoding
	data   []byte
	tlvs   smpp.TLVs
}

// parsedReceipt is a receipt with every id it names, TLV first.
type parsedReceipt struct {
	CarrierReceipt
	ids []string
}

// parseReceipt reads a receipt from its text (SMPP 3.4 appendix B) and the
// receipted_message_id, message_state and network_error_code TLVs (SMPP
// 3.4 sections 5.3.2.12, 5.3.2.35 and 5.3.2.31). The TLVs win where both
// are present, because SMPP 3.4 defines them exactly. The text is read as
// ASCII whatever the data_coding value, since SMSCs copy the data_coding of the
// original message into receipts. It returns the problems that did not
// stop parsing, such as a network_error_code that is not 3 octets.
func parseReceipt(c *Carrier, in incoming, now time.Time) (parsedReceipt, []string, error) {
	var notes []string
	r := parsedReceipt{CarrierReceipt: CarrierReceipt{Carrier: c.Name, Received: now}}

	text, textErr := smpp.ParseReceiptData(in.coding, in.data, c.Text)
	if textErr == nil {
		r.ID, r.State, r.Stat, r.Err = text.ID, text.State, text.Stat, text.Err
		r.SubmitDate, r.DoneDate = text.SubmitDate, text.DoneDate
	}
	if id, err := in.tlvs.ReceiptedMessageID(); err == nil && id != "" {
		r.ids = append(r.ids, id)
		r.ID = id
	}
	if text.ID != "" && !slices.Contains(r.ids, text.ID) {
		r.ids = append(r.ids, text.ID)
	}

	if st, err := in.tlvs.MessageState(); err == nil && st.Valid() {
		r.State = st
	}
	nec, err := in.tlvs.NetworkErrorCode()
	switch {
	case err == nil:
		r.NetworkError = &nec
		if r.Err == "" {
			r.Err = fmt.Sprintf("%03d", nec.ErrorCode)
		}
	case errors.Is(err, smpp.ErrInvalidTLV):
		notes = append(notes, err.Error())
	}

	if len(r.ids) == 0 {
		return parsedReceipt{}, notes, fmt.Errorf("receipt has no message id: %w", errors.Join(smpp.ErrInvalidReceipt, textErr))
	}
	if r.State == 0 {
		return parsedReceipt{}, notes, fmt.Errorf("receipt for %s has no state: %w", r.ID, errors.Join(smpp.ErrInvalidReceipt, textErr))
	}
	if r.Stat == "" || r.State != text.State {
		r.Stat = r.State.String()
	}
	return r, notes, nil
}

// handle correlates one receipt and returns the deliver_sm_resp status.
// The receipt is acknowledged once it is durable: queued for the business,
// or kept as unmatched. An unparsable receipt is acknowledged and dropped,
// because a carrier would redeliver it forever.
func (s *ReceiptService) handle(ctx context.Context, carrierName string, in incoming) smpp.CommandStatus {
	carrier, ok := s.cfg.Router.Carrier(carrierName)
	if !ok {
		carrier = &Carrier{Name: carrierName}
	}
	now := s.cfg.Now()
	r, notes, err := parseReceipt(carrier, in, now)
	if len(notes) > 0 && s.invalid.allow() {
		s.log.Warn("receipt field ignored", zap.String("carrier", carrierName), zap.Strings("problems", notes))
	}
	if err != nil {
		s.cfg.Metrics.message(dirReceipt, outcomeInvalid, "")
		if s.invalid.allow() {
			s.log.Warn("receipt dropped", zap.String("carrier", carrierName), zap.Error(err))
		}
		return DeliverOK
	}

	var keys []string
	for _, id := range r.ids {
		for _, k := range carrier.IDs.lookupKeys(id) {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	items, err := s.cfg.Store.ApplyReceipt(ctx, keys, r.CarrierReceipt, now.Add(s.cfg.KeepUnmatched), s.apply)
	switch {
	case err == nil:
		s.cfg.Metrics.message(dirReceipt, outcomeMatched, "")
		notifyQueues(s.cfg.Notify, items)
		return DeliverOK
	case errors.Is(err, ErrNotFound):
		s.cfg.Metrics.message(dirReceipt, outcomeUnmatched, "")
		if ce := s.log.Check(zap.DebugLevel, "receipt kept until its id mapping appears"); ce != nil {
			ce.Write(zap.String("carrier", carrierName), zap.String("carrier_id", r.ID))
		}
		return DeliverOK
	}
	s.cfg.Metrics.message(dirReceipt, outcomeFailed, storeFailureCode(err))
	s.log.Error("receipt not stored, asking the carrier to redeliver",
		zap.String("carrier", carrierName),
		zap.String("carrier_id", r.ID),
		zap.Error(err))
	return DeliverTemporaryFailure
}

// apply is the ReceiptFunc of the service: it records the receipt on its
// segment and returns the business's receipt when the account's policy can
// decide. A segment that already had a final receipt keeps it. A message
// that failed part way records its receipts for the status lookup but
// yields nothing, and so do receipts the business did not ask for. Once
// the record is settled, its expiry moves to KeepAfterFinal from now.
func (s *ReceiptService) apply(rec *MessageRecord, segment int, r CarrierReceipt) []Item {
	seg := &rec.Segments[segment]
	if seg.State.Final() {
		return nil
	}
	seg.State = r.State
	latest := r
	seg.Receipt = &latest
	shortenSettled(rec, s.cfg.Now(), s.cfg.KeepAfterFinal)
	if rec.Failed {
		return nil
	}

	report, number := decideReceipt(rec, segment, r)
	if report == nil || !wantsReceipt(rec.RegisteredDelivery, report.State) {
		return nil
	}
	return []Item{{
		Queue:    rec.Account,
		Kind:     KindReceipt,
		Enqueued: s.cfg.Now(),
		Receipt: &ReceiptItem{
			MessageID:    rec.ID,
			From:         rec.From,
			To:           rec.To,
			State:        report.State,
			Stat:         report.State.String(),
			Err:          report.Err,
			NetworkError: report.NetworkError,
			Segment:      number,
			Segments:     rec.Total,
			SubmitDate:   report.SubmitDate,
			DoneDate:     report.DoneDate,
			ClientRef:    rec.ClientRef,
		},
	}}
}

// decideReceipt applies the receipt policy to the receipt just recorded on
// segment. It returns the receipt to report, if any, and its segment
// number (0 when it stands for the whole message).
func decideReceipt(rec *MessageRecord, segment int, r CarrierReceipt) (*CarrierReceipt, int) {
	if rec.Total <= 1 {
		return &r, 0
	}
	switch rec.Policy {
	case ReceiptAll:
		return &r, segment + 1
	case ReceiptFirst:
		if segment == 0 {
			return &r, 0
		}
	case ReceiptLast:
		if segment == rec.Total-1 {
			return &r, 0
		}
	case ReceiptWorst:
		if rec.Reported || !r.State.Final() {
			return nil, 0
		}
		if r.State != smpp.StateDelivered {
			rec.Reported = true
			return &r, 0
		}
		if len(rec.Segments) < rec.Total {
			return nil, 0
		}
		for _, seg := range rec.Segments {
			if seg.State != smpp.StateDelivered {
				return nil, 0
			}
		}
		rec.Reported = true
		return &r, 0
	}
	return nil, 0
}

// wantsReceipt reports whether registered_delivery (SMPP 3.4 section
// 5.2.17) requests a receipt in this state: final states when bits 1-0 are
// 01, final failures when they are 10, and intermediate states only with
// bit 4.
func wantsReceipt(registered uint8, state smpp.MessageState) bool {
	if !state.Final() {
		return registered&smpp.RegisteredDeliveryIntermediate != 0
	}
	switch registered & smpp.RegisteredDeliveryReceiptMask {
	case smpp.RegisteredDeliveryReceiptAlways:
		return true
	case smpp.RegisteredDeliveryReceiptFailure:
		return state != smpp.StateDelivered
	}
	return false
}

// expired logs and counts the receipts that never found their mapping.
// It logs each one once, at most maxExpiredLogs per sweep, and a count of
// the rest.
func (s *ReceiptService) expired(receipts []CarrierReceipt) {
	const maxExpiredLogs = 20
	for i, r := range receipts {
		s.cfg.Metrics.receiptExpired(r.Carrier)
		if i < maxExpiredLogs {
			s.log.Warn("receipt matched no message before its retention ended",
				zap.String("carrier", r.Carrier),
				zap.String("carrier_id", r.ID),
				zap.Stringer("state", r.State),
				zap.Duration("kept", s.cfg.KeepUnmatched))
		}
	}
	if n := len(receipts) - maxExpiredLogs; n > 0 {
		s.log.Warn("more receipts matched no message", zap.Int("count", n))
	}
}

// keptReceiptSlack is how much earlier than a message's submit time a
// kept receipt may have been received and still be applied to it.
// MessageRecord.Submitted is taken before the first submit_sm is sent, so
// a receipt for the message cannot come first. The slack covers a small
// step of the clock.
const keptReceiptSlack = time.Second

// staleKeptReceipt reports whether r, kept unmatched, was received well
// before rec was submitted. Such a receipt belongs to an older message
// with the same carrier id, for example one whose submit timed out before
// the carrier restarted and began its ids again, so it must not be
// applied to rec.
//
// TODO: the stores drop a stale receipt with its entry instead of leaving
// it to expire, so it is not counted in receipts_unmatched_total.
func staleKeptReceipt(rec *MessageRecord, r CarrierReceipt) bool {
	if r.Received.IsZero() || rec.Submitted.IsZero() {
		return false
	}
	return r.Received.Before(rec.Submitted.Add(-keptReceiptSlack))
}
