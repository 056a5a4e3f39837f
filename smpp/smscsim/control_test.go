package smscsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/optgate/optgate/smpp"
)

func TestControlInjectAndMessages(t *testing.T) {
	sim := startSim(t, Config{ControlAddr: "on"})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	cc := &ControlClient{BaseURL: sim.ControlURL()}
	ctx := testContext(t)

	resp, err := cc.Inject(ctx, InjectRequest{From: "+" + customer, To: "+" + tollFree, Text: "STOP"})
	if err != nil {
		t.Fatalf("inject: %v", err)
	}
	if resp.Status != smpp.StatusOK || resp.StatusName != "ESME_ROK" {
		t.Errorf("inject response %+v, want ESME_ROK", resp)
	}
	if d := e.next(t); string(d.ShortMessage) != "STOP" || d.SourceAddr != customer {
		t.Errorf("ESME got %q from %q", d.ShortMessage, d.SourceAddr)
	}

	sm := submitText("", 0)
	sm.DataCoding = smpp.CodingUCS2
	sm.ShortMessage, _ = smpp.EncodeText("Reply YES to join ☕", smpp.CodingUCS2, smpp.TextOptions{})
	sresp, err := e.Submit(ctx, sm)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := cc.Messages(ctx)
	if err != nil {
		t.Fatalf("messages: %v", err)
	}
	if len(msgs) != 1 {
		t.Fatalf("got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Text != "Reply YES to join ☕" || m.ID != sresp.MessageID || m.DataCoding != smpp.CodingUCS2 ||
		m.Destination != customer || m.Command != "submit_sm" {
		t.Errorf("message over HTTP %+v", m)
	}
}

func TestControlInjectErrors(t *testing.T) {
	sim := startSim(t, Config{ControlAddr: "on"})
	cc := &ControlClient{BaseURL: sim.ControlURL()}
	ctx := testContext(t)

	_, err := cc.Inject(ctx, InjectRequest{From: customer, To: tollFree, Text: "STOP"})
	var ce *ControlError
	if !errors.As(err, &ce) || ce.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(ce.Message, "no receiver") {
		t.Errorf("inject without a bind: %v, want HTTP 503 naming the missing receiver", err)
	}

	bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	bad := []InjectRequest{
		{From: customer, Text: "no to"},
		{From: customer, To: tollFree, Text: "x", Split: "zip"},
		{From: customer, To: tollFree, Text: "☕", DataCoding: new(uint8(smpp.CodingIA5))},
	}
	for _, req := range bad {
		_, err := cc.Inject(ctx, req)
		if !errors.As(err, &ce) || ce.StatusCode != http.StatusBadRequest {
			t.Errorf("inject %+v: %v, want HTTP 400", req, err)
		}
	}

	res, err := http.Post(sim.ControlURL()+"/inject", "application/json", strings.NewReader(`{"form":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "unknown field") {
		t.Errorf("misspelt field: HTTP %d %s, want 400 naming the unknown field", res.StatusCode, body)
	}
}

func TestControlBehaviour(t *testing.T) {
	sim := startSim(t, Config{ControlAddr: "on"})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	cc := &ControlClient{BaseURL: sim.ControlURL()}
	ctx := testContext(t)

	patch := `{"response_id_format":"hex_padded","receipt_id_format":"hex","receipt_state":"UNDELIV",
		"network_error_code":{"network_type":3,"error_code":2050},
		"add_rules":[{"destination":"+12015550199","count":1,"status":"ESME_RMSGQFUL"}]}`
	raw, err := cc.Behaviour(ctx, []byte(patch))
	if err != nil {
		t.Fatalf("post behaviour: %v", err)
	}
	var state behaviourState
	if err := json.Unmarshal(raw, &state); err != nil {
		t.Fatal(err)
	}
	if state.ResponseIDFormat != IDHexPadded || state.ReceiptState != "UNDELIV" || len(state.Rules) != 1 ||
		state.Rules[0].Status != statusJSON(smpp.StatusMsgQueueFull) {
		t.Errorf("behaviour after the patch: %s", raw)
	}
	b := sim.Behaviour()
	if b.ReceiptIDFormat != IDHex || b.NetworkErrorCode == nil || b.NetworkErrorCode.ErrorCode != 2050 {
		t.Errorf("simulator behaviour %+v", b)
	}

	raw, err = cc.Behaviour(ctx, nil)
	if err != nil {
		t.Fatalf("get behaviour: %v", err)
	}
	if !strings.Contains(string(raw), `"receipt_id_format": "hex"`) ||
		!strings.Contains(string(raw), `"destination": "+12015550199"`) {
		t.Errorf("GET /behaviour: %s", raw)
	}

	// The new behaviour applies to the next submit.
	resp, err := e.Submit(ctx, submitText("Hi", 1))
	if err != nil {
		t.Fatal(err)
	}
	if resp.MessageID != "00B8BE19" {
		t.Errorf("id %q, want 00B8BE19", resp.MessageID)
	}
	rep := parseReceipt(t, e.next(t))
	if rep.MessageID != "B8BE19" || rep.State != smpp.StateUndeliverable {
		t.Errorf("receipt id %q state %v, want B8BE19 UNDELIV", rep.MessageID, rep.State)
	}
	ruled := submitText("Hi", 0)
	ruled.DestinationAddr = "12015550199"
	if _, err := e.Submit(ctx, ruled); !isStatus(err, smpp.StatusMsgQueueFull) {
		t.Errorf("submit under the posted rule: %v, want ESME_RMSGQFUL", err)
	}

	// A partial patch keeps the other fields; "rules" replaces the list.
	if _, err := cc.Behaviour(ctx, []byte(`{"throttle":50,"network_error_code":null,"rules":[]}`)); err != nil {
		t.Fatal(err)
	}
	b = sim.Behaviour()
	if b.Throttle != 50 || b.ResponseIDFormat != IDHexPadded || b.NetworkErrorCode != nil {
		t.Errorf("behaviour after a partial patch %+v", b)
	}

	for _, bad := range []string{
		`{"receipt_delay":"soon"}`,
		`{"receipt_state":"LOST"}`,
		`{"response_id_format":"octal"}`,
		`{"add_rules":[{"status":"0x58","drop":true}]}`,
		`{"add_rules":[{"status":"ESME_NOPE"}]}`,
	} {
		_, err := cc.Behaviour(ctx, []byte(bad))
		var ce *ControlError
		if !errors.As(err, &ce) || ce.StatusCode != http.StatusBadRequest {
			t.Errorf("behaviour %s: %v, want HTTP 400", bad, err)
		}
	}
	if sim.Behaviour().Throttle != 50 {
		t.Error("a rejected patch changed the behaviour")
	}
}

func TestControlHealthzAndReset(t *testing.T) {
	sim := startSim(t, Config{ControlAddr: "on"})
	e := bindESME(t, sim, "carrier", smpp.BindTypeTransceiver)
	if _, err := e.Submit(testContext(t), submitText("Hi", 0)); err != nil {
		t.Fatal(err)
	}

	res, err := http.Get(sim.ControlURL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health struct {
		Status        string `json:"status"`
		BoundSessions int    `json:"bound_sessions"`
	}
	err = json.NewDecoder(res.Body).Decode(&health)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK || health.Status != "ok" || health.BoundSessions != 1 {
		t.Errorf("healthz: HTTP %d %+v %v", res.StatusCode, health, err)
	}

	req, _ := http.NewRequest(http.MethodDelete, sim.ControlURL()+"/messages", nil)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent || len(sim.Messages()) != 0 || len(sim.Received()) != 0 {
		t.Errorf("reset: HTTP %d, %d messages and %d PDUs left", res.StatusCode,
			len(sim.Messages()), len(sim.Received()))
	}
}
