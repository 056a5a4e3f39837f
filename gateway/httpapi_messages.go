package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"unicode"

	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
)

// messageRequest is the body of POST /v1/messages.
type messageRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Text string `json:"text"`
	// ClientRef is the business's own reference, returned with receipts.
	ClientRef string `json:"client_ref"`
	// RegisteredDelivery is the SMPP 3.4 registered_delivery value
	// (section 5.2.17): 1 requests a receipt on the final outcome, 2 a
	// receipt on failure only.
	RegisteredDelivery uint8 `json:"registered_delivery"`
}

// messageResponse is the 202 body of POST /v1/messages.
type messageResponse struct {
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	// ShadowReason is the block the consent rules would have applied, for
	// an account in shadow mode; the text was sent anyway.
	ShadowReason Code `json:"shadow_reason,omitempty"`
}

// maxClientRef bounds client_ref, which is stored with the message.
const maxClientRef = 64

// postMessage sends a business text. It responds 202 once the carrier
// accepted every segment, or with the error of the block or failure.
func (a *HTTPAPI) postMessage(w http.ResponseWriter, r *http.Request, c caller) {
	var req messageRequest
	if e := a.decodeJSON(w, r, &req); e != nil {
		a.writeError(w, r, e)
		return
	}
	if e := firstError(
		required("from", req.From), required("to", req.To), required("text", req.Text),
		checkClientRef(req.ClientRef), checkRegisteredDelivery(req.RegisteredDelivery),
	); e != nil {
		a.writeError(w, r, e)
		return
	}

	res, err := a.services.Load().MT.Submit(r.Context(), MT{
		Account: c.account, From: req.From, To: req.To, Text: req.Text,
		RegisteredDelivery: req.RegisteredDelivery, ClientRef: req.ClientRef, Source: consent.SourceHTTP,
	})
	if err != nil {
		a.writeError(w, r, apiErrorFromGateway(err))
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, messageResponse{
		MessageID: res.MessageID, Segments: res.Segments, ShadowReason: res.Shadow,
	})
}

// optInRequestBody is the body of POST /v1/optin-requests.
type optInRequestBody struct {
	To string `json:"to"`
	// From is one of the account's ready toll-free numbers. Empty means
	// the account's first ready one.
	From string `json:"from"`
	// Source is the channel that led to the request: http (the default),
	// sip for a request made during a call, smpp or api.
	Source             string `json:"source"`
	ClientRef          string `json:"client_ref"`
	RegisteredDelivery uint8  `json:"registered_delivery"`
}

// optInResponse is the 202 body of POST /v1/optin-requests.
type optInResponse struct {
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	// Request is 1 for the first request to the number and 2 for the
	// second and last.
	Request int `json:"request,omitempty"`
	// Text is the request as sent, From and To the numbers in E.164 form.
	Text string `json:"text,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// requestSources are the channels an opt-in request may name.
var requestSources = []consent.Source{consent.SourceHTTP, consent.SourceSIP, consent.SourceSMPP, consent.SourceAPI}

// postOptInRequest sends an opt-in request rendered by the consent engine.
func (a *HTTPAPI) postOptInRequest(w http.ResponseWriter, r *http.Request, c caller) {
	var req optInRequestBody
	if e := a.decodeJSON(w, r, &req); e != nil {
		a.writeError(w, r, e)
		return
	}
	source := consent.SourceHTTP
	if req.Source != "" {
		s, err := consent.ParseSource(req.Source)
		if err != nil || !slices.Contains(requestSources, s) {
			a.writeError(w, r, fieldError("source", fmt.Sprintf("unknown source %q (want http, sip, smpp or api)", req.Source)))
			return
		}
		source = s
	}
	if e := firstError(required("to", req.To), checkClientRef(req.ClientRef),
		checkRegisteredDelivery(req.RegisteredDelivery)); e != nil {
		a.writeError(w, r, e)
		return
	}

	services := a.services.Load()
	res, err := services.MT.RequestOptIn(r.Context(), OptInRequest{
		Account: c.account, TollFree: req.From, To: req.To, Source: source,
		RegisteredDelivery: req.RegisteredDelivery, ClientRef: req.ClientRef,
	})
	if err != nil {
		a.writeError(w, r, apiErrorFromGateway(err))
		return
	}
	out := optInResponse{MessageID: res.MessageID, Segments: res.Segments}
	entry, sequence, err := sentRequest(r.Context(), services.Engine, c.account, req.To, res.MessageID)
	if err != nil {
		// The request went out, so the response is still a success.
		a.log.Warn("reading back a sent opt-in request failed; the response lacks its text",
			zap.String("message_id", res.MessageID),
			zap.Error(err))
	} else {
		out.Request, out.Text, out.From, out.To = sequence, entry.Text, entry.TollFree, entry.Number
	}
	a.writeJSON(w, r, http.StatusAccepted, out)
}

// sentRequest finds the audit entry of the opt-in request sent as
// messageID, and its place (1 or 2) in the request limit.
//
// TODO: MTService.RequestOptIn does not return the rendered text and the
// sequence, so they are read back from the audit trail at the cost of a
// second store read.
func sentRequest(ctx context.Context, engine *consent.Engine, account, to, messageID string) (
	consent.AuditEntry, int, error) {
	ev, err := engine.Evidence(ctx, account, to)
	if err != nil {
		return consent.AuditEntry{}, 0, err
	}
	// Record.Requests counts the requests since the record was created or
	// last voided, so the count restarts at every void.
	count := 0
	for _, e := range ev.Entries {
		switch e.Outcome {
		case consent.OutcomeVoided:
			count = 0
		case consent.OutcomeRequested:
			count++
		}
		if e.Event == consent.EventRequest && slices.Contains(e.MessageIDs, messageID) {
			return e, count, nil
		}
	}
	return consent.AuditEntry{}, 0, fmt.Errorf("no audit entry of account %s names message %s", account, messageID)
}

// fieldError is an invalid_request error about one field.
func fieldError(field, message string) *apiError {
	e := apiErrorFor(codeInvalidRequest, message)
	e.Field = field
	return e
}

func required(field, value string) *apiError {
	if value == "" {
		return fieldError(field, "missing field "+field)
	}
	return nil
}

func checkClientRef(ref string) *apiError {
	if len(ref) > maxClientRef {
		return fieldError("client_ref", fmt.Sprintf("client_ref is %d bytes long; the maximum is %d", len(ref), maxClientRef))
	}
	for _, r := range ref {
		if unicode.IsControl(r) {
			return fieldError("client_ref", "client_ref contains a control character")
		}
	}
	return nil
}

// checkRegisteredDelivery accepts the values SMPP 3.4 section 5.2.17
// defines: receipt bits 0-1 other than the reserved 3, SME
// acknowledgement bits 2-3 and intermediate notification bit 4.
func checkRegisteredDelivery(v uint8) *apiError {
	if v&0xE0 != 0 || v&0x03 == 0x03 {
		return fieldError("registered_delivery",
			fmt.Sprintf("registered_delivery %d uses reserved bits; use 0 (no receipt), 1 (receipt) or 2 (receipt on failure)", v))
	}
	return nil
}

func firstError(errs ...*apiError) *apiError {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
