package gateway

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// MOConfig holds the dependencies of an MOService.
type MOConfig struct {
	Registry *Registry
	Router   *Router
	Engine   *consent.Engine
	Store    Store
	Receipts *ReceiptService
	// Notify receives the name of each queue that got items. Default: no
	// notification.
	Notify  func(queue string)
	Metrics *Metrics
	// Logger gets per-message debug logs and failures. Default zap.NewNop().
	Logger *zap.Logger
	// MaskNumbers masks subscriber numbers in logs. Default false.
	MaskNumbers bool
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// MOService takes what carriers deliver: subscriber texts (MO) and
// delivery receipts. It is safe for concurrent use.
type MOService struct {
	cfg      MOConfig
	log      *zap.Logger
	mask     func(string) string
	rejected logLimiter
}

// NewMOService checks the dependencies and fills the defaults.
func NewMOService(cfg MOConfig) (*MOService, error) {
	if cfg.Registry == nil || cfg.Router == nil || cfg.Engine == nil || cfg.Store == nil || cfg.Receipts == nil {
		return nil, errors.New("mo service: registry, router, engine, store and receipts are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	return &MOService{cfg: cfg, log: cfg.Logger, mask: numberMasker(cfg.MaskNumbers)}, nil
}

// delivered is the part of a deliver_sm or data_sm the MO path reads.
type delivered struct {
	source, destination string
	sourceTON, destTON  smpp.TON
	sourceNPI, destNPI  smpp.NPI
	esmClass            uint8
	in                  incoming
}

// receiptTypes are the esm_class message types (SMPP 3.4 section 5.2.12)
// that report on an earlier message rather than carry a subscriber's
// text: SMSC delivery receipt, SME delivery and manual acknowledgement,
// and intermediate delivery notification.
func isReceiptType(esm uint8) bool {
	switch esm & smpp.ESMClassMessageTypeMask {
	case smpp.ESMClassDeliveryReceipt, smpp.ESMClassDeliveryAck, smpp.ESMClassManualAck,
		smpp.ESMClassIntermediateNotify:
		return true
	}
	return false
}

// HandleDeliver takes a deliver_sm or data_sm from a carrier and returns
// the command_status to respond with. The carrier link responds only
// after HandleDeliver returns.
//
// A receipt goes to the receipt service. An MO is acknowledged with
// ESME_ROK only once it is durable: a segment of a longer text once it is
// stored, and a whole text once the consent change, the business's queue
// entry and the engine's reply are stored. A store failure answers
// ESME_RX_T_APPN, so the carrier redelivers. A text to a toll-free number
// no account owns answers ESME_RINVDSTADR. The Deliver* constants list
// every status.
func (s *MOService) HandleDeliver(ctx context.Context, carrier string, pdu smpp.PDU) smpp.CommandStatus {
	var d delivered
	var short []byte
	switch p := pdu.(type) {
	case *smpp.DeliverSM:
		d = delivered{source: p.SourceAddr, sourceTON: p.SourceAddrTON, sourceNPI: p.SourceAddrNPI,
			destination: p.DestinationAddr, destTON: p.DestAddrTON, destNPI: p.DestAddrNPI,
			esmClass: p.ESMClass, in: incoming{coding: p.DataCoding, tlvs: p.TLVs}}
		short = p.ShortMessage
	case *smpp.DataSM:
		d = delivered{source: p.SourceAddr, sourceTON: p.SourceAddrTON, sourceNPI: p.SourceAddrNPI,
			destination: p.DestinationAddr, destTON: p.DestAddrTON, destNPI: p.DestAddrNPI,
			esmClass: p.ESMClass, in: incoming{coding: p.DataCoding, tlvs: p.TLVs}}
	default:
		return smpp.StatusInvalidCommandID
	}
	payload, hasPayload := d.in.tlvs.Get(smpp.TagMessagePayload)
	if hasPayload && len(short) > 0 {
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeInvalidMessage)
		return DeliverPayloadConflict
	}
	d.in.data = short
	if hasPayload {
		d.in.data = payload
	}
	if isReceiptType(d.esmClass) {
		return s.cfg.Receipts.handle(ctx, carrier, d.in)
	}
	return s.handleMO(ctx, carrier, d)
}

// moText is a decoded MO, whole or reassembled.
type moText struct {
	text        string
	undecodable bool
	coding      smpp.DataCoding
	data        []byte
	segments    int
	finished    []smpp.PartKey
}

func (s *MOService) handleMO(ctx context.Context, carrierName string, d delivered) smpp.CommandStatus {
	carrier, ok := s.cfg.Router.Carrier(carrierName)
	if !ok {
		carrier = &Carrier{Name: carrierName, Region: "US"}
	}
	to, err := consent.NormalizeNumber(d.destination, uint8(d.destTON), uint8(d.destNPI), carrier.Region)
	var acct *consent.Account
	if err == nil {
		acct, ok = s.cfg.Registry.AccountByTollFree(to)
	}
	if err != nil || !ok {
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeUnknownDestination)
		if s.rejected.allow() {
			s.log.Info("mo to a number no account owns",
				zap.String("carrier", carrierName),
				zap.String("destination", d.destination))
		}
		return DeliverUnknownDestination
	}
	from, err := consent.NormalizeNumber(d.source, uint8(d.sourceTON), uint8(d.sourceNPI), carrier.Region)
	if err != nil {
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeInvalidNumber)
		if s.rejected.allow() {
			s.log.Info("mo from an address that is not a phone number",
				zap.String("carrier", carrierName),
				zap.String("to", to),
				zap.Error(err))
		}
		return DeliverInvalidSource
	}

	msg, status := s.assemble(ctx, carrier, d, from, to)
	if msg == nil {
		return status
	}
	return s.accept(ctx, carrierName, acct.ID, from, to, *msg)
}

