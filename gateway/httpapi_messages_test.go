package gateway

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

var apiMessageID = regexp.MustCompile(`^[0-9a-f]{16}$`)

func messageBody(from, to, text string) string {
	return fmt.Sprintf(`{"from":%q,"to":%q,"text":%q}`, from, to, text)
}

func TestHTTPSendMessage(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)

	w := f.post("/v1/messages", apiAcmeToken,
		`{"from":"+18885550100","to":"+12015550101","text":"Your cleaning is at 3pm.","client_ref":"appt-17","registered_delivery":1}`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body %s", w.Code, w.Body.String())
	}
	res := decodeAPIBody[messageResponse](t, w)
	if !apiMessageID.MatchString(res.MessageID) {
		t.Errorf("message_id = %q, want 16 lowercase hex digits", res.MessageID)
	}
	if res.Segments != 1 {
		t.Errorf("segments = %d, want 1", res.Segments)
	}
	if res.ShadowReason != "" {
		t.Errorf("shadow_reason = %q, want none", res.ShadowReason)
	}
	pdus := f.link.sent()
	if len(pdus) != 1 {
		t.Fatalf("carrier got %d PDUs, want 1", len(pdus))
	}
	if pdus[0].SourceAddr != "18885550100" || pdus[0].DestinationAddr != "12015550101" {
		t.Errorf("PDU addresses = %q -> %q", pdus[0].SourceAddr, pdus[0].DestinationAddr)
	}
	if string(pdus[0].ShortMessage) != "Your cleaning is at 3pm." {
		t.Errorf("short_message = %q", pdus[0].ShortMessage)
	}
	if pdus[0].RegisteredDelivery != 1 {
		t.Errorf("registered_delivery = %d, want 1", pdus[0].RegisteredDelivery)
	}
}

func TestHTTPSendLongMessage(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	w := f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, apiSubscriber, strings.Repeat("a", 200)))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body %s", w.Code, w.Body.String())
	}
	if res := decodeAPIBody[messageResponse](t, w); res.Segments != 2 {
		t.Errorf("segments = %d, want 2", res.Segments)
	}
	if n := len(f.link.sent()); n != 2 {
		t.Errorf("carrier got %d PDUs, want 2", n)
	}
}

func TestHTTPSendShadowMode(t *testing.T) {
	f := newAPIFixture(t, apiOptions{acme: func(a *config.Account) { a.Shadow = true }})
	w := f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, apiSubscriber, "hello"))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d, want 202; body %s", w.Code, w.Body.String())
	}
	if res := decodeAPIBody[messageResponse](t, w); res.ShadowReason != CodeNoConsent {
		t.Errorf("shadow_reason = %q, want %q", res.ShadowReason, CodeNoConsent)
	}
}

func TestHTTPSendBlockReasons(t *testing.T) {
	tests := []struct {
		name       string
		opts       apiOptions
		setup      func(f *apiFixture)
		from, to   string
		status     int
		code       Code
		retryAfter string
	}{
		{name: "no consent", status: 403, code: CodeNoConsent},
		{name: "opted out", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedOut) },
			status: 403, code: CodeOptedOut},
		{name: "request limit", setup: func(f *apiFixture) {
			for range 2 {
				if _, err := f.engine.RequestOptIn(f.ctx, consent.OptInRequest{Account: "acme", To: apiSubscriber}); err != nil {
					f.t.Fatal(err)
				}
			}
		}, status: 403, code: CodeRequestLimit},
		{name: "number voided", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateVoided) },
			status: 403, code: CodeNumberVoided},
		{name: "sender not toll-free", from: apiSubscriber2, status: 403, code: CodeSenderNotTollFree},
		{name: "sender of another account", from: apiGlobexTF, status: 403, code: CodeSenderNotOwned},
		{name: "sender not owned", from: apiStrangerTF, status: 403, code: CodeSenderNotOwned},
		{name: "sender not ready", from: apiAcmeNotReady, status: 403, code: CodeSenderNotReady},
		{name: "invalid recipient", to: "not a number", status: 400, code: CodeInvalidNumber},
		{name: "quiet hours", retryAfter: "1800",
			opts: apiOptions{acme: func(a *config.Account) { a.QuietHours = true },
				now: time.Date(2026, 3, 11, 3, 0, 0, 0, time.UTC)}, // 23:00 in New Jersey
			setup:  func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedIn) },
			status: 503, code: CodeQuietHours},
		{name: "store unavailable", retryAfter: "5", setup: func(f *apiFixture) {
			f.setState("acme", apiSubscriber, consent.StateOptedIn)
			f.consent.fail.Store(true)
		}, status: 503, code: CodeStoreUnavailable},
		{name: "no route", opts: apiOptions{routes: []string{"+1415"}},
			setup:  func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedIn) },
			status: 422, code: CodeNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, tt.opts)
			if tt.setup != nil {
				tt.setup(f)
			}
			from, to := cmp.Or(tt.from, apiAcmeTF), cmp.Or(tt.to, apiSubscriber)
			w := f.post("/v1/messages", apiAcmeToken, messageBody(from, to, "Your cleaning is at 3pm."))
			body := wantAPIError(t, w, tt.status, tt.code)
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if want := StatusFor(tt.code).Message; body.Error.Message != want {
				t.Errorf("message = %q, want the status table's %q", body.Error.Message, want)
			}
			if body.Error.Temporary != StatusFor(tt.code).Temporary {
				t.Errorf("temporary = %v, want %v", body.Error.Temporary, StatusFor(tt.code).Temporary)
			}
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs for a blocked text", n)
			}
		})
	}
}

