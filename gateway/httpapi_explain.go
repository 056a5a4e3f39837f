package gateway

import (
	"fmt"
	"net/http"
	"time"

	"github.com/optgate/optgate/consent"
)

// explainResponse is the body of GET /v1/explain: the decision a text
// from From to To would get now, without sending anything.
type explainResponse struct {
	Account string `json:"account"`
	From    string `json:"from"`
	To      string `json:"to"`
	Allowed bool   `json:"allowed"`
	// Code is the block, or for an account in shadow mode the block the
	// rules would apply. It is empty when the rules allow the text.
	Code    Code   `json:"code,omitempty"`
	Message string `json:"message"`
	// Shadow reports an account in shadow mode: Allowed is true whatever
	// Code is.
	Shadow    bool `json:"shadow,omitempty"`
	Temporary bool `json:"temporary,omitempty"`
	// HTTPStatus, SMPPStatus and SIPStatus are how a send would fail.
	HTTPStatus int    `json:"http_status,omitempty"`
	SMPPStatus string `json:"smpp_status,omitempty"`
	SIPStatus  int    `json:"sip_status,omitempty"`
	// State, Requests and Updated describe the recipient's consent record
	// with the account, when the number is valid and the store read succeeded.
	State    string    `json:"state,omitempty"`
	Requests int       `json:"requests"`
	Updated  time.Time `json:"updated,omitzero"`
	// Carrier is the carrier the text would go to.
	Carrier string `json:"carrier,omitempty"`
}

// allowedMessage explains a text the rules allow.
const allowedMessage = "the recipient opted in with this account and the sender is ready, so the text may be sent"

// getExplain reports why a text would be allowed or blocked. The from
// parameter defaults to the account's first ready toll-free number.
//
// NOTE: the engine counts the decision in its statistics like one made
// for a real text.
func (a *HTTPAPI) getExplain(w http.ResponseWriter, r *http.Request, c caller) {
	q := r.URL.Query()
	to, from := q.Get("to"), q.Get("from")
	if to == "" {
		a.writeError(w, r, fieldError("to", "missing query parameter to"))
		return
	}
	services := a.services.Load()
	if from == "" {
		from = defaultSender(services.Registry, c.account)
	}

	d := services.Engine.CheckMT(r.Context(), consent.MT{Account: c.account, From: from, To: to})
	out := explainResponse{Account: c.account, From: from, To: to, Allowed: d.Allowed, Shadow: d.Shadow}
	if d.Reason != consent.ReasonNone {
		out.Code = CodeForReason(d.Reason)
	}
	if d.Reason != consent.ReasonInvalidNumber && d.Reason != consent.ReasonUnknownAccount {
		if ev, err := services.Engine.Evidence(r.Context(), c.account, to); err == nil {
			out.To, out.State, out.Requests, out.Updated = ev.Number, ev.State.String(), ev.Requests, ev.Updated
		}
	}
	if d.Allowed && services.Router != nil {
		if carrier, ok := services.Router.Route(out.To); ok {
			out.Carrier = carrier.Name
		} else {
			out.Allowed, out.Shadow, out.Code = false, false, CodeNoRoute
		}
	}
	describeDecision(&out)
	a.writeJSON(w, r, http.StatusOK, out)
}

// describeDecision fills the message and the statuses of a send.
func describeDecision(out *explainResponse) {
	if out.Code == "" {
		out.Message = allowedMessage
		return
	}
	s := StatusFor(out.Code)
	if out.Allowed {
		out.Message = "shadow mode: the text would be sent although the rules block it: " + s.Message
		return
	}
	out.Message, out.Temporary = s.Message, s.Temporary
	out.HTTPStatus, out.SIPStatus = s.HTTP, s.SIP
	out.SMPPStatus = fmt.Sprintf("0x%08X", uint32(s.SMPP))
}

// defaultSender returns the account's first ready toll-free number, or
// its first number when none is ready, so the explanation names the
// not-ready sender. It returns "" for an unknown account.
func defaultSender(reg *Registry, account string) string {
	acct, ok := reg.Account(account)
	if !ok || len(acct.TollFree) == 0 {
		return ""
	}
	if tf, ok := acct.DefaultSender(); ok {
		return tf.Number
	}
	return acct.TollFree[0].Number
}