// assemble decodes a whole MO, or stores a segment and returns the whole
// text once the last segment is stored. It returns nil and the status to
// respond with when there is no whole text yet.
func (s *MOService) assemble(ctx context.Context, c *Carrier, d delivered, from, to string) (*moText, smpp.CommandStatus) {
	udhi := d.esmClass&smpp.ESMClassUDHI != 0
	ud, err := smpp.ParseUserData(d.in.coding, d.in.data, udhi, c.Text)
	if err != nil {
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeInvalidMessage)
		if s.rejected.allow() {
			s.log.Info("mo with an invalid user data header", zap.String("carrier", c.Name), zap.Error(err))
		}
		return nil, DeliverInvalidSegment
	}
	part, multi, err := concatOf(ud, d.in.tlvs)
	if err != nil {
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeInvalidMessage)
		return nil, DeliverInvalidSegment
	}
	if !multi {
		text, err := ud.Text(d.in.coding, c.Text)
		if err != nil {
			return &moText{undecodable: true, coding: d.in.coding, data: ud.Body, segments: 1}, DeliverOK
		}
		return &moText{text: text, segments: 1}, DeliverOK
	}

	key := smpp.PartKey{Session: c.Name, Source: from, Destination: to, Ref: part.Ref, Total: part.Total}
	parts, complete, err := s.cfg.Store.AddPart(ctx, smpp.Part{Key: key, Seq: part.Seq, Coding: d.in.coding, Body: ud.Body}, s.cfg.Now())
	switch {
	case errors.Is(err, smpp.ErrInvalidSegment):
		return nil, DeliverInvalidSegment
	case err != nil:
		s.cfg.Metrics.message(dirMO, outcomeFailed, storeFailureCode(err))
		s.log.Error("mo segment not stored, asking the carrier to redeliver",
			zap.String("carrier", c.Name),
			zap.Error(err))
		return nil, DeliverTemporaryFailure
	case !complete:
		return nil, DeliverOK
	}
	msg := decodeParts(smpp.Assembled{Key: key, Parts: parts}, c.Text)
	msg.finished = []smpp.PartKey{key}
	return &msg, DeliverOK
}

