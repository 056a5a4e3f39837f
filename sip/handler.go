package sip

import (
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
		h(req, &countingTx{ServerTransaction: tx, m: s.metrics})
	}
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
			next(req, tx)
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
		s.invites.Store(key, id)
		defer s.invites.Delete(key)
		next(req, tx)
	})
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
