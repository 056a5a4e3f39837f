package sip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/optgate/optgate/gateway"
)

// infoAccept lists the INFO bodies optgate reads, for the Accept header
// of a 415 response.
const infoAccept = contentOptIn + ", " + contentDTMFRelay + ", " + contentDTMF

// maxOptInBody bounds the JSON body of an opt-in INFO.
const maxOptInBody = 4096

// optInBody is the optional JSON body of an opt-in INFO.
type optInBody struct {
	// TollFree is the sender of the request, one of the account's ready
	// toll-free numbers. Default: the number called.
	TollFree string `json:"toll_free"`
}

// handleInfo serves INFO requests inside a call (RFC 6086). optgate
// defines no Info-Package and reads the body by its Content-Type, as the
// legacy INFO usages before RFC 6086 do:
//
//   - application/x-optgate-optin sends the call's remote party an opt-in
//     request: 200 OK with Optgate-Message-ID when it was sent, and the
//     status table's response when the gateway refused it.
//   - application/dtmf-relay and application/dtmf carry a key press, read
//     like an RFC 4733 telephone-event.
//
// An INFO outside a known call gets 481 (RFC 3261 section 12.2.2).
func (s *Server) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
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
	s.respond(tx, s.info(req))
}

func (s *Server) info(req *sip.Request) *sip.Response {
	c := s.callOf(req)
	if c == nil {
		return sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil)
	}
	if res := s.inDialog(req, c); res != nil {
		return res
	}
	mediaType, _, err := contentType(req)
	if err != nil {
		return badHeader(req, "Content-Type", err)
	}
	switch mediaType {
	case contentOptIn:
		return s.infoOptIn(req, c)
	case contentDTMFRelay, contentDTMF:
		key, err := dtmfKey(mediaType, req.Body())
		if err != nil {
			return badHeader(req, "body", err)
		}
		s.keyPressed(c, key)
		return sip.NewResponseFromRequest(req, 200, "OK", nil)
	}
	// RFC 3261 section 21.4.13: list what optgate reads.
	res := sip.NewResponseFromRequest(req, 415, "Unsupported Media Type", nil)
	res.AppendHeader(sip.NewHeader("Accept", infoAccept))
	return res
}

// callOf returns the call whose dialog an in-dialog request belongs to.
func (s *Server) callOf(req *sip.Request) *call {
	id, err := sip.DialogIDFromRequestUAS(req)
	if err != nil {
		return nil
	}
	return s.calls.byDialog(id)
}

// inDialog checks the CSeq of a request inside c's dialog: a lower one
// than the last gets 500 (RFC 3261 section 12.2.2). The dialog's own
// counter is left alone, because sipgo matches the ACK of the INVITE
// against it, and an INFO may overtake that ACK.
func (s *Server) inDialog(req *sip.Request, c *call) *sip.Response {
	seq := req.CSeq().SeqNo
	for {
		last := c.remoteCSeq.Load()
		if seq < last {
			return sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil)
		}
		if c.remoteCSeq.CompareAndSwap(last, seq) {
			return nil
		}
	}
}

func (s *Server) infoOptIn(req *sip.Request, c *call) *sip.Response {
	var body optInBody
	if b := bytes.TrimSpace(req.Body()); len(b) > 0 {
		if len(b) > maxOptInBody {
			return badHeader(req, "body", fmt.Errorf("longer than %d bytes", maxOptInBody))
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			return badHeader(req, "body", fmt.Errorf("invalid JSON: %w", err))
		}
	}
	ctx, cancel := context.WithTimeout(s.runCtx, s.cfg.RequestTimeout)
	defer cancel()
	result, err := s.requestOptIn(ctx, c, gateway.OptInRequest{TollFree: body.TollFree}, "info")
	if err != nil {
		return errorResponse(req, err)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader(HeaderMessageID, result.MessageID))
	return res
}

// dtmfKey reads the key of a DTMF INFO body: "Signal=1" (with an
// optional Duration line) for application/dtmf-relay, and the bare key
// for application/dtmf.
func dtmfKey(mediaType string, body []byte) (rune, error) {
	value := strings.TrimSpace(string(body))
	if mediaType == contentDTMFRelay {
		value = ""
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				value = strings.TrimSpace(v)
				break
			}
		}
	}
	if len(value) != 1 || !strings.ContainsAny(value, "0123456789*#ABCDabcd") {
		return 0, fmt.Errorf("no DTMF key in %q", value)
	}
	return rune(strings.ToUpper(value)[0]), nil
}
