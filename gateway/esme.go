package gateway

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// OptInServiceType is the service_type of a submit_sm that requests an
// opt-in request instead of sending a text. Such a submit_sm has an empty
// short_message and no message_payload; its destination_addr is the
// subscriber and its source_addr the account's toll-free number to send
// from, or empty for the account's first ready one. optgate renders the
// request text, records it with the consent engine and sends it; the
// submit_sm_resp carries the request's message id, and the usual receipts
// follow. A request the rules refuse answers with the block status, such
// as 0x00000409 (already_opted_in) or 0x00000402 (request_limit).
const OptInServiceType = "OPTIN"

// ESMEBackend holds the routing core services the business server calls.
// A configuration reload replaces them; requests read them once each.
type ESMEBackend struct {
	Registry   *Registry
	MT         *MTService
	Dispatcher *Dispatcher
}

// Defaults of the ESMEServerConfig limits.
const (
	// DefaultMaxUnbound is the default of ESMEServerConfig.MaxUnbound.
	DefaultMaxUnbound = 128
	// DefaultMaxUnboundPerSource is the default of
	// ESMEServerConfig.MaxUnboundPerSource.
	DefaultMaxUnboundPerSource = 16
	// DefaultBindTimeout is the default of ESMEServerConfig.BindTimeout.
	DefaultBindTimeout = 10 * time.Second
)

// ESMEServerConfig configures an ESMEServer. Zero fields take the default
// in their comment.
type ESMEServerConfig struct {
	// Backend returns the current services. Required.
	Backend func() ESMEBackend
	// SystemID is optgate's system_id in bind responses. Default
	// "optgate".
	SystemID string
	// TLS, when set, makes the server accept only TLS connections.
	TLS *tls.Config
	// InboundWindow is how many requests of one session run at once;
	// one more gets ESME_RTHROTTLED, the SMPP 3.4 section 5.1.3 status for
	// "slow down". Default: smpp.DefaultInboundWindow.
	InboundWindow int
	// ResponseTimeout is how long a deliver_sm waits for the business's
	// response. Default: smpp.DefaultResponseTimeout.
	ResponseTimeout time.Duration
	// FailedBindDelay is the wait of the first bind after a failed one
	// from the same address, doubled for each further failure up to
	// MaxFailedBindDelay. Failures older than FailedBindMemory are
	// forgotten. Defaults 250ms, 8s and 10m.
	FailedBindDelay, MaxFailedBindDelay, FailedBindMemory time.Duration
	// MaxConnections limits the business connections open at once, bound
	// or not; one beyond it is closed at accept. Default: 0, no limit.
	MaxConnections int
	// MaxUnbound limits the connections open at once that have not bound
	// yet; one beyond it is closed at accept. It keeps peers that connect
	// and never bind from taking every connection until the 2-minute
	// inactivity timeout closes them. Default: 128. A negative value
	// means no limit.
	MaxUnbound int
	// MaxUnboundPerSource limits the connections not bound yet from one
	// IP address, so that one peer cannot take the whole MaxUnbound
	// budget. Default: 16. A negative value means no limit.
	MaxUnboundPerSource int
	// BindTimeout closes a connection that has not bound this long after
	// it connected. Default: 10s. A negative value leaves only the
	// 2-minute inactivity timeout.
	BindTimeout time.Duration
	// Metrics receives bind rejections and the bound sessions. Default:
	// none.
	Metrics *ESMEMetrics
	// Logger is the parent logger; the server logs under "esme". Default
	// zap.NewNop().
	Logger *zap.Logger
	// MaskNumbers masks subscriber numbers in logs. Default false.
	MaskNumbers bool
}

