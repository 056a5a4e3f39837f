package gateway

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// CarrierLink submits segments to one carrier. The front end implements it
// with a pool of SMPP client binds. The link chooses the bind for each PDU
// and retries throttled submits itself.
type CarrierLink interface {
	// Submit sends one submit_sm and returns the message_id of the
	// carrier's submit_sm_resp. A refusal is a *smpp.StatusError.
	// ErrLinkUnavailable means no session took the PDU, so nothing was
	// sent. Any other error, such as a timeout after the PDU was written,
	// leaves the outcome unknown.
	Submit(ctx context.Context, pdu *smpp.SubmitSM) (string, error)
}

// ErrLinkUnavailable is returned by a CarrierLink that had no bound
// session to send on.
var ErrLinkUnavailable = errors.New("gateway: no carrier session available")

// CarrierLinks returns the link of a carrier by name.
type CarrierLinks interface {
	Link(carrier string) (CarrierLink, bool)
}

// StaticLinks is a fixed set of carrier links, keyed by carrier name.
type StaticLinks map[string]CarrierLink

// Link implements CarrierLinks.
func (l StaticLinks) Link(carrier string) (CarrierLink, bool) {
	link, ok := l[carrier]
	return link, ok
}

// MT is a business text to send.
type MT struct {
	// Account is the authenticated sending account.
	Account string
	// From is one of the account's toll-free numbers and To the recipient.
	// The TON and NPI fields are the SMPP addr_ton and addr_npi they came
	// with; the zero values (unknown) suit numbers from HTTP and SIP.
	From, To       string
	FromTON, ToTON smpp.TON
	FromNPI, ToNPI smpp.NPI
	Text           string
	// DataCoding and Data carry an SMPP business's short_message when the
	// gateway should not decode it, and UDH its user data header (length
	// octet included) when esm_class UDHI was set. Text must be empty
	// when Data is set. Text codings are decoded with TextOptions and sent
	// in the coding that suits the carrier. Binary codings and messages
	// with a UDH are sent as they are.
	DataCoding  smpp.DataCoding
	Data        []byte
	UDH         []byte
	TextOptions smpp.TextOptions
	// RegisteredDelivery is the business's registered_delivery (SMPP 3.4
	// section 5.2.17). Its receipt bits are passed to the carrier, and
	// decide which receipts reach the business.
	RegisteredDelivery uint8
	// Source is the channel the MT came in on.
	Source consent.Source
	// ClientRef is the business's own reference, returned with receipts.
	ClientRef string
}

// Result is a sent message.
type Result struct {
	// MessageID is optgate's id for the message, at most 64 characters.
	MessageID string
	// Segments is the number of segments the carrier accepted.
	Segments int
	// Carrier names the carrier that took the message.
	Carrier string
	// Blocked is set when the consent rules blocked the message and the
	// account gets blocks as REJECTD receipts: MessageID then names the
	// receipt, and nothing was sent.
	Blocked Code
	// Shadow is the reason the rules would have blocked the message, for an
	// account in shadow mode; the message was sent.
	Shadow Code
}

// MTConfig holds the dependencies of an MTService.
type MTConfig struct {
	Registry *Registry
	Router   *Router
	Links    CarrierLinks
	Engine   *consent.Engine
	Store    Store
	// Receipts applies receipts kept unmatched for the new ids.
	Receipts *ReceiptService
	// Notify receives the name of each queue that got items, so the
	// dispatcher wakes. Default: no notification.
	Notify  func(queue string)
	Metrics *Metrics
	// Logger gets per-message debug logs and failures. Default zap.NewNop().
	Logger *zap.Logger
	// MaskNumbers masks subscriber numbers in logs. Default false; the
	// daemon passes the logging.mask_numbers setting.
	MaskNumbers bool
	// DefaultRegion reads national numbers from businesses. Default "US".
	DefaultRegion string
	// MessageTTL is how long an id mapping waits for its final receipts.
	// Default DefaultMessageTTL.
	MessageTTL time.Duration
	// KeepAfterFinal is how long the record of a message that is settled
	// when sent (blocked, or with no final receipt requested) is kept for
	// the status lookup. Default DefaultKeepAfterFinal.
	KeepAfterFinal time.Duration
	// SegmentTimeout bounds each later segment's submit, which runs on
	// even when the caller gives up, so a message is not cut short because
	// a client disconnected. Default 30s.
	SegmentTimeout time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
	// OnBlock, when set, gets every text and opt-in request that is
	// blocked, with the recipient as given or in E.164 form. It runs on the
	// sender's goroutine, so it must return quickly. BlockLog.Record fits.
	// Default nil: blocks are only counted in Metrics.
	OnBlock func(Block)
}

