package sip

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
)

// callCodecs are the codecs offered in calls: G.711 µ-law and A-law, the
// formats every PSTN gateway speaks and the greeting is converted to, and
// RFC 4733 telephone-event for key presses.
var callCodecs = []media.Codec{media.CodecAudioUlaw, media.CodecAudioAlaw, media.CodecTelephoneEvent8000}

// ErrCallNotFound is returned by RequestOptInForCall when the account has
// no call with the Call-ID. It wraps gateway.ErrCallNotFound.
var ErrCallNotFound = fmt.Errorf("sip: %w", gateway.ErrCallNotFound)

// Call describes a call in progress to a toll-free number.
type Call struct {
	// CallID is the Call-ID of the INVITE.
	CallID string `json:"call_id"`
	// Account owns the toll-free number called.
	Account string `json:"account"`
	// TollFree is the number called and Caller the remote party, from
	// P-Asserted-Identity (RFC 3325) when the trunk sent one, else From.
	TollFree string    `json:"toll_free"`
	Caller   string    `json:"caller"`
	Started  time.Time `json:"started"`
}

// call is the state of one answered call.
type call struct {
	Call
	dialogID string
	// remoteCSeq is the highest CSeq of the caller's requests.
	remoteCSeq atomic.Uint32
	cancel     context.CancelFunc
	// greeting is true from the answer until the greeting has played,
	// when pressing 1 sends an opt-in request.
	greeting atomic.Bool
	// keyOptIn is set once a key press sent an opt-in request, so that
	// repeated presses do not use up the limit of two requests.
	keyOptIn atomic.Bool
	// tasks tracks the opt-in requests the call started.
	tasks sync.WaitGroup
	// media bounds the addresses the call's RTP may go to.
	media mediaPolicy
	// dialog is the call's dialog, and inviteTx the server transaction
	// of its INVITE.
	dialog   *diago.DialogServerSession
	inviteTx sip.ServerTransaction
}

// end ends the call. A call whose 200 OK the caller has not acknowledged
// has no confirmed dialog to send BYE in (RFC 3261 section 13.3.1.4), so
// its INVITE transaction is ended instead: the 200 OK is no longer
// retransmitted and the answer fails at its next retransmission, at most
// T2 (4 s, RFC 3261 section 17.1.2.2) later. A confirmed call's context
// ends, and diago sends BYE when the call handler returns.
func (c *call) end() {
	c.cancel()
	if c.inviteTx != nil && c.dialog != nil && c.dialog.LoadState() < sip.DialogStateConfirmed {
		c.inviteTx.Terminate()
	}
}

// callTable holds the calls in progress.
type callTable struct {
	max int

	mu    sync.Mutex
	calls map[string]*call // by dialog id
	// closed is set by endAll; no call is added after it.
	closed bool
}

func newCallTable(max int) *callTable {
	return &callTable{max: max, calls: map[string]*call{}}
}

// add registers c. It reports false when MaxCalls calls are up or the
// table was closed by endAll.
func (t *callTable) add(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || len(t.calls) >= t.max {
		return false
	}
	t.calls[c.dialogID] = c
	return true
}

func (t *callTable) remove(c *call) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, c.dialogID)
}

func (t *callTable) byDialog(id string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

func (t *callTable) byCallID(account, callID string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.calls {
		if c.CallID == callID && c.Account == account {
			return c
		}
	}
	return nil
}

// byCallIDAny returns the calls with the Call-ID, of any account.
func (t *callTable) byCallIDAny(callID string) []*call {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []*call
	for _, c := range t.calls {
		if c.CallID == callID {
			out = append(out, c)
		}
	}
	return out
}

// endAll ends every call and takes no more, as Stop does.
func (t *callTable) endAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for _, c := range t.calls {
		c.end()
	}
}

// Calls returns the calls in progress to the account's toll-free numbers,
// oldest first.
func (s *Server) Calls(account string) []Call {
	s.calls.mu.Lock()
	var out []Call
	for _, c := range s.calls.calls {
		if c.Account == account {
			out = append(out, c.Call)
		}
	}
	s.calls.mu.Unlock()
	slices.SortFunc(out, func(a, b Call) int { return a.Started.Compare(b.Started) })
	return out
}