func TestHTTPSendInvalidRecipientDetail(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, "12", "hi"))
	body := wantAPIError(t, w, http.StatusBadRequest, CodeInvalidNumber)
	if !strings.Contains(body.Error.Detail, "recipient") {
		t.Errorf("detail = %q, want it to name the recipient", body.Error.Detail)
	}
}

func TestHTTPSendMessageTooLong(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	// 256 segments of 153 GSM characters need more than the 255 a UDH
	// concatenation counter holds.
	w := f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, apiSubscriber, strings.Repeat("a", 153*256)))
	wantAPIError(t, w, http.StatusRequestEntityTooLarge, CodeMessageTooLong)
	if n := len(f.link.sent()); n != 0 {
		t.Errorf("carrier got %d PDUs", n)
	}
}

func TestHTTPSendCarrierOutcomes(t *testing.T) {
	tests := []struct {
		name          string
		text          string
		fail          func(n int) error
		status        int
		code          Code
		carrierStatus string
		messageID     bool
		accepted      int
	}{
		{name: "rejected", fail: func(int) error { return &smpp.StatusError{Status: smpp.StatusInvalidDestAddr} },
			status: 502, code: CodeCarrierRejected, carrierStatus: smpp.StatusInvalidDestAddr.String()},
		{name: "throttled", fail: func(int) error { return &smpp.StatusError{Status: smpp.StatusThrottled} },
			status: 503, code: CodeCarrierBusy, carrierStatus: smpp.StatusThrottled.String()},
		{name: "no session", fail: func(int) error { return ErrLinkUnavailable },
			status: 503, code: CodeCarrierUnavailable},
		{name: "timeout", fail: func(int) error { return context.DeadlineExceeded },
			status: 504, code: CodeCarrierTimeout},
		{name: "partial", text: strings.Repeat("b", 300), fail: func(n int) error {
			if n == 2 {
				return &smpp.StatusError{Status: smpp.StatusSubmitFailed}
			}
			return nil
		}, status: 502, code: CodePartialSubmit, carrierStatus: smpp.StatusSubmitFailed.String(),
			messageID: true, accepted: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			f.setState("acme", apiSubscriber, consent.StateOptedIn)
			f.link.setFail(tt.fail)
			w := f.post("/v1/messages", apiAcmeToken, messageBody(apiAcmeTF, apiSubscriber, cmp.Or(tt.text, "hello")))
			body := wantAPIError(t, w, tt.status, tt.code)
			if body.Error.CarrierStatus != tt.carrierStatus {
				t.Errorf("carrier_status = %q, want %q", body.Error.CarrierStatus, tt.carrierStatus)
			}
			if tt.messageID && !apiMessageID.MatchString(body.Error.MessageID) {
				t.Errorf("message_id = %q, want optgate's id of the partly sent text", body.Error.MessageID)
			}
			if !tt.messageID && body.Error.MessageID != "" {
				t.Errorf("message_id = %q for a text the carrier did not take", body.Error.MessageID)
			}
			if body.Error.AcceptedSegments != tt.accepted {
				t.Errorf("accepted_segments = %d, want %d", body.Error.AcceptedSegments, tt.accepted)
			}
		})
	}
}