// MTService sends business texts and opt-in requests through the consent
// rules to carriers. It is safe for concurrent use.
type MTService struct {
	cfg  MTConfig
	log  *zap.Logger
	mask func(string) string
	refs smpp.RefCounter
}

// NewMTService checks the dependencies and fills the defaults.
func NewMTService(cfg MTConfig) (*MTService, error) {
	if cfg.Registry == nil || cfg.Router == nil || cfg.Links == nil || cfg.Engine == nil || cfg.Store == nil {
		return nil, errors.New("mt service: registry, router, links, engine and store are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.DefaultRegion == "" {
		cfg.DefaultRegion = "US"
	}
	if cfg.MessageTTL <= 0 {
		cfg.MessageTTL = DefaultMessageTTL
	}
	if cfg.KeepAfterFinal <= 0 {
		cfg.KeepAfterFinal = DefaultKeepAfterFinal
	}
	if cfg.SegmentTimeout <= 0 {
		cfg.SegmentTimeout = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Notify == nil {
		cfg.Notify = func(string) {}
	}
	return &MTService{cfg: cfg, log: cfg.Logger, mask: numberMasker(cfg.MaskNumbers)}, nil
}

// NewMessageID returns a new optgate message id: 16 lowercase hex digits
// from a cryptographic random source, so ids do not reveal traffic volume.
func NewMessageID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error since Go 1.24.
	return hex.EncodeToString(b[:])
}

// Submit sends a business text. It normalizes both numbers and queries the
// consent engine, which also checks that the sender is one of the
// account's ready toll-free numbers and fails closed when its store does
// not respond. Then it splits the text for the carrier of the recipient, submits
// every segment and records the id mapping before it returns.
//
// A message that is not sent yields an *Error whose Status is the response
// for the business. When segment k of n fails after earlier segments were
// accepted, Submit stops, records the accepted segments, and returns
// CodePartialSubmit with the message id: the subscriber may have received
// part of the text, and nothing is resubmitted automatically because a
// resubmit would duplicate the accepted part.
func (s *MTService) Submit(ctx context.Context, mt MT) (Result, error) {
	start := s.cfg.Now()
	to, err := consent.NormalizeNumber(mt.To, uint8(mt.ToTON), uint8(mt.ToNPI), s.cfg.DefaultRegion)
	if err != nil {
		s.cfg.Metrics.message(dirMT, outcomeBlocked, CodeInvalidNumber)
		s.reportBlock(mt.Account, mt.To, dirMT, CodeInvalidNumber)
		return Result{}, newError(CodeInvalidNumber, fmt.Errorf("recipient: %w", err))
	}
	if err := s.tollFreeRecipient(mt.Account, to, dirMT); err != nil {
		return Result{}, err
	}
	from, err := consent.NormalizeNumber(mt.From, uint8(mt.FromTON), uint8(mt.FromNPI), s.cfg.DefaultRegion)
	if err != nil {
		s.cfg.Metrics.message(dirMT, outcomeBlocked, CodeSenderNotTollFree)
		s.reportBlock(mt.Account, to, dirMT, CodeSenderNotTollFree)
		return Result{}, newError(CodeSenderNotTollFree, fmt.Errorf("sender: %w", err))
	}
	body, err := contentOf(mt)
	if err == nil {
		err = checkMTText(mt, body)
	}
	if err != nil {
		s.cfg.Metrics.message(dirMT, outcomeFailed, CodeInvalidMessage)
		return Result{}, newError(CodeInvalidMessage, err)
	}

	decision := s.cfg.Engine.CheckMT(ctx, consent.MT{Account: mt.Account, From: from, To: to})
	s.cfg.Metrics.consentDecision(dirMT, s.cfg.Now().Sub(start))
	if !decision.Allowed {
		return s.blocked(ctx, mt, from, to, decision.Reason)
	}
	var shadow Code
	if decision.Shadow && decision.Reason != consent.ReasonNone {
		shadow = CodeForReason(decision.Reason)
	}

	res, err := s.send(ctx, sendRequest{
		id: NewMessageID(), account: mt.Account, from: from, to: to, body: body,
		registered: mt.RegisteredDelivery, clientRef: mt.ClientRef, direction: dirMT, record: true,
	})
	if err != nil {
		return Result{}, err
	}
	res.Shadow = shadow
	outcome := outcomeSent
	if shadow != "" {
		outcome = outcomeShadow
	}
	s.cfg.Metrics.message(dirMT, outcome, shadow)
	s.cfg.Metrics.mtSent(s.cfg.Now().Sub(start))
	return res, nil
}

// blocked reports a consent block: as an *Error, or for an SMPP business
// of an account with BlockedReceipts as a message id followed by a REJECTD
// receipt. Temporary blocks always stay errors, so the business retries.
func (s *MTService) blocked(ctx context.Context, mt MT, from, to string, reason consent.Reason) (Result, error) {
	code := CodeForReason(reason)
	s.cfg.Metrics.message(dirMT, outcomeBlocked, code)
	s.reportBlock(mt.Account, to, dirMT, code)
	if ce := s.log.Check(zap.DebugLevel, "mt blocked"); ce != nil {
		ce.Write(zap.String("account", mt.Account), zap.String("to", s.mask(to)), zap.String("reason", string(code)))
	}
	acct, ok := s.cfg.Registry.Settings(mt.Account)
	if !ok || !acct.BlockedReceipts || mt.Source != consent.SourceSMPP || reason.Temporary() {
		return Result{}, &Error{Code: code}
	}
	id := NewMessageID()
	now := s.cfg.Now()
	item := Item{Queue: acct.ID, Kind: KindReceipt, Enqueued: now, Receipt: &ReceiptItem{
		MessageID: id, From: from, To: to, State: smpp.StateRejected, Stat: smpp.StateRejected.String(),
		Err: blockErr(code), DoneDate: now, SubmitDate: now, Blocked: code, ClientRef: mt.ClientRef,
	}}
	if _, err := s.cfg.Store.Enqueue(ctx, []Item{item}); err != nil {
		// Without its receipt the block can only be reported as a status.
		s.log.Error("queue receipt for a blocked message failed, responding with the block status",
			zap.String("account", acct.ID),
			zap.Error(err))
		return Result{}, &Error{Code: code, Err: err}
	}
	s.cfg.Notify(acct.ID)

	// The record serves the status lookup only, so a failure to write it
	// does not undo the block's receipt.
	rec := MessageRecord{
		ID: id, Account: acct.ID, From: from, To: to, RegisteredDelivery: mt.RegisteredDelivery,
		ClientRef: mt.ClientRef, Blocked: code, Submitted: now, Expires: now.Add(s.cfg.MessageTTL),
	}
	shortenSettled(&rec, now, s.cfg.KeepAfterFinal)
	if _, _, err := s.cfg.Store.PutMessage(context.WithoutCancel(ctx), rec, nil); err != nil {
		s.log.Warn("record of a blocked message not written; its status lookup will find nothing",
			zap.String("message_id", id),
			zap.String("account", acct.ID),
			zap.Error(err))
	}
	return Result{MessageID: id, Blocked: code}, nil
}

// reportBlock passes a block to the OnBlock hook, when one is set.
func (s *MTService) reportBlock(account, to, direction string, code Code) {
	if s.cfg.OnBlock != nil {
		s.cfg.OnBlock(Block{Time: s.cfg.Now(), Account: account, Number: to, Direction: direction, Reason: code})
	}
}

// blockErr returns the err field of a REJECTD receipt for a block: the
// three low hex digits of its command_status, so 0x0401 (opted_out) reads
// "401".
func blockErr(code Code) string {
	return fmt.Sprintf("%03X", uint32(StatusFor(code).SMPP)&0xFFF)
}

// OptInRequest is a business's request for an opt-in request to one
// number.
type OptInRequest struct {
	Account string
	// TollFree is the sender. Empty means the account's first ready
	// toll-free number.
	TollFree string
	To       string
	Source   consent.Source
	// RegisteredDelivery and ClientRef are as on MT.
	RegisteredDelivery uint8
	ClientRef          string
}

// OptInResult is a sent opt-in request.
type OptInResult struct {
	Result
	// Request is 1 for the first request to the number and 2 for the
	// second and last.
	Request int
	// Text is the request as sent and recorded in the audit trail.
	Text string
	// From is the toll-free sender and To the subscriber, in E.164 form.
	From, To string
}

// RequestOptIn records an opt-in request with the engine and sends the
// text it renders, without a consent check: the request is what asks for
// consent. optgate's message id is recorded in the request's audit entry.
// The request counts towards the limit of two even when sending fails.
func (s *MTService) RequestOptIn(ctx context.Context, req OptInRequest) (OptInResult, error) {
	if to, ok := s.optInRecipient(req); ok {
		if err := s.tollFreeRecipient(req.Account, to, dirRequest); err != nil {
			return OptInResult{}, err
		}
	}
	id := NewMessageID()
	start := s.cfg.Now()
	rendered, err := s.cfg.Engine.RequestOptIn(ctx, consent.OptInRequest{
		Account: req.Account, TollFree: req.TollFree, To: req.To, Source: req.Source, MessageID: id,
	})
	s.cfg.Metrics.consentDecision(dirRequest, s.cfg.Now().Sub(start))
	if err != nil {
		code := requestCode(err)
		s.cfg.Metrics.message(dirRequest, outcomeBlocked, code)
		if s.cfg.OnBlock != nil {
			to, nerr := consent.NormalizeNumber(req.To, 0, 0, s.cfg.DefaultRegion)
			if nerr != nil {
				to = req.To
			}
			s.reportBlock(req.Account, to, dirRequest, code)
		}
		return OptInResult{}, newError(code, err)
	}
	res, err := s.send(ctx, sendRequest{
		id: id, account: req.Account, from: rendered.From, to: rendered.To,
		body: content{text: rendered.Text, isText: true}, registered: req.RegisteredDelivery,
		clientRef: req.ClientRef, direction: dirRequest, record: true,
	})
	if err != nil {
		return OptInResult{}, err
	}
	s.cfg.Metrics.message(dirRequest, outcomeSent, "")
	return OptInResult{Result: res, Request: rendered.Sequence, Text: rendered.Text,
		From: rendered.From, To: rendered.To}, nil
}

// requestCode maps an error of consent.Engine.RequestOptIn to its code.
func requestCode(err error) Code {
	for _, m := range []struct {
		err  error
		code Code
	}{
		{consent.ErrUnknownAccount, CodeUnknownAccount},
		{consent.ErrInvalidNumber, CodeInvalidNumber},
		{consent.ErrSenderNotTollFree, CodeSenderNotTollFree},
		{consent.ErrSenderNotOwned, CodeSenderNotOwned},
		{consent.ErrSenderNotReady, CodeSenderNotReady},
		{consent.ErrQuietHours, CodeQuietHours},
		{consent.ErrOptedOut, CodeOptedOut},
		{consent.ErrAlreadyOptedIn, CodeAlreadyOptedIn},
		{consent.ErrRequestLimit, CodeRequestLimit},
		{consent.ErrStoreUnavailable, CodeStoreUnavailable},
	} {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	return CodeInternal
}

// SendReply sends one of the consent engine's replies from the toll-free
// number the subscriber wrote to, without a consent check: replies are the
// engine's own, such as the opt-out confirmation. No id mapping is kept,
// because replies request no receipt.
func (s *MTService) SendReply(ctx context.Context, r ReplyItem) error {
	owner, ok := s.cfg.Registry.AccountByTollFree(r.From)
	if !ok || owner.ID != r.Account {
		s.cfg.Metrics.message(dirReply, outcomeFailed, CodeSenderNotOwned)
		return newError(CodeSenderNotOwned, fmt.Errorf("reply sender %s does not belong to account %s", r.From, r.Account))
	}
	_, err := s.send(ctx, sendRequest{
		id: NewMessageID(), account: r.Account, from: r.From, to: r.To,
		body: content{text: r.Text, isText: true}, direction: dirReply,
	})
	if err != nil {
		return err
	}
	s.cfg.Metrics.message(dirReply, outcomeSent, "")
	return nil
}

// sendRequest is a message cleared for sending.
type sendRequest struct {
	id, account, from, to string
	body                  content
	registered            uint8
	clientRef             string
	direction             string
	// record keeps the id mapping for receipts.
	record bool
}

// send routes, splits and submits a message and records its id mapping.
func (s *MTService) send(ctx context.Context, req sendRequest) (Result, error) {
	carrier, ok := s.cfg.Router.Route(req.to)
	if !ok {
		s.cfg.Metrics.message(req.direction, outcomeFailed, CodeNoRoute)
		return Result{}, newError(CodeNoRoute, fmt.Errorf("no route for %s", s.mask(req.to)))
	}
	link, ok := s.cfg.Links.Link(carrier.Name)
	if !ok {
		s.cfg.Metrics.message(req.direction, outcomeFailed, CodeCarrierUnavailable)
		return Result{}, &Error{Code: CodeCarrierUnavailable, Carrier: carrier.Name, Err: ErrLinkUnavailable}
	}
	pdus, err := buildPDUs(req, carrier, &s.refs)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			s.cfg.Metrics.message(req.direction, outcomeFailed, e.Code)
		}
		return Result{}, err
	}

	rec := MessageRecord{
		ID: req.id, Account: req.account, Carrier: carrier.Name, From: req.from, To: req.to,
		RegisteredDelivery: req.registered, Total: len(pdus), ClientRef: req.clientRef,
		Submitted: s.cfg.Now(), Expires: s.cfg.Now().Add(s.cfg.MessageTTL),
	}
	if a, ok := s.cfg.Registry.Settings(req.account); ok {
		rec.Policy = a.ReceiptPolicy
	}
	shortenSettled(&rec, rec.Submitted, s.cfg.KeepAfterFinal)
	failure := s.submitAll(ctx, link, carrier, pdus, &rec)
	if failure != nil && len(rec.Segments) == 0 {
		s.cfg.Metrics.message(req.direction, outcomeFailed, failure.Code)
		return Result{}, failure
	}
	if failure != nil {
		return Result{}, s.partial(ctx, req, rec, failure)
	}
	if !req.record {
		return Result{MessageID: req.id, Segments: len(rec.Segments), Carrier: carrier.Name}, nil
	}

	// The carrier has the message now, so the mapping is written even if
	// the caller has gone away.
	// An error status would make the business send the text again, and
	// the subscriber would get it twice, so a failed write still reports
	// the message as sent, and only its receipts are lost.
	items, late, err := s.recordSent(ctx, rec)
	if err != nil {
		s.log.Error("id map write failed after the carrier accepted a message; "+
			"the business is told it was sent, and its receipts will not match",
			zap.String("message_id", req.id),
			zap.String("carrier", carrier.Name),
			zap.Error(err))
		return Result{MessageID: req.id, Segments: len(rec.Segments), Carrier: carrier.Name}, nil
	}
	s.cfg.Metrics.receiptsMatchedLate(carrier.Name, late)
	notifyQueues(s.cfg.Notify, items)
	return Result{MessageID: req.id, Segments: len(rec.Segments), Carrier: carrier.Name}, nil
}