// RequestOptInForCall implements gateway.CallOptIn: it sends req to the
// remote party of req.Account's call with Call-ID callID, from
// req.TollFree or, when it is empty, from the toll-free number called.
// req.To is replaced by the caller, and an empty req.Source is sip. It
// returns ErrCallNotFound when the account has no such call, and
// otherwise the result or error of the MT service's RequestOptIn.
func (s *Server) RequestOptInForCall(ctx context.Context, req gateway.OptInRequest,
	callID string) (gateway.OptInResult, error) {
	c := s.calls.byCallID(req.Account, callID)
	if c == nil {
		return gateway.OptInResult{}, ErrCallNotFound
	}
	return s.requestOptIn(ctx, c, req, "api")
}

// requestOptIn sends c's remote party the opt-in request req, from the
// number called when req.TollFree is empty. trigger names what asked for
// it, for the log.
func (s *Server) requestOptIn(ctx context.Context, c *call, req gateway.OptInRequest,
	trigger string) (gateway.OptInResult, error) {
	req.Account, req.To = c.Account, c.Caller
	if req.TollFree == "" {
		req.TollFree = c.TollFree
	}
	if req.Source == consent.SourceUnknown {
		req.Source = consent.SourceSIP
	}
	res, err := s.deps.MT.RequestOptIn(ctx, req)
	fields := []zap.Field{
		zap.String("call_id", c.CallID), zap.String("account", c.Account),
		zap.String("to", s.mask(c.Caller)), zap.String("trigger", trigger),
	}
	switch st := gateway.StatusOf(err); {
	case err == nil:
		s.log.Info("opt-in request sent during a call", append(fields, zap.String("message_id", res.MessageID))...)
	case st.Code == gateway.CodeInternal:
		s.log.Error("opt-in request during a call failed", append(fields, zap.Error(err))...)
	default:
		s.log.Info("opt-in request during a call not sent", append(fields, zap.String("code", string(st.Code)))...)
	}
	return res, err
}

// keyPressed handles a key the caller pressed, from RFC 4733 events or a
// SIP INFO. Pressing 1 during the greeting sends one opt-in request per
// call.
func (s *Server) keyPressed(c *call, key rune) {
	if key != '1' || !c.greeting.Load() || !c.keyOptIn.CompareAndSwap(false, true) {
		return
	}
	c.tasks.Add(1)
	go func() {
		defer c.tasks.Done()
		// The request goes out even when the caller hangs up right after
		// the key press, so it runs on the server's context.
		ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.RequestTimeout)
		defer cancel()
		_, _ = s.requestOptIn(ctx, c, gateway.OptInRequest{}, "key_press")
	}()
}

// serveCall answers a call to a toll-free number: the greeting plays and
// a voicemail is recorded after it. diago hangs up when it returns.
func (s *Server) serveCall(d *diago.DialogServerSession) {
	req := d.InviteRequest
	v, ok := s.invites.Load(inviteKey(req))
	if !ok {
		s.respondCall(d, 403, "Forbidden", warning("forbidden", "call not authenticated"))
		return
	}
	invite := v.(pendingInvite)
	number, res := s.calledNumber(req, invite.id)
	if res != nil {
		s.respondCall(d, res.code, res.reason, warning(res.warnCode, res.warnText))
		return
	}
	policy := mediaPolicyFor(invite.id, number.account)
	if err := checkMediaAddrs(req.Body(), policy); err != nil {
		s.log.Info("call rejected: media address not allowed",
			zap.String("call_id", callID(req)), zap.String("source", req.Source()), zap.Error(err))
		// RFC 3261 section 21.4.26: the offer's media cannot be accepted.
		s.respondCall(d, 488, "Not Acceptable Here", mediaWarning(err))
		return
	}
	greeting, err := config.ReadGreeting(s.greetingFile(number))
	if err != nil {
		// RFC 3261 section 21.5.1: optgate cannot serve the call.
		s.log.Error("greeting not readable, call rejected",
			zap.String("toll_free", number.number),
			zap.Error(err))
		s.respondCall(d, 500, "Server Internal Error", warning("internal_error", "greeting not readable"))
		return
	}

	ctx, cancel := context.WithCancel(s.runCtx)
	defer cancel()
	stop := context.AfterFunc(d.Context(), cancel)
	defer stop()
	c := &call{
		Call: Call{CallID: callID(req), Account: number.account, TollFree: number.number,
			Caller: s.callerNumber(req), Started: s.deps.Now()},
		dialogID: d.ID,
		cancel:   cancel,
		media:    policy,
		dialog:   d,
		inviteTx: invite.tx,
	}
	c.remoteCSeq.Store(req.CSeq().SeqNo)
	c.greeting.Store(true)
	if !s.calls.add(c) {
		if s.isClosing() {
			// RFC 3261 section 21.5.4: optgate is stopping.
			s.respondCall(d, 503, "Service Unavailable", warning("unavailable", "optgate is shutting down"))
			return
		}
		// RFC 3261 section 21.4.24: optgate takes no more calls now.
		s.respondCall(d, 486, "Busy Here", warning("busy", "too many calls in progress"))
		return
	}
	defer s.calls.remove(c)
	defer c.tasks.Wait()

	med, err := s.answer(d)
	if err != nil {
		s.log.Debug("call not answered", zap.String("call_id", c.CallID), zap.Error(err))
		// RFC 3261 section 21.4.26: no codec in the offer is acceptable.
		s.respondCall(d, 488, "Not Acceptable Here", warning("not_acceptable", "offer has no G.711 audio"))
		return
	}
	s.metrics.calls.Inc()
	s.log.Info("call answered",
		zap.String("call_id", c.CallID),
		zap.String("account", c.Account),
		zap.String("toll_free", c.TollFree),
		zap.String("caller", s.mask(c.Caller)))
	s.runCall(ctx, c, med, number, greeting)
}

