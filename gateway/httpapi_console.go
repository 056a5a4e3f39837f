package gateway

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/gateway/console"
	"github.com/optgate/optgate/smpp"
)

// ConsoleSources are the daemon parts that the console's operator
// endpoints read. Every field is optional: a missing one leaves its part
// of the response empty.
type ConsoleSources struct {
	// Carriers are the carrier binds shown by GET /v1/binds.
	Carriers *CarrierSet
	// ESME is the business SMPP server whose binds GET /v1/binds shows.
	ESME *ESMEServer
	// Traffic gives the message rates of GET /v1/binds.
	Traffic *TrafficRates
	// Blocks lists the recent blocks of GET /v1/blocks/recent. It gets
	// them when it is also the MT service's OnBlock hook.
	Blocks *BlockLog
	// Now is the clock the preview checks quiet hours with. It should be
	// the consent engine's clock. Default time.Now.
	Now func() time.Time
}

// consoleRoutes registers the console's files and its endpoints.
func (a *HTTPAPI) consoleRoutes(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET "+console.Prefix, console.Handler().ServeHTTP)
	handle("GET /v1/numbers", a.authed(accessAccountOrAll, a.getNumbers))
	handle("POST /v1/optin-requests/preview", a.authed(accessRead, a.postOptInPreview))
	handle("GET /v1/binds", a.authed(accessOperator, a.getBinds))
	handle("GET /v1/blocks/recent", a.authed(accessOperator, a.getRecentBlocks))
}

// numberView is one toll-free number in GET /v1/numbers.
type numberView struct {
	Number    string `json:"number"`
	Account   string `json:"account"`
	Ready     bool   `json:"ready"`
	Greeting  bool   `json:"greeting"`
	Voicemail bool   `json:"voicemail"`
	// Problems lists what keeps the number from being ready, one sentence
	// each. It is empty when the number is ready.
	Problems []string `json:"problems"`
}

// getNumbers lists the toll-free numbers of the caller's account, or of
// every account for the operator, with their readiness.
func (a *HTTPAPI) getNumbers(w http.ResponseWriter, r *http.Request, c caller) {
	registry := a.services.Load().Registry
	ids := []string{c.account}
	if c.operator && c.account == "" {
		ids = registry.IDs()
	}
	out := struct {
		Numbers []numberView `json:"numbers"`
	}{Numbers: []numberView{}}
	for _, id := range ids {
		acct, ok := registry.Account(id)
		if !ok {
			// Only the operator can name an account that is not
			// configured.
			a.writeError(w, r, fieldError("account", fmt.Sprintf("no account %q is configured", id)))
			return
		}
		for _, n := range acct.TollFree {
			out.Numbers = append(out.Numbers, numberViewOf(id, n))
		}
	}
	slices.SortStableFunc(out.Numbers, func(x, y numberView) int { return cmp.Compare(x.Account, y.Account) })
	a.writeJSON(w, r, http.StatusOK, out)
}

func numberViewOf(account string, n consent.TollFreeNumber) numberView {
	v := numberView{
		Number: n.Number, Account: account, Ready: n.Ready(), Greeting: n.Greeting, Voicemail: n.Voicemail,
		Problems: []string{},
	}
	if !n.Greeting {
		v.Problems = append(v.Problems, "no custom greeting: upload one or set toll_free[].greeting")
	}
	if !n.Voicemail {
		v.Problems = append(v.Problems, "voicemail is off: set toll_free[].voicemail.enabled")
	}
	return v
}

// previewRequest is the body of POST /v1/optin-requests/preview. Empty
// template fields take the account's configured values.
type previewRequest struct {
	// To is the number the request would go to. Optional: without it the
	// response does not say whether a request is allowed.
	To string `json:"to"`
	// From is the toll-free sender. Default: the account's first ready
	// number, or its first number when none is ready.
	From         string `json:"from"`
	BusinessName string `json:"business_name"`
	Website      string `json:"website"`
	Details      string `json:"details"`
}

// previewResponse is the body of a preview.
type previewResponse struct {
	Text     string `json:"text"`
	Segments int    `json:"segments"`
	// Encoding is gsm7 (the GSM 03.38 default alphabet) or ucs2.
	Encoding   string `json:"encoding"`
	Characters int    `json:"characters"`
	From       string `json:"from"`
	// BusinessName, Website and Details are the values rendered.
	BusinessName string `json:"business_name"`
	Website      string `json:"website"`
	Details      string `json:"details"`
	// Configured is true when the values rendered are the account's
	// configured ones, which POST /v1/optin-requests sends.
	Configured bool `json:"configured"`
	// To, Allowed, Reason, Message, State, Requests and QuietHours
	// describe the number when the request named one. Reason is the code
	// a request would fail with now. QuietHours is true when the account
	// keeps quiet hours and it is quiet hours at the number now, so a
	// request would fail with quiet_hours even once nothing else stops it.
	To         string        `json:"to,omitempty"`
	Allowed    *bool         `json:"allowed,omitempty"`
	Reason     Code          `json:"reason,omitempty"`
	Message    string        `json:"message,omitempty"`
	State      consent.State `json:"state,omitzero"`
	Requests   int           `json:"requests,omitempty"`
	QuietHours bool          `json:"quiet_hours,omitempty"`
}

// MarshalJSON writes state and requests whenever the preview names a
// number, "none" and 0 included, so that a client never has to guess
// the value of a missing field; without a number they are left out.
func (p previewResponse) MarshalJSON() ([]byte, error) {
	type plain previewResponse
	if p.To == "" {
		return json.Marshal(plain(p))
	}
	return json.Marshal(struct {
		plain
		State    consent.State `json:"state"`
		Requests int           `json:"requests"`
	}{plain(p), p.State, p.Requests})
}

