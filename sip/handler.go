package sip

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"
)

// allowedMethods lists the methods optgate serves, for the Allow header
// of 405 responses (RFC 3261 section 21.4.6).
const allowedMethods = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, MESSAGE"

// observe counts requests and the responses sent to them, and logs each
// request at Debug level.
func (s *Server) observe(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.metrics.request(req.Method)
		if ce := s.log.Check(zap.DebugLevel, "sip request"); ce != nil {
			ce.Write(zap.String("method", string(req.Method)),
				zap.String("call_id", callID(req)),
				zap.String("source", req.Source()),
				zap.String("transport", req.Transport()))
		}
		if tx == nil {
			h(req, nil)
			return
		}
		ctx := &countingTx{ServerTransaction: tx, m: s.metrics}
		if res := checkRequest(req); res != nil {
			s.log.Debug("sip request rejected before handling",
				zap.String("method", string(req.Method)), zap.String("call_id", callID(req)),
				zap.String("source", req.Source()), zap.Int("status", res.StatusCode))
			s.respond(ctx, res)
			return
		}
		h(req, ctx)
	}
}

// checkRequest returns the response to a request that breaks the rules
// every request follows, or nil:
//
//   - Call-ID, CSeq, From and To are mandatory (RFC 3261 section 8.1.1),
//     and the CSeq method matches the request method (section 8.1.1.5);
//     a request that breaks this is malformed, 400 (section 21.4.1).
//   - A BYE without a To tag belongs to no dialog, so it matches no call:
//     481 (sections 12.2.2 and 15.1.2). A BYE with an unknown tag gets
//     481 from the dialog layer.
func checkRequest(req *sip.Request) *sip.Response {
	var missing []string
	if req.CallID() == nil || strings.TrimSpace(req.CallID().Value()) == "" {
		missing = append(missing, "Call-ID")
	}
	if req.CSeq() == nil {
		missing = append(missing, "CSeq")
	}
	if req.From() == nil {
		missing = append(missing, "From")
	}
	if req.To() == nil {
		missing = append(missing, "To")
	}
	if len(missing) > 0 {
		res := sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
		res.AppendHeader(warning("invalid_request", "missing mandatory header "+strings.Join(missing, ", ")))
		return res
	}
	if m := req.CSeq().MethodName; m != req.Method {
		res := sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
		res.AppendHeader(warning("invalid_request",
			fmt.Sprintf("CSeq method %s does not match the request method %s", m, req.Method)))
		return res
	}
	if req.Method == sip.BYE && !hasToTag(req) {
		res := sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
		res.AppendHeader(warning("unknown_call", "the BYE has no To tag, so it matches no call"))
		return res
	}
	return nil
}

// countingTx counts the responses sent on a server transaction.
type countingTx struct {
	sip.ServerTransaction
	m *metrics
}

// Respond sends res and counts it.
func (t *countingTx) Respond(res *sip.Response) error {
	err := t.ServerTransaction.Respond(res)
	if err == nil {
		t.m.response(res.StatusCode)
	}
	return err
}

// respond sends res on tx. A failure means the transaction ended, for
// example because the peer went away, so it is only logged at Debug
// level.
func (s *Server) respond(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip response not sent", zap.Int("status", res.StatusCode), zap.Error(err))
	}
}

// diagoMiddleware wraps the handlers diago registers (INVITE, ACK, BYE,
// CANCEL, OPTIONS, REFER, NOTIFY). A dialog-creating INVITE, one without
// a To tag (RFC 3261 section 12.1), must come from a trunk. Requests
// inside a dialog are matched by diago to the dialog, whose local tag is
// random, so they need no authentication of their own.
func (s *Server) diagoMiddleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return s.observe(func(req *sip.Request, tx sip.ServerTransaction) {
		if !req.IsInvite() || hasToTag(req) {
			if s.checkDialogMedia(req, tx) {
				next(req, tx)
			}
			return
		}
		if !s.begin() {
			s.respond(tx, unavailable(req, "optgate is shutting down", 5*time.Second))
			return
		}
		defer s.work.Done()
		id, res := s.authenticate(req, s.called(req))
		if res != nil {
			s.respond(tx, res)
			return
		}
		key := inviteKey(req)
		s.invites.Store(key, pendingInvite{id: id, tx: tx})
		defer s.invites.Delete(key)
		next(req, tx)
	})
}

// pendingInvite is the state of an INVITE that the call handler needs
// beyond the request: the sender's identity, and the server transaction
// that Stop ends when the caller never sends the ACK.
type pendingInvite struct {
	id identity
	tx sip.ServerTransaction
}

// checkDialogMedia checks the SDP of a request inside a call: a
// re-INVITE's new offer, or the answer an ACK carries to optgate's late
// offer (RFC 3264 section 5). It reports whether the request may go on to
// diago. A re-INVITE naming a media address the call may not use gets
// 488; such an ACK is dropped and the call ended, so that the dialog is
// never confirmed and no RTP is sent.
func (s *Server) checkDialogMedia(req *sip.Request, tx sip.ServerTransaction) bool {
	if (!req.IsInvite() && !req.IsAck()) || len(req.Body()) == 0 {
		return true
	}
	for _, c := range s.calls.byCallIDAny(callID(req)) {
		err := checkMediaAddrs(req.Body(), c.media)
		if err == nil {
			continue
		}
		s.log.Info("media address not allowed in a call",
			zap.String("method", string(req.Method)), zap.String("call_id", c.CallID),
			zap.String("source", req.Source()), zap.Error(err))
		if req.IsAck() {
			c.end()
			return false
		}
		if tx != nil {
			s.respond(tx, mediaRejected(req, err))
		}
		return false
	}
	return true
}

// handleUnsupported responds to methods optgate does not serve with 405
// and the Allow header RFC 3261 section 21.4.6 requires.
func (s *Server) handleUnsupported(req *sip.Request, tx sip.ServerTransaction) {
	if req.IsAck() || tx == nil {
		return
	}
	res := sip.NewResponseFromRequest(req, 405, "Method Not Allowed", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowedMethods))
	s.respond(tx, res)
}

// inviteKey identifies an INVITE transaction for the call handler, which
// gets a copy of the request: Call-ID, From tag and CSeq number.
func inviteKey(req *sip.Request) string {
	tag := ""
	if from := req.From(); from != nil {
		tag, _ = from.Params.Get("tag")
	}
	seq := uint32(0)
	if c := req.CSeq(); c != nil {
		seq = c.SeqNo
	}
	return callID(req) + "\x00" + tag + "\x00" + strconv.FormatUint(uint64(seq), 10)
}

func hasToTag(req *sip.Request) bool {
	to := req.To()
	return to != nil && to.Params.Has("tag")
}

func callID(req *sip.Request) string {
	if h := req.CallID(); h != nil {
		return h.Value()
	}
	return ""
}

// headerValue returns the trimmed value of req's first header called
// name, or "".
func headerValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return strings.TrimSpace(h.Value())
	}
	return ""
}