// answer answers with an SDP answer, or with an offer when the INVITE
// had none (RFC 3264 section 5, the late offer).
func (s *Server) answer(d *diago.DialogServerSession) (*diago.DialogMedia, error) {
	if len(d.InviteRequest.Body()) == 0 {
		return d.AnswerLate()
	}
	return d.Answer(diago.AnswerOptions{Codecs: callCodecs})
}

// callRejection is the final response to an INVITE optgate does not
// answer.
type callRejection struct {
	code               int
	reason             string
	warnCode, warnText string
}

// calledNumber returns the toll-free number an INVITE calls, or the
// rejection when it is not one of the caller's accounts' ready numbers.
func (s *Server) calledNumber(req *sip.Request, id identity) (*tollFree, *callRejection) {
	number := s.called(req)
	if number == nil || !slices.Contains(id.accounts, number.account) {
		// RFC 3261 section 21.4.5: no such user here.
		return nil, &callRejection{404, "Not Found", "unknown_destination",
			"the number called is not a toll-free number of the trunk's account"}
	}
	if s.greetingFile(number) == "" {
		// RFC 3261 section 21.4.18: the number cannot take calls now.
		return nil, &callRejection{480, "Temporarily Unavailable", string(gateway.CodeSenderNotReady),
			"the number has no greeting configured"}
	}
	return number, nil
}

// called returns the toll-free number an INVITE calls: the number in To
// or, when To names none, in the Request-URI. It returns nil for a number
// that is not a configured toll-free number.
func (s *Server) called(req *sip.Request) *tollFree {
	var n string
	if to := req.To(); to != nil {
		n = phoneNumber(to.Address)
	}
	if n == "" {
		n = phoneNumber(req.Recipient)
	}
	return s.tollFree(n)
}

// callerNumber returns the caller's number: the first P-Asserted-Identity
// (RFC 3325 section 9.1), which the trunk vouches for, or From.
func (s *Server) callerNumber(req *sip.Request) string {
	if v := headerValue(req, "P-Asserted-Identity"); v != "" {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(v, &u, &params); err == nil {
			if n := phoneNumber(u); n != "" {
				return s.normalize(n)
			}
		}
	}
	if from := req.From(); from != nil {
		return s.normalize(phoneNumber(from.Address))
	}
	return ""
}

// normalize returns n in E.164 form, or n unchanged when it is not a
// phone number; the gateway then reports it as invalid.
func (s *Server) normalize(n string) string {
	if e164, err := consent.NormalizeNumber(n, 0, 0, s.cfg.DefaultRegion); err == nil {
		return e164
	}
	return n
}

// respondCall sends a final response to an INVITE not yet answered.
func (s *Server) respondCall(d *diago.DialogServerSession, code int, reason string, headers ...sip.Header) {
	if d.LoadState() >= sip.DialogStateEstablished {
		return
	}
	if err := d.Respond(code, reason, nil, headers...); err != nil {
		s.log.Debug("call response not sent", zap.Int("status", code), zap.Error(err))
	}
}