// concatOf returns the segment numbers of an MO from its UDH or, without
// one, from the sar_* TLVs. multi is false for a text sent whole.
func concatOf(ud smpp.UserData, tlvs smpp.TLVs) (smpp.ConcatInfo, bool, error) {
	if ud.Header != nil {
		if c, ok := ud.Header.Concat(); ok && c.Total > 1 {
			return c, true, nil
		}
		return smpp.ConcatInfo{}, false, nil
	}
	if !tlvs.Has(smpp.TagSARMsgRefNum) && !tlvs.Has(smpp.TagSARTotalSegments) && !tlvs.Has(smpp.TagSARSegmentSeqnum) {
		return smpp.ConcatInfo{}, false, nil
	}
	sar, err := tlvs.SAR()
	if err != nil {
		return smpp.ConcatInfo{}, false, err
	}
	c := smpp.ConcatInfo{Ref: sar.RefNum, Total: sar.TotalSegments, Seq: sar.SegmentSeqnum}
	if !c.Valid() {
		return smpp.ConcatInfo{}, false, fmt.Errorf("%w: segment %d of %d", smpp.ErrInvalidSegment, c.Seq, c.Total)
	}
	return c, c.Total > 1, nil
}

// decodeParts decodes the segments that arrived of one text.
func decodeParts(a smpp.Assembled, opts smpp.TextOptions) moText {
	text, err := a.Text(opts)
	if err != nil {
		coding := smpp.DataCoding(0)
		if len(a.Parts) > 0 {
			coding = a.Parts[0].Coding
		}
		return moText{undecodable: true, coding: coding, data: a.Body(), segments: len(a.Parts)}
	}
	return moText{text: text, segments: len(a.Parts)}
}

// accept applies the consent keyword of a whole MO and stores, in one
// step, the MO for the business and the engine's replies. Once they are
// stored, it marks the confirmation as queued in the consent record, so a
// redelivery of the keyword gets no second one.
func (s *MOService) accept(ctx context.Context, carrier, account, from, to string, msg moText) smpp.CommandStatus {
	now := s.cfg.Now()
	item := &MOItem{
		ID: NewMessageID(), Carrier: carrier, From: from, To: to, Text: msg.text,
		Segments: msg.segments, Received: now,
	}
	var res consent.MOResult
	if msg.undecodable {
		item.Undecodable, item.DataCoding, item.Data = true, msg.coding, msg.data
	} else {
		start := s.cfg.Now()
		var err error
		res, err = s.cfg.Engine.HandleMO(ctx, consent.MO{
			From: from, To: to, Text: msg.text, MessageIDs: []string{item.ID}, Source: consent.SourceSMPP,
		})
		s.cfg.Metrics.consentDecision(dirMO, s.cfg.Now().Sub(start))
		if err != nil {
			return s.rejectMO(carrier, err)
		}
		s.cfg.Metrics.moKeyword(res.Match.Keyword, res.Effect.Outcome)
		account = res.Account
		if res.Match.Keyword != consent.KeywordNone {
			item.Keyword = res.Match.Keyword.String()
			item.Outcome = res.Effect.Outcome.String()
			item.FreeText = res.Match.FreeText
		}
	}
	replies := res.Replies

	items := []Item{{Queue: account, Kind: KindMO, Enqueued: now, MO: item}}
	for _, r := range replies {
		items = append(items, Item{Queue: ReplyQueue, Kind: KindReply, Enqueued: now, Reply: &ReplyItem{
			Account: account, From: r.From, To: r.To, Text: r.Text, MOID: item.ID,
		}})
	}
	if _, err := s.cfg.Store.Enqueue(ctx, items, msg.finished...); err != nil {
		// The consent change is durable but the MO is not queued. The
		// confirmation was never marked queued, so a redelivery at least
		// consent.PendingReplyRetry later gets it.
		s.cfg.Metrics.message(dirMO, outcomeFailed, storeFailureCode(err))
		s.log.Error("mo not queued, asking the carrier to redeliver",
			zap.String("carrier", carrier),
			zap.String("account", account),
			zap.Error(err))
		return DeliverTemporaryFailure
	}
	notifyQueues(s.cfg.Notify, items)
	s.markReplyQueued(ctx, carrier, res, item.ID)
	s.cfg.Metrics.message(dirMO, outcomeAccepted, "")
	if ce := s.log.Check(zap.DebugLevel, "mo accepted"); ce != nil {
		ce.Write(zap.String("mo_id", item.ID), zap.String("account", account),
			zap.String("from", s.mask(from)), zap.String("keyword", item.Keyword), zap.Int("replies", len(replies)))
	}
	return DeliverOK
}

