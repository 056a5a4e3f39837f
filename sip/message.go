package sip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/emiago/sipgo/sip"
	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway"
)

// maxClientRef bounds the Optgate-Client-Ref header, which is stored with
// the message, like client_ref of the HTTP API.
const maxClientRef = 64

// handleMessage sends a business text that a PBX trunk sent as a MESSAGE
// (RFC 3428) through the MT service. It responds 202 Accepted once the
// carrier accepted every segment, because RFC 3428 section 7 uses 202
// when the request was passed on rather than delivered to the user. A block or
// failure gets the SIP status of the gateway's status table.
func (s *Server) handleMessage(req *sip.Request, tx sip.ServerTransaction) {
	if !s.begin() {
		s.respond(tx, unavailable(req, "optgate is shutting down", 5*time.Second))
		return
	}
	defer s.work.Done()
	if !s.acquire() {
		s.respond(tx, unavailable(req, "too many requests in progress", time.Second))
		return
	}
	defer s.release()
	s.respond(tx, s.message(req))
}

// message returns the response to a MESSAGE.
func (s *Server) message(req *sip.Request) *sip.Response {
	if req.From() == nil || req.To() == nil {
		// RFC 3261 section 8.1.1: every request has From and To.
		return badHeader(req, "From", errors.New("From or To is missing"))
	}
	from := phoneNumber(req.From().Address)
	sender := s.tollFree(from)
	id, res := s.authenticate(req, sender)
	if res != nil {
		return res
	}
	// Content processing, RFC 3261 section 8.2.3: a body optgate cannot
	// read gets 415 before anything is sent.
	text, err := messageText(req)
	if err != nil {
		return contentResponse(req, err)
	}
	registered, err := registeredDelivery(headerValue(req, HeaderReceipt))
	if err != nil {
		return badHeader(req, HeaderReceipt, err)
	}
	clientRef := headerValue(req, HeaderClientRef)
	if err := checkClientRef(clientRef); err != nil {
		return badHeader(req, HeaderClientRef, err)
	}

	to := phoneNumber(req.To().Address)
	if to == "" {
		to = phoneNumber(req.Recipient)
	}
	mt := gateway.MT{
		Account: id.accountFor(sender), From: from, To: to, Text: text, Source: consent.SourceSIP,
		RegisteredDelivery: registered, ClientRef: clientRef,
	}

	ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.RequestTimeout)
	defer cancel()
	result, err := s.deps.MT.Submit(ctx, mt)
	if err != nil {
		if ce := s.log.Check(zap.DebugLevel, "sip message not sent"); ce != nil {
			ce.Write(zap.String("account", mt.Account), zap.String("trunk", id.trunk),
				zap.String("to", s.mask(to)), zap.Error(err))
		}
		return errorResponse(req, err)
	}
	if ce := s.log.Check(zap.DebugLevel, "sip message sent"); ce != nil {
		ce.Write(zap.String("account", mt.Account), zap.String("trunk", id.trunk),
			zap.String("to", s.mask(to)), zap.String("message_id", result.MessageID),
			zap.Int("segments", result.Segments))
	}
	res = sip.NewResponseFromRequest(req, 202, "Accepted", nil)
	res.AppendHeader(sip.NewHeader(HeaderMessageID, result.MessageID))
	return res
}

// tollFree returns the toll-free number n names, or nil when n is not
// one of the configured toll-free numbers.
func (s *Server) tollFree(n string) *tollFree {
	e164, err := consent.NormalizeNumber(n, 0, 0, s.cfg.DefaultRegion)
	if err != nil {
		return nil
	}
	number, _ := s.dir.Load().number(e164)
	return number
}

// acquire takes one of the MaxRequests slots without waiting.
func (s *Server) acquire() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Server) release() { <-s.slots }

// registeredDelivery reads the Optgate-Receipt header.
func registeredDelivery(v string) (uint8, error) {
	switch strings.ToLower(v) {
	case "", "none":
		return 0, nil
	case "final":
		return 1, nil
	case "failure":
		return 2, nil
	}
	return 0, fmt.Errorf("%q is not final, failure or none", v)
}

func checkClientRef(ref string) error {
	if len(ref) > maxClientRef {
		return fmt.Errorf("%d bytes long; the maximum is %d", len(ref), maxClientRef)
	}
	for _, r := range ref {
		if unicode.IsControl(r) {
			return fmt.Errorf("contains a control character")
		}
	}
	return nil
}

// badHeader returns 400 Bad Request for an invalid header value
// (RFC 3261 section 21.4.1), naming the header in a Warning.
func badHeader(req *sip.Request, name string, err error) *sip.Response {
	res := sip.NewResponseFromRequest(req, 400, "Bad Request", nil)
	res.AppendHeader(warning("invalid_request", name+": "+err.Error()))
	return res
}