func TestHTTPOptInRequest(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	for want := 1; want <= 2; want++ {
		w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101"}`)
		if w.Code != http.StatusAccepted {
			t.Fatalf("request %d: status = %d, want 202; body %s", want, w.Code, w.Body.String())
		}
		res := decodeAPIBody[optInResponse](t, w)
		if res.Request != want {
			t.Errorf("request = %d, want %d", res.Request, want)
		}
		if !apiMessageID.MatchString(res.MessageID) || res.Segments < 1 {
			t.Errorf("message_id %q, segments %d", res.MessageID, res.Segments)
		}
		if !strings.Contains(res.Text, "Acme Dental") || !strings.Contains(res.Text, "YES") {
			t.Errorf("text = %q, want the rendered request", res.Text)
		}
		if res.From != apiAcmeTF || res.To != apiSubscriber {
			t.Errorf("from %q to %q, want %s to %s", res.From, res.To, apiAcmeTF, apiSubscriber)
		}
	}
	if n := len(f.link.sent()); n < 2 {
		t.Errorf("carrier got %d PDUs, want at least one per request", n)
	}
	w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101"}`)
	wantAPIError(t, w, http.StatusForbidden, CodeRequestLimit)
}

func TestHTTPOptInRequestErrors(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(f *apiFixture)
		body   string
		status int
		code   Code
	}{
		{name: "opted out", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedOut) },
			body: `{"to":"+12015550101"}`, status: 403, code: CodeOptedOut},
		{name: "already opted in", setup: func(f *apiFixture) { f.setState("acme", apiSubscriber, consent.StateOptedIn) },
			body: `{"to":"+12015550101"}`, status: 409, code: CodeAlreadyOptedIn},
		{name: "sender not ready", body: `{"to":"+12015550101","from":"+18885550101"}`, status: 403,
			code: CodeSenderNotReady},
		{name: "sender of another account", body: `{"to":"+12015550101","from":"+18005550100"}`, status: 403,
			code: CodeSenderNotOwned},
		{name: "invalid number", body: `{"to":"555"}`, status: 400, code: CodeInvalidNumber},
		{name: "store unavailable", setup: func(f *apiFixture) { f.consent.fail.Store(true) },
			body: `{"to":"+12015550101"}`, status: 503, code: CodeStoreUnavailable},
		{name: "missing to", body: `{"from":"+18885550100"}`, status: 400, code: codeInvalidRequest},
		{name: "unknown source", body: `{"to":"+12015550101","source":"import"}`, status: 400, code: codeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAPIFixture(t, apiOptions{})
			if tt.setup != nil {
				tt.setup(f)
			}
			wantAPIError(t, f.post("/v1/optin-requests", apiAcmeToken, tt.body), tt.status, tt.code)
			if n := len(f.link.sent()); n != 0 {
				t.Errorf("carrier got %d PDUs", n)
			}
		})
	}
}

func TestHTTPOptInRequestSourceRecorded(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101","source":"sip"}`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	ev, err := f.engine.Evidence(f.ctx, "acme", apiSubscriber)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Entries) != 1 || ev.Entries[0].Source != consent.SourceSIP {
		t.Errorf("audit entries = %+v, want one request with source sip", ev.Entries)
	}
}

// sendForStatus sends a text from acme with receipts requested and returns
// its message id.
func (f *apiFixture) sendForStatus(text string) string {
	f.t.Helper()
	w := f.post("/v1/messages", apiAcmeToken,
		fmt.Sprintf(`{"from":%q,"to":%q,"text":%q,"registered_delivery":1}`, apiAcmeTF, apiSubscriber, text))
	if w.Code != http.StatusAccepted {
		f.t.Fatalf("send: status = %d; body %s", w.Code, w.Body.String())
	}
	var res messageResponse
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
		f.t.Fatal(err)
	}
	return res.MessageID
}