// submitAll submits the PDUs in order and appends each accepted segment to
// rec. It stops at the first failure and returns it.
func (s *MTService) submitAll(ctx context.Context, link CarrierLink, carrier *Carrier,
	pdus []*smpp.SubmitSM, rec *MessageRecord) *Error {
	for i, pdu := range pdus {
		segCtx, cancel := ctx, context.CancelFunc(func() {})
		if i > 0 {
			segCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), s.cfg.SegmentTimeout)
		}
		carrierID, err := link.Submit(segCtx, pdu)
		cancel()
		if err != nil {
			return s.carrierFailure(carrier.Name, err)
		}
		rec.Segments = append(rec.Segments, SegmentRecord{CarrierID: carrierID, Keys: carrier.IDs.storeKeys(carrierID)})
	}
	return nil
}

// carrierFailure classifies an error of CarrierLink.Submit.
func (s *MTService) carrierFailure(carrier string, err error) *Error {
	var st *smpp.StatusError
	switch {
	case errors.As(err, &st):
		s.cfg.Metrics.carrierError(carrier, st.Status)
		code := CodeCarrierRejected
		if st.Status == smpp.StatusThrottled || st.Status == smpp.StatusMsgQueueFull {
			code = CodeCarrierBusy
		}
		return &Error{Code: code, Carrier: carrier, CarrierStatus: st.Status, Err: err}
	case errors.Is(err, ErrLinkUnavailable):
		return &Error{Code: CodeCarrierUnavailable, Carrier: carrier, Err: err}
	}
	return &Error{Code: CodeCarrierTimeout, Carrier: carrier, Err: err}
}