// ESMEServer is the SMPP 3.4 server where business ESMEs bind. It
// authenticates binds against the account registry. It sends submit_sm and
// data_sm through the MT service and responds to each only once the
// carrier accepted the message or it was rejected. It delivers queued MO
// texts and receipts to the account's receiver and transceiver sessions
// (see Target).
//
// On this server data_coding 0 means the GSM 03.38 default alphabet, one
// septet per octet. Requests other than submit_sm, data_sm, enquire_link
// and unbind get an error status: submit_multi ESME_RINVCMDID (send one
// submit_sm per destination), query_sm ESME_RQUERYFAIL, cancel_sm
// ESME_RCANCELFAIL and replace_sm ESME_RREPLACEFAIL.
type ESMEServer struct {
	cfg   ESMEServerConfig
	log   *zap.Logger
	mask  func(string) string
	srv   *smpp.Server
	guard *bindGuard
	slots *bindSlots
	next  atomic.Uint32 // round robin over an account's receivers

	// sleep waits before a held-back bind; tests replace it.
	sleep func(ctx context.Context, d time.Duration) bool
}

// SetListenerDefaults fills the bind timeout, unbound limits, window and
// failed-bind waits that c leaves at zero from the listeners.smpp
// configuration.
func (c *ESMEServerConfig) SetListenerDefaults(l config.SMPPListener) {
	setDefault(&c.FailedBindDelay, l.FailedBindDelay)
	setDefault(&c.MaxFailedBindDelay, l.MaxFailedBindDelay)
	setDefault(&c.FailedBindMemory, l.FailedBindMemory)
	setDefault(&c.BindTimeout, l.BindTimeout)
	setDefault(&c.MaxUnbound, l.MaxUnbound)
	setDefault(&c.MaxUnboundPerSource, l.MaxUnboundPerSource)
	setDefault(&c.InboundWindow, l.Window)
}

// setDefault sets *v to def when *v is zero.
func setDefault[T comparable](v *T, def T) {
	var zero T
	if *v == zero {
		*v = def
	}
}