// postOptInPreview renders the opt-in request the account would send, for
// the template fields given, and checks whether the number may still get
// one. It records and sends nothing.
func (a *HTTPAPI) postOptInPreview(w http.ResponseWriter, r *http.Request, c caller) {
	var req previewRequest
	if e := a.decodeJSON(w, r, &req); e != nil {
		a.writeError(w, r, e)
		return
	}
	services := a.services.Load()
	acct, ok := services.Registry.Account(c.account)
	if !ok {
		a.writeError(w, r, fieldError("account", fmt.Sprintf("no account %q is configured", c.account)))
		return
	}
	configured := acct.RequestTemplate()
	tmpl := configured
	for _, f := range []struct {
		value string
		dst   *string
	}{{req.BusinessName, &tmpl.BusinessName}, {req.Website, &tmpl.Website}, {req.Details, &tmpl.Details}} {
		if strings.TrimSpace(f.value) != "" {
			*f.dst = f.value
		}
	}
	if e := checkTemplateFields(tmpl); e != nil {
		a.writeError(w, r, e)
		return
	}
	from, e := previewSender(acct, req.From)
	if e != nil {
		a.writeError(w, r, e)
		return
	}
	rendered, err := consent.RenderRequest(tmpl, from)
	if err != nil {
		a.writeError(w, r, apiErrorFor(codeInvalidRequest, err.Error()))
		return
	}

	resp := previewResponse{
		Text: rendered.Text, Segments: rendered.Segments, Encoding: encodingName(rendered.Coding),
		Characters: len([]rune(rendered.Text)), From: from,
		BusinessName: tmpl.BusinessName, Website: tmpl.Website, Details: tmpl.Details,
		Configured: tmpl.BusinessName == configured.BusinessName && tmpl.Website == configured.Website &&
			tmpl.Details == configured.Details,
	}
	if req.To != "" {
		if e := a.previewRecipient(r, c.account, acct, from, req.To, &resp); e != nil {
			a.writeError(w, r, e)
			return
		}
	}
	a.writeJSON(w, r, http.StatusOK, resp)
}

// previewRecipient fills the number's state and whether it may get a
// request, by the rules of consent.Engine.RequestOptIn. A number gets none
// once it opted out or while it is opted in, and at most
// consent.MaxRequests. A request also needs a ready sender, and no quiet
// hours when the account keeps them. The lasting reasons are reported
// before quiet hours, which end by themselves.
func (a *HTTPAPI) previewRecipient(r *http.Request, account string, acct *consent.Account, from, to string,
	resp *previewResponse) *apiError {
	ev, err := a.services.Load().Engine.Evidence(r.Context(), account, to)
	if err != nil {
		e := apiErrorFromGateway(err)
		if e.Code == CodeInvalidNumber {
			e.Field, e.Detail = "to", err.Error()
		}
		return e
	}
	resp.To, resp.State, resp.Requests = ev.Number, ev.State, ev.Requests
	now := time.Now
	if a.cfg.Console.Now != nil {
		now = a.cfg.Console.Now
	}
	resp.QuietHours = inQuietHours(now(), acct, ev.Number)
	var reason Code
	switch {
	case ev.State == consent.StateOptedOut:
		reason = CodeOptedOut
	case ev.State == consent.StateOptedIn:
		reason = CodeAlreadyOptedIn
	case ev.Requests >= consent.MaxRequests:
		reason = CodeRequestLimit
	default:
		if n, _ := acct.Sender(from); !n.Ready() {
			reason = CodeSenderNotReady
		} else if resp.QuietHours {
			reason = CodeQuietHours
		}
	}
	allowed := reason == ""
	resp.Allowed = &allowed
	if !allowed {
		resp.Reason, resp.Message = reason, StatusFor(reason).Message
	}
	return nil
}

// checkTemplateFields validates each field on its own, so the error names
// the field at fault.
func checkTemplateFields(t consent.Template) *apiError {
	fields := []struct {
		name string
		tmpl consent.Template
	}{
		{"business_name", consent.Template{BusinessName: t.BusinessName}},
		{"website", consent.Template{BusinessName: "x", Website: t.Website}},
		{"details", consent.Template{BusinessName: "x", Details: t.Details}},
	}
	for _, f := range fields {
		if err := f.tmpl.Validate(); err != nil {
			return fieldError(f.name, "invalid "+f.name+": "+err.Error())
		}
	}
	return nil
}

// previewSender returns the sender of a preview: the given number when the
// account owns it, else the first ready number, else the first number.
func previewSender(acct *consent.Account, from string) (string, *apiError) {
	if from != "" {
		n, err := consent.NormalizeNumber(from, 0, 0, "US")
		if err != nil {
			return "", fieldError("from", "invalid from: "+err.Error())
		}
		if _, ok := acct.Sender(n); !ok {
			return "", apiErrorFromStatus(StatusFor(CodeSenderNotOwned), errors.New("preview sender not owned"))
		}
		return n, nil
	}
	if n, ok := acct.DefaultSender(); ok {
		return n.Number, nil
	}
	return acct.TollFree[0].Number, nil
}

// encodingName names the data_coding of a rendered text.
func encodingName(c smpp.DataCoding) string {
	if c == smpp.CodingUCS2 {
		return "ucs2"
	}
	return "gsm7"
}