// markReplyQueued records in the consent record that the confirmation in
// res is queued, naming the MO whose reply it is. A failure is logged and
// counted in the engine's store errors but does not fail the MO, which is
// already queued: its only cost is that a later redelivery of the same
// keyword sends the confirmation once more.
func (s *MOService) markReplyQueued(ctx context.Context, carrier string, res consent.MOResult, moID string) {
	err := s.cfg.Engine.ReplyQueued(ctx, res, moID)
	if err != nil {
		s.log.Error("queued consent reply not marked in the consent record, a redelivered keyword would get it again",
			zap.String("carrier", carrier),
			zap.String("account", res.Account),
			zap.String("mo_id", moID),
			zap.Error(err))
	}
}

// rejectMO maps a HandleMO error to the deliver_sm_resp status.
func (s *MOService) rejectMO(carrier string, err error) smpp.CommandStatus {
	switch {
	case errors.Is(err, consent.ErrUnknownTollFree):
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeUnknownDestination)
		return DeliverUnknownDestination
	case errors.Is(err, consent.ErrInvalidNumber):
		s.cfg.Metrics.message(dirMO, outcomeFailed, CodeInvalidNumber)
		return DeliverInvalidSource
	}
	s.cfg.Metrics.message(dirMO, outcomeFailed, CodeStoreUnavailable)
	s.log.Error("consent store failed on an mo, asking the carrier to redeliver",
		zap.String("carrier", carrier),
		zap.Error(err))
	return DeliverTemporaryFailure
}

// expiredParts queues the texts whose missing segments never arrived, as
// partial MOs for the business. A partial text is not read for consent
// keywords, because a keyword cut in pieces is no keyword.
func (s *MOService) expiredParts(ctx context.Context, sets []smpp.Assembled) {
	var items []Item
	for _, set := range sets {
		acct, ok := s.cfg.Registry.AccountByTollFree(set.Key.Destination)
		if !ok {
			continue
		}
		c, ok := s.cfg.Router.Carrier(set.Key.Session)
		opts := smpp.TextOptions{}
		if ok {
			opts = c.Text
		}
		msg := decodeParts(set, opts)
		items = append(items, Item{Queue: acct.ID, Kind: KindMO, Enqueued: s.cfg.Now(), MO: &MOItem{
			ID: NewMessageID(), Carrier: set.Key.Session, From: set.Key.Source, To: set.Key.Destination,
			Text: msg.text, Undecodable: msg.undecodable, DataCoding: msg.coding, Data: msg.data, Partial: true,
			Segments: int(set.Key.Total), Received: set.FirstSeen,
		}})
		s.log.Warn("mo segments missing after the reassembly timeout, forwarding the rest",
			zap.String("carrier", set.Key.Session),
			zap.String("account", acct.ID),
			zap.Int("received", len(set.Parts)),
			zap.Int("segments", int(set.Key.Total)))
	}
	if len(items) == 0 {
		return
	}
	// NOTE: the sweep deleted the segments in its own step, so a crash
	// before this write loses the partial text.
	if _, err := s.cfg.Store.Enqueue(ctx, items); err != nil {
		s.log.Error("partial mo texts not queued", zap.Int("count", len(items)), zap.Error(err))
		return
	}
	notifyQueues(s.cfg.Notify, items)
}