// NewESMEServer checks the configuration and builds the server. It does
// no I/O; Serve accepts connections.
func NewESMEServer(cfg ESMEServerConfig) (*ESMEServer, error) {
	if cfg.Backend == nil {
		return nil, errors.New("esme server: backend is required")
	}
	if cfg.SystemID == "" {
		cfg.SystemID = "optgate"
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.FailedBindDelay <= 0 {
		cfg.FailedBindDelay = 250 * time.Millisecond
	}
	if cfg.MaxFailedBindDelay < cfg.FailedBindDelay {
		cfg.MaxFailedBindDelay = max(8*time.Second, cfg.FailedBindDelay)
	}
	if cfg.FailedBindMemory <= 0 {
		cfg.FailedBindMemory = 10 * time.Minute
	}
	switch {
	case cfg.MaxUnbound == 0:
		cfg.MaxUnbound = DefaultMaxUnbound
	case cfg.MaxUnbound < 0:
		cfg.MaxUnbound = 0
	}
	switch {
	case cfg.MaxUnboundPerSource == 0:
		cfg.MaxUnboundPerSource = DefaultMaxUnboundPerSource
	case cfg.MaxUnboundPerSource < 0:
		cfg.MaxUnboundPerSource = 0
	}
	switch {
	case cfg.BindTimeout == 0:
		cfg.BindTimeout = DefaultBindTimeout
	case cfg.BindTimeout < 0:
		cfg.BindTimeout = 0
	}
	e := &ESMEServer{
		cfg:   cfg,
		log:   cfg.Logger.Named("esme"),
		mask:  numberMasker(cfg.MaskNumbers),
		guard: newBindGuard(cfg.FailedBindDelay, cfg.MaxFailedBindDelay, cfg.FailedBindMemory, time.Now),
		slots: newBindSlots(),
		sleep: sleepContext,
	}
	e.srv = &smpp.Server{
		TLSConfig:       cfg.TLS,
		SystemID:        cfg.SystemID,
		Authenticator:   smpp.AuthenticatorFunc(e.authenticate),
		Handler:         e,
		InboundWindow:   cfg.InboundWindow,
		ResponseTimeout: cfg.ResponseTimeout,
		MaxConnections:  cfg.MaxConnections,
		MaxUnbound:      cfg.MaxUnbound,
		Logger:          e.log,

		MaxUnboundPerSource: cfg.MaxUnboundPerSource,
		BindTimeout:         cfg.BindTimeout,
		Hooks: smpp.Hooks{
			BindStateChanged: e.stateChanged,
			PDUSent:          e.pduSent,
		},
	}
	cfg.Metrics.watch(e)
	return e, nil
}

// Serve accepts business connections on l until Shutdown or Close. It
// always returns an error: smpp.ErrServerClosed after Shutdown or Close.
func (e *ESMEServer) Serve(l net.Listener) error { return e.srv.Serve(l) }

// Shutdown stops accepting binds, waits for the responses to the requests
// in flight, unbinds every session and waits for them until ctx ends.
func (e *ESMEServer) Shutdown(ctx context.Context) error { return e.srv.Shutdown(ctx) }

// Close closes every connection at once.
func (e *ESMEServer) Close() error { return e.srv.Close() }

// stateChanged frees the bind slot of a session that closes, and notes a
// session that unbinds so that a rebind waits for its close. Only sessions
// that bound have a system_id, and each took a slot.
func (e *ESMEServer) stateChanged(systemID string, state smpp.SessionState, _ error) {
	if systemID == "" {
		return
	}
	switch state {
	case smpp.SessionUnbinding:
		e.slots.unbound(systemID)
	case smpp.SessionClosed:
		e.slots.release(systemID)
	}
}

// pduSent signals the dispatcher that an account can receive once the
// bind_receiver_resp or bind_transceiver_resp accepting its ESME is out,
// so queued items follow the bind response rather than race it.
func (e *ESMEServer) pduSent(systemID string, h smpp.Header) {
	if h.CommandStatus != smpp.StatusOK {
		return
	}
	if h.CommandID != smpp.BindReceiverRespID && h.CommandID != smpp.BindTransceiverRespID {
		return
	}
	id, ok := e.slots.identity(systemID)
	if !ok {
		return
	}
	if d := e.cfg.Backend().Dispatcher; d != nil {
		d.TargetReady(id.Account)
	}
}

// ServeSMPP implements smpp.Handler.
func (e *ESMEServer) ServeSMPP(ctx context.Context, sess *smpp.ServerSession, req smpp.PDU) smpp.PDU {
	id, ok := e.slots.identity(sess.SystemID())
	if !ok {
		return smpp.NewResponse(req, smpp.StatusInvalidBindStatus)
	}
	switch r := req.(type) {
	case *smpp.SubmitSM:
		if r.ServiceType == OptInServiceType {
			return e.requestOptIn(ctx, id.Account, r)
		}
		return e.submit(ctx, id.Account, submitFields(r))
	case *smpp.DataSM:
		return e.submit(ctx, id.Account, dataFields(r))
	case *smpp.QuerySM:
		return smpp.NewResponse(req, smpp.StatusQueryFailed)
	case *smpp.CancelSM:
		return smpp.NewResponse(req, smpp.StatusCancelFailed)
	case *smpp.ReplaceSM:
		return smpp.NewResponse(req, smpp.StatusReplaceFailed)
	}
	return smpp.NewResponse(req, smpp.StatusInvalidCommandID)
}

// businessMessage holds the fields submit_sm and data_sm share.
type businessMessage struct {
	command            smpp.CommandID
	sourceTON, destTON smpp.TON
	sourceNPI, destNPI smpp.NPI
	source, dest       string
	esmClass           uint8
	registered         uint8
	coding             smpp.DataCoding
	short              []byte
	scheduled          string
	tlvs               smpp.TLVs
}

func submitFields(r *smpp.SubmitSM) businessMessage {
	return businessMessage{
		command: smpp.SubmitSMID, sourceTON: r.SourceAddrTON, sourceNPI: r.SourceAddrNPI, source: r.SourceAddr,
		destTON: r.DestAddrTON, destNPI: r.DestAddrNPI, dest: r.DestinationAddr, esmClass: r.ESMClass,
		registered: r.RegisteredDelivery, coding: r.DataCoding, short: r.ShortMessage,
		scheduled: r.ScheduleDeliveryTime, tlvs: r.TLVs,
	}
}

func dataFields(r *smpp.DataSM) businessMessage {
	return businessMessage{
		command: smpp.DataSMID, sourceTON: r.SourceAddrTON, sourceNPI: r.SourceAddrNPI, source: r.SourceAddr,
		destTON: r.DestAddrTON, destNPI: r.DestAddrNPI, dest: r.DestinationAddr, esmClass: r.ESMClass,
		registered: r.RegisteredDelivery, coding: r.DataCoding, tlvs: r.TLVs,
	}
}

// smppMessageResp returns the submit_sm_resp or data_sm_resp of command.
func smppMessageResp(command smpp.CommandID, status smpp.CommandStatus, messageID string) smpp.PDU {
	if command == smpp.DataSMID {
		r := &smpp.DataSMResp{MessageID: messageID}
		r.CommandStatus = status
		return r
	}
	r := &smpp.SubmitSMResp{MessageID: messageID}
	r.CommandStatus = status
	return r
}

// submit sends a business message through the MT service and returns the
// response with optgate's message id, or with the status of the outcome.
func (e *ESMEServer) submit(ctx context.Context, account string, m businessMessage) smpp.PDU {
	mt, status := buildMT(account, m)
	if status != smpp.StatusOK {
		return smppMessageResp(m.command, status, "")
	}
	res, err := e.cfg.Backend().MT.Submit(ctx, mt)
	if err != nil {
		return e.failed(account, m.command, err)
	}
	if ce := e.log.Check(zap.DebugLevel, "business message sent"); ce != nil {
		ce.Write(zap.String("account", account), zap.Stringer("command_id", m.command),
			zap.String("message_id", res.MessageID), zap.String("to", e.mask(mt.To)),
			zap.Int("segments", res.Segments), zap.String("blocked", string(res.Blocked)))
	}
	return smppMessageResp(m.command, smpp.StatusOK, res.MessageID)
}

// failed returns the response to a message the MT service did not send,
// with the status of its outcome. A partial submit keeps optgate's message id, so that the
// business can trace the segments the carrier took.
func (e *ESMEServer) failed(account string, command smpp.CommandID, err error) smpp.PDU {
	st := StatusOf(err)
	id := ""
	var ge *Error
	if errors.As(err, &ge) && ge.Code == CodePartialSubmit {
		id = ge.MessageID
	}
	if st.Code == CodeInternal {
		e.log.Error("business message failed inside optgate",
			zap.String("account", account),
			zap.Stringer("command_id", command),
			zap.Error(err))
	} else if ce := e.log.Check(zap.DebugLevel, "business message rejected"); ce != nil {
		ce.Write(zap.String("account", account), zap.Stringer("command_id", command),
			zap.String("code", string(st.Code)), zap.Stringer("command_status", st.SMPP), zap.Error(err))
	}
	return smppMessageResp(command, st.SMPP, id)
}

// buildMT converts a business message. It returns a status other than
// ESME_ROK for a message that cannot be one.
func buildMT(account string, m businessMessage) (MT, smpp.CommandStatus) {
	invalid := StatusFor(CodeInvalidMessage).SMPP
	if m.scheduled != "" {
		return MT{}, smpp.StatusInvalidSchedule
	}
	data := m.short
	if payload, ok := m.tlvs.Get(smpp.TagMessagePayload); ok {
		if len(m.short) > 0 {
			// SMPP 3.4 section 5.3.2.32 forbids both at once.
			return MT{}, smpp.StatusInvalidTLVLength
		}
		data = payload
	}
	mt := MT{
		Account: account, From: m.source, FromTON: m.sourceTON, FromNPI: m.sourceNPI,
		To: m.dest, ToTON: m.destTON, ToNPI: m.destNPI, DataCoding: m.coding, Data: data,
		RegisteredDelivery: m.registered, Source: consent.SourceSMPP,
	}
	if m.esmClass&smpp.ESMClassUDHI != 0 {
		if len(data) == 0 || len(data) < 1+int(data[0]) {
			return MT{}, invalid
		}
		n := 1 + int(data[0])
		mt.UDH, mt.Data = data[:n], data[n:]
		if mt.Data == nil {
			mt.Data = []byte{}
		}
	}
	// Has first, because the lookup of an absent TLV formats an error.
	if m.tlvs.Has(smpp.TagUserMessageReference) {
		if ref, err := m.tlvs.UserMessageReference(); err == nil {
			mt.ClientRef = strconv.Itoa(int(ref))
		}
	}
	return mt, smpp.StatusOK
}

// requestOptIn handles a submit_sm with OptInServiceType.
func (e *ESMEServer) requestOptIn(ctx context.Context, account string, r *smpp.SubmitSM) smpp.PDU {
	reject := func(code Code) smpp.PDU {
		return smppMessageResp(smpp.SubmitSMID, StatusFor(code).SMPP, "")
	}
	if len(r.ShortMessage) > 0 || r.TLVs.Has(smpp.TagMessagePayload) {
		return reject(CodeInvalidMessage)
	}
	to, err := consent.NormalizeNumber(r.DestinationAddr, uint8(r.DestAddrTON), uint8(r.DestAddrNPI), "US")
	if err != nil {
		return reject(CodeInvalidNumber)
	}
	from := ""
	if r.SourceAddr != "" {
		from, err = consent.NormalizeNumber(r.SourceAddr, uint8(r.SourceAddrTON), uint8(r.SourceAddrNPI), "US")
		if err != nil {
			return reject(CodeSenderNotTollFree)
		}
	}
	req := OptInRequest{Account: account, TollFree: from, To: to, Source: consent.SourceSMPP,
		RegisteredDelivery: r.RegisteredDelivery}
	if ref, err := r.TLVs.UserMessageReference(); err == nil {
		req.ClientRef = strconv.Itoa(int(ref))
	}
	res, err := e.cfg.Backend().MT.RequestOptIn(ctx, req)
	if err != nil {
		return e.failed(account, smpp.SubmitSMID, err)
	}
	e.log.Debug("opt-in request sent", zap.String("account", account),
		zap.String("message_id", res.MessageID), zap.String("to", e.mask(to)))
	return smppMessageResp(smpp.SubmitSMID, smpp.StatusOK, res.MessageID)
}

// BoundReceivers returns the number of receiver and transceiver sessions
// of an account bound now.
func (e *ESMEServer) BoundReceivers(account string) int { return len(e.receivers(account)) }

// receivers returns the account's sessions that can take deliver_sm.
func (e *ESMEServer) receivers(account string) []*smpp.ServerSession {
	var out []*smpp.ServerSession
	for _, s := range e.srv.Sessions() {
		if t := s.BindType(); t != smpp.BindTypeReceiver && t != smpp.BindTypeTransceiver {
			continue
		}
		if id, ok := e.slots.identity(s.SystemID()); ok && id.Account == account {
			out = append(out, s)
		}
	}
	return out
}

// errNoSession is the cause of ErrTargetUnavailable for an account with
// no receiver bound.
var errNoSession = errors.New("no receiver or transceiver session bound")

func (e *ESMEServer) noSession(account string) error {
	return fmt.Errorf("account %s: %w: %w", account, ErrTargetUnavailable, errNoSession)
}