// partial records the accepted segments of a message whose submit stopped
// part way, so their receipts match and are dropped, and returns the
// CodePartialSubmit error.
func (s *MTService) partial(ctx context.Context, req sendRequest, rec MessageRecord, failure *Error) error {
	rec.Failed = true
	if req.record {
		_, late, err := s.cfg.Store.PutMessage(context.WithoutCancel(ctx), rec, nil)
		if err != nil {
			s.log.Error("id map write failed for a partly sent message",
				zap.String("message_id", rec.ID),
				zap.Error(err))
		}
		s.cfg.Metrics.receiptsMatchedLate(rec.Carrier, late)
	}
	s.log.Warn("carrier accepted only part of a message",
		zap.String("message_id", rec.ID),
		zap.String("account", req.account),
		zap.String("carrier", rec.Carrier),
		zap.Int("accepted", len(rec.Segments)),
		zap.Int("segments", rec.Total),
		zap.String("failure", string(failure.Code)),
		zap.Error(failure.Err))
	s.cfg.Metrics.message(req.direction, outcomeFailed, CodePartialSubmit)
	return &Error{
		Code: CodePartialSubmit, Carrier: rec.Carrier, CarrierStatus: failure.CarrierStatus,
		MessageID: rec.ID, Accepted: len(rec.Segments), Segments: rec.Total, Err: failure,
	}
}

// matchFunc applies receipts kept unmatched for a new mapping.
func (s *MTService) matchFunc() ReceiptFunc {
	if s.cfg.Receipts == nil {
		return nil
	}
	return s.cfg.Receipts.apply
}

func notifyQueues(notify func(string), items []Item) {
	seen := map[string]bool{}
	for _, it := range items {
		if !seen[it.Queue] {
			seen[it.Queue] = true
			notify(it.Queue)
		}
	}
}
