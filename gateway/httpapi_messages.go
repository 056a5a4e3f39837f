package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"unicode"

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

// messageIDForm is the form of optgate's message ids: at most 64
// letters, digits, '-' and '_'.
var messageIDForm = regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`)

// getMessage returns the status of a message the account sent. An id of
// another account gets the 404 of an unknown one.
func (a *HTTPAPI) getMessage(w http.ResponseWriter, r *http.Request, c caller) {
	id := r.PathValue("id")
	if !messageIDForm.MatchString(id) {
		a.writeError(w, r, fieldError("id", invalidMessageID(id)))
		return
	}
	st, err := a.services.Load().MT.MessageStatus(r.Context(), c.account, id)
	switch {
	case errors.Is(err, ErrNotFound):
		a.writeError(w, r, apiErrorFor(codeMessageNotFound, fmt.Sprintf(
			"account %s sent no message %s in the time optgate keeps message states (receipts.keep_after_final after the final state, at most receipts.id_map_ttl)",
			c.account, id)))
		return
	case err != nil:
		a.writeError(w, r, apiErrorFromStore(err))
		return
	}
	a.writeJSON(w, r, http.StatusOK, st)
}

func invalidMessageID(id string) string {
	if len(id) > 64 {
		return fmt.Sprintf("the message id is %d bytes long; optgate's ids have at most 64", len(id))
	}
	return fmt.Sprintf("invalid message id %q: optgate's ids are letters, digits, '-' and '_'", id)
}

// optInRequestBody is the body of POST /v1/optin-requests.
type optInRequestBody struct {
	To string `json:"to"`
	// CallID names a SIP call in progress in place of To: the request
	// goes to the call's caller, from the toll-free number called unless
	// From is set.
	CallID string `json:"call_id"`
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
	Request int `json:"request"`
	// Text is the request as sent, From and To the numbers in E.164 form.
	Text string `json:"text"`
	From string `json:"from"`
	To   string `json:"to"`
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
	if req.CallID != "" {
		source = consent.SourceSIP
	}
	if req.Source != "" {
		s, err := consent.ParseSource(req.Source)
		if err != nil || !slices.Contains(requestSources, s) {
			a.writeError(w, r, fieldError("source", fmt.Sprintf("unknown source %q (want http, sip, smpp or api)", req.Source)))
			return
		}
		source = s
	}
	if req.CallID != "" {
		if e := firstError(checkClientRef(req.ClientRef), checkRegisteredDelivery(req.RegisteredDelivery)); e != nil {
			a.writeError(w, r, e)
			return
		}
		a.postCallOptInRequest(w, r, c, req, source)
		return
	}
	if e := firstError(required("to", req.To), checkClientRef(req.ClientRef),
		checkRegisteredDelivery(req.RegisteredDelivery)); e != nil {
		a.writeError(w, r, e)
		return
	}

	res, err := a.services.Load().MT.RequestOptIn(r.Context(), OptInRequest{
		Account: c.account, TollFree: req.From, To: req.To, Source: source,
		RegisteredDelivery: req.RegisteredDelivery, ClientRef: req.ClientRef,
	})
	if err != nil {
		a.writeError(w, r, apiErrorFromGateway(err))
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, optInResponse{
		MessageID: res.MessageID, Segments: res.Segments, Request: res.Request,
		Text: res.Text, From: res.From, To: res.To,
	})
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
