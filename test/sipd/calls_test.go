package sipd

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// checkOptInRequest checks that the simulator's message is an opt-in
// request from acme's number to the customer.
func checkOptInRequest(t *testing.T, f *fixture, n int) {
	t.Helper()
	msg := f.waitMessages(n)[n-1]
	if msg.Source != "18885550100" || msg.Destination != "12015550101" {
		t.Errorf("opt-in request %s -> %s, want 18885550100 -> 12015550101", msg.Source, msg.Destination)
	}
	if !strings.Contains(msg.FullText, "YES") {
		t.Errorf("opt-in request text = %q, want the request wording with YES", msg.FullText)
	}
}

func TestKeyPressDuringUploadedGreetingSendsOptIn(t *testing.T) {
	ph := newPhone(t)
	f := newFixture(t)
	// A 3 s greeting replaces the configured 300 ms one, so the key press
	// falls inside it.
	res := f.api("PUT", "/v1/numbers/"+url.PathEscape(tfAcme)+"/greeting", acmeToken, "audio/wav",
		wavFile(tonePCM(3*time.Second, 660, 8000)))
	if res.status != http.StatusNoContent {
		t.Fatalf("PUT greeting: %d %s, want 204", res.status, res.body)
	}

	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	_, med := ph.call(ctx, f.sipAddr("udp"), customer, tfAcme)
	l := listen(t, med)
	// The configured greeting and the beep are 40 packets of 20 ms, so
	// more means the uploaded greeting plays.
	waitFor(t, "60 packets of greeting audio", func() bool { return l.packets.Load() >= 60 })

	dtmf, err := med.AudioWriterDTMF()
	if err != nil {
		t.Fatal(err)
	}
	if err := dtmf.WriteDTMF('1'); err != nil {
		t.Fatal(err)
	}
	checkOptInRequest(t, f, 1)
}

func TestInfoInCallSendsOptIn(t *testing.T) {
	ph := newPhone(t)
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, _ := ph.call(ctx, f.sipAddr("udp"), customer, tfAcme)

	req := sip.NewRequest(sip.INFO, d.InviteResponse.Contact().Address)
	req.AppendHeader(sip.NewHeader("Content-Type", "application/x-optgate-optin"))
	res, err := d.Do(ctx, req)
	if err != nil {
		t.Fatalf("INFO: %v", err)
	}
	if res.StatusCode != 200 {
		t.Fatalf("opt-in INFO: %d %s, want 200", res.StatusCode, res.Reason)
	}
	if h := res.GetHeader("Optgate-Message-ID"); h == nil || len(h.Value()) != 16 {
		t.Errorf("opt-in INFO response has Optgate-Message-ID %v, want a 16-digit id", h)
	}
	checkOptInRequest(t, f, 1)
}

func TestHTTPOptInForCall(t *testing.T) {
	ph := newPhone(t)
	f := newFixture(t)
	ctx, cancel := context.WithTimeout(f.ctx, testTimeout)
	defer cancel()
	d, _ := ph.call(ctx, f.sipAddr("udp"), customer, tfAcme)
	callID := d.InviteRequest.CallID().Value()

	post := func(body string) apiResponse {
		t.Helper()
		return f.api("POST", "/v1/optin-requests", acmeToken, "application/json", []byte(body))
	}
	cases := []struct {
		name, body string
		status     int
		code       string
	}{
		{"unknown call", `{"call_id":"no-such-call"}`, 404, "not_found"},
		{"call and number", `{"call_id":"` + callID + `","to":"` + customer2 + `"}`, 400, "invalid_request"},
		{"not ready sender", `{"call_id":"` + callID + `","from":"` + tfNotReady + `"}`, 403, "sender_not_ready"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := post(tc.body)
			if res.status != tc.status || res.errorCode() != tc.code {
				t.Errorf("status %d code %q (%s), want %d %q", res.status, res.errorCode(), res.body, tc.status, tc.code)
			}
		})
	}
	// The operator token sends no texts.
	if res := f.api("POST", "/v1/optin-requests", operatorToken, "application/json",
		[]byte(`{"call_id":"`+callID+`"}`)); res.status != http.StatusForbidden {
		t.Errorf("operator token: %d %s, want 403", res.status, res.body)
	}

	res := post(`{"call_id":"` + callID + `"}`)
	if res.status != http.StatusAccepted {
		t.Fatalf("POST /v1/optin-requests with call_id: %d %s, want 202", res.status, res.body)
	}
	var body struct {
		MessageID string `json:"message_id"`
		Request   int    `json:"request"`
		From      string `json:"from"`
		To        string `json:"to"`
	}
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.From != tfAcme || body.To != customer || body.Request != 1 || body.MessageID == "" {
		t.Errorf("response = %+v, want request 1 from %s to %s with a message id", body, tfAcme, customer)
	}
	checkOptInRequest(t, f, 1)
	if n := len(f.sim.Messages()); n != 1 {
		t.Errorf("simulator got %d messages, want only the opt-in request", n)
	}
}

func TestGreetingUploadErrors(t *testing.T) {
	f := newFixture(t)
	good := wavFile(tonePCM(200*time.Millisecond, 440, 8000))
	stereo := append([]byte(nil), good...)
	stereo[22] = 2 // channels
	path := func(number string) string { return "/v1/numbers/" + url.PathEscape(number) + "/greeting" }
	cases := []struct {
		name, path, token, contentType string
		body                           []byte
		status                         int
		code                           string
	}{
		{"no token", path(tfAcme), "", "audio/wav", good, 401, "unauthorized"},
		{"other account's number", path(tfBeta), acmeToken, "audio/wav", good, 404, "not_found"},
		{"unknown number", path("+18005550177"), acmeToken, "audio/wav", good, 404, "not_found"},
		{"not audio", path(tfAcme), acmeToken, "text/plain", good, 415, "unsupported_media_type"},
		{"no content type", path(tfAcme), acmeToken, "", good, 415, "unsupported_media_type"},
		{"not a WAV file", path(tfAcme), acmeToken, "audio/wav", []byte("hello"), 400, "invalid_request"},
		{"stereo", path(tfAcme), acmeToken, "audio/x-wav", stereo, 400, "invalid_request"},
		{"over 8 MiB", path(tfAcme), acmeToken, "audio/wav", make([]byte, 8<<20+1), 413, "body_too_large"},
		{"account token", path(tfAcme), acmeToken, "audio/x-wav", good, 204, ""},
		{"operator token", path(tfBeta), operatorToken, "audio/wav", good, 204, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := f.api("PUT", tc.path, tc.token, tc.contentType, tc.body)
			if res.status != tc.status || res.errorCode() != tc.code {
				t.Errorf("status %d code %q (%s), want %d %q", res.status, res.errorCode(), res.body, tc.status, tc.code)
			}
		})
	}
	res := f.api("PUT", path(tfAcme), acmeToken, "audio/wav", []byte("RIFF"))
	if !strings.Contains(string(res.body), "not a WAV file") {
		t.Errorf("bad WAV message = %s, want it to name the problem", res.body)
	}
}
