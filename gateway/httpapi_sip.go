package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/optgate/optgate/consent"
)

// APICaller is who an HTTP API request acts for, as the handler in
// HTTPAPIConfig.SIP reads it.
type APICaller struct {
	// Account is the caller's account. For the operator it is the
	// ?account= parameter, and empty means every account.
	Account  string
	Operator bool
}

type apiCallerKey struct{}

// APICallerFrom returns the caller that the HTTP API authenticated for a
// request it passed to HTTPAPIConfig.SIP. It reports false for any other
// context.
func APICallerFrom(ctx context.Context) (APICaller, bool) {
	c, ok := ctx.Value(apiCallerKey{}).(APICaller)
	return c, ok
}

// sipRoutes registers the endpoints that HTTPAPIConfig.SIP serves after
// authentication:
//
//   - GET /v1/voicemails lists voicemails, GET /v1/voicemails/{id}
//     downloads one as audio/wav, DELETE /v1/voicemails/{id} deletes one;
//   - PUT /v1/numbers/{number}/greeting uploads a toll-free number's
//     greeting as a WAV file.
//
// An account token reaches its own account; the operator token reaches
// the ?account= parameter's account or, without one, every account.
func (a *HTTPAPI) sipRoutes(handle func(pattern string, h http.HandlerFunc)) {
	for _, pattern := range []string{
		"GET /v1/voicemails",
		"GET /v1/voicemails/{id}",
		"DELETE /v1/voicemails/{id}",
		"PUT /v1/numbers/{number}/greeting",
	} {
		handle(pattern, a.authed(accessAccountOrAll, a.serveSIP))
	}
}

func (a *HTTPAPI) serveSIP(w http.ResponseWriter, r *http.Request, c caller) {
	if a.cfg.SIP == nil {
		a.writeError(w, r, apiErrorFor(codeNotImplemented,
			"this optgate serves no SIP, so it keeps no voicemails or greetings; set listeners.sip.enabled"))
		return
	}
	ctx := context.WithValue(r.Context(), apiCallerKey{}, APICaller{Account: c.account, Operator: c.operator})
	a.cfg.SIP.ServeHTTP(w, r.WithContext(ctx))
}

// postCallOptInRequest sends an opt-in request to the remote party of the
// account's SIP call with Call-ID req.CallID, from the toll-free number
// the call reached unless req.From names another.
func (a *HTTPAPI) postCallOptInRequest(w http.ResponseWriter, r *http.Request, c caller, req optInRequestBody,
	source consent.Source) {
	if req.To != "" {
		a.writeError(w, r, fieldError("to", "give either to or call_id, not both: "+
			"with call_id the request goes to the caller of that call"))
		return
	}
	calls := a.services.Load().Calls
	if calls == nil {
		a.writeError(w, r, fieldError("call_id",
			"this optgate serves no SIP, so there are no calls; send to instead"))
		return
	}
	res, err := calls.RequestOptInForCall(r.Context(), OptInRequest{
		Account: c.account, TollFree: req.From, Source: source,
		RegisteredDelivery: req.RegisteredDelivery, ClientRef: req.ClientRef,
	}, req.CallID)
	if errors.Is(err, ErrCallNotFound) {
		e := apiErrorFor(codeNotFound, fmt.Sprintf("account %s has no SIP call in progress with Call-ID %q",
			c.account, req.CallID))
		e.Field = "call_id"
		a.writeError(w, r, e)
		return
	}
	if err != nil {
		a.writeError(w, r, apiErrorFromGateway(err))
		return
	}
	a.writeJSON(w, r, http.StatusAccepted, optInResponse{
		MessageID: res.MessageID, Segments: res.Segments, Request: res.Request,
		Text: res.Text, From: res.From, To: res.To,
	})
}