// carrierReceipt hands a receipt text from carrier sim to the receipt
// service.
func (f *apiFixture) carrierReceipt(text string) {
	f.t.Helper()
	st := f.receipts.handle(f.ctx, "sim", incoming{coding: smpp.CodingDefault, data: []byte(text)})
	if st != smpp.StatusOK {
		f.t.Fatalf("receipt %q: status %v, want ESME_ROK", text, st)
	}
}

func TestHTTPMessageStatus(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	id := f.sendForStatus("Your cleaning is at 3pm.")

	w := f.get("/v1/messages/"+id, apiAcmeToken)
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %s", w.Code, w.Body.String())
	}
	st := decodeAPIBody[MessageStatus](t, w)
	if st.MessageID != id || st.State != "submitted" || st.Final {
		t.Errorf("before the receipt: id %q state %q final %v, want %s submitted", st.MessageID, st.State, st.Final, id)
	}
	if len(st.Parts) != 1 || st.Parts[0].CarrierID != "C0001" || st.Parts[0].State != "submitted" {
		t.Errorf("parts = %+v, want C0001 submitted", st.Parts)
	}

	f.carrierReceipt("id:C0001 sub:001 dlvrd:001 submit date:2603101500 done date:2603101500 stat:DELIVRD err:000")
	w = f.get("/v1/messages/"+id, apiAcmeToken)
	raw := map[string]any{}
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	for key, want := range map[string]any{
		"state": "delivered", "final": true, "stat": "DELIVRD", "err": "000", "from": apiAcmeTF, "to": apiSubscriber,
		"carrier": "sim", "registered_delivery": 1.0, "receipt_policy": "worst", "segments": 1.0,
		"accepted_segments": 1.0, "done_date": "2026-03-10T15:00:00Z", "receipt_received": "2026-03-10T15:00:00Z",
	} {
		if raw[key] != want {
			t.Errorf("%s = %#v, want %#v; body %s", key, raw[key], want, w.Body.String())
		}
	}
}

func TestHTTPMessageStatusErrors(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	f.setState("acme", apiSubscriber, consent.StateOptedIn)
	id := f.sendForStatus("hello")

	wantAPIError(t, f.get("/v1/messages/"+id, apiGlobexToken), http.StatusNotFound, codeMessageNotFound)
	wantAPIError(t, f.get("/v1/messages/0123456789abcdef", apiAcmeToken), http.StatusNotFound, codeMessageNotFound)
	wantAPIError(t, f.get("/v1/messages/"+id+"?account=globex", apiOperatorToken), http.StatusNotFound,
		codeMessageNotFound)
	body := wantAPIError(t, f.get("/v1/messages/"+id, apiOperatorToken), http.StatusBadRequest, codeInvalidRequest)
	if body.Error.Field != "account" {
		t.Errorf("operator without ?account=: field %q, want account", body.Error.Field)
	}
	wantAPIError(t, f.get("/v1/messages/"+id, ""), http.StatusUnauthorized, codeUnauthorized)
	for _, bad := range []string{"abc%21", strings.Repeat("a", 65), "a%20b"} {
		body := wantAPIError(t, f.get("/v1/messages/"+bad, apiAcmeToken), http.StatusBadRequest, codeInvalidRequest)
		if body.Error.Field != "id" {
			t.Errorf("id %q: field %q, want id", bad, body.Error.Field)
		}
	}

	w := f.get("/v1/messages/"+id+"?account=acme", apiOperatorToken)
	if w.Code != http.StatusOK {
		t.Errorf("operator with ?account=acme: status %d, want 200; body %s", w.Code, w.Body.String())
	}
}

func TestHTTPMessageStatusOptInRequest(t *testing.T) {
	f := newAPIFixture(t, apiOptions{})
	w := f.post("/v1/optin-requests", apiAcmeToken, `{"to":"+12015550101","registered_delivery":1}`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d; body %s", w.Code, w.Body.String())
	}
	req := decodeAPIBody[optInResponse](t, w)
	f.carrierReceipt("id:C0001 stat:UNDELIV err:001")
	st := decodeAPIBody[MessageStatus](t, f.get("/v1/messages/"+req.MessageID, apiAcmeToken))
	if st.State != "undeliverable" || st.To != apiSubscriber {
		t.Errorf("opt-in request status: state %q to %s, want undeliverable to %s", st.State, st.To, apiSubscriber)
	}
}
