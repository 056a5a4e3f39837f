package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
)

func TestFormatStatus(t *testing.T) {
	submitted := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	done := submitted.Add(time.Minute)
	base := gateway.MessageStatus{
		MessageID: "9b7f88752f4de282", Account: "acme", State: gateway.StateSubmitted,
		From: "+18885550100", To: "+12015550101",
		Carrier: "sim", RegisteredDelivery: 1, ReceiptPolicy: "worst", Segments: 1, AcceptedSegments: 1,
		Submitted: submitted,
		Parts:     []gateway.SegmentStatus{{Segment: 1, CarrierID: "C0001", State: gateway.StateSubmitted}},
	}
	tests := []struct {
		name   string
		change func(st *gateway.MessageStatus)
		want   string
	}{
		{"submitted", nil, "message 9b7f88752f4de282: submitted, no receipt yet\n" +
			"  from +18885550100 to +12015550101 via carrier sim, 1 segment, submitted 2026-03-10T15:00:00Z\n"},
		{"no receipt requested", func(st *gateway.MessageStatus) { st.RegisteredDelivery = 0 },
			"message 9b7f88752f4de282: submitted, no receipt yet\n" +
				"  from +18885550100 to +12015550101 via carrier sim, 1 segment, submitted 2026-03-10T15:00:00Z\n" +
				"  no receipt was requested (registered_delivery 0), so the state stays submitted\n"},
		{"delivered", func(st *gateway.MessageStatus) {
			st.State, st.Final, st.Stat, st.Err, st.DoneDate = "delivered", true, "DELIVRD", "000", done
			st.ClientRef = "order-7"
		}, "message 9b7f88752f4de282: delivered (DELIVRD, err 000), done 2026-03-10T15:01:00Z\n" +
			"  from +18885550100 to +12015550101 via carrier sim, 1 segment, submitted 2026-03-10T15:00:00Z\n" +
			"  client reference order-7\n"},
		{"long message", func(st *gateway.MessageStatus) {
			st.State, st.Stat, st.Err = "undeliverable", "UNDELIV", "011"
			st.NetworkError = &gateway.NetworkError{Type: 3, Code: 2050}
			st.Segments, st.AcceptedSegments = 2, 2
			st.Parts = []gateway.SegmentStatus{
				{Segment: 1, CarrierID: "C0001", State: "delivered", Stat: "DELIVRD", Err: "000"},
				{Segment: 2, CarrierID: "C0002", State: "undeliverable", Stat: "UNDELIV", Err: "011",
					NetworkError: &gateway.NetworkError{Type: 3, Code: 2050}},
			}
		}, "message 9b7f88752f4de282: undeliverable (UNDELIV, err 011, network error 3/2050)\n" +
			"  from +18885550100 to +12015550101 via carrier sim, 2 segments, receipt policy worst, " +
			"submitted 2026-03-10T15:00:00Z\n" +
			"  segment 1, carrier id C0001: delivered (DELIVRD, err 000)\n" +
			"  segment 2, carrier id C0002: undeliverable (UNDELIV, err 011, network error 3/2050)\n"},
		{"partial submit", func(st *gateway.MessageStatus) {
			st.State, st.Segments = gateway.StatePartialSubmit, 3
		}, "message 9b7f88752f4de282: partial_submit, the carrier accepted only 1 of 3 segments\n" +
			"  from +18885550100 to +12015550101 via carrier sim, 3 segments, receipt policy worst, " +
			"submitted 2026-03-10T15:00:00Z\n" +
			"  segment 1, carrier id C0001: submitted\n"},
		{"blocked", func(st *gateway.MessageStatus) {
			st.State, st.Stat, st.Err, st.Blocked = "rejected", "REJECTD", "401", "opted_out"
			st.Carrier, st.Segments, st.AcceptedSegments, st.Parts = "", 0, 0, nil
		}, "message 9b7f88752f4de282: rejected (REJECTD, err 401), blocked by the consent rules (opted_out); " +
			"nothing was sent\n" +
			"  from +18885550100 to +12015550101, submitted 2026-03-10T15:00:00Z\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := base
			if tt.change != nil {
				tt.change(&st)
			}
			if got := formatStatus(st); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestCLIStatus(t *testing.T) {
	s := newCLIServer(t)
	s.optIn(t, "acme", cliSubscriber)
	code, stdout, stderr := s.runAPI(t, cliAcmeToken, "send", "--from", "+18885550100", "--to", cliSubscriber,
		"--text", "hi", "--receipt")
	m := sentID.FindStringSubmatch(stdout)
	if code != exitOK || m == nil {
		t.Fatalf("send: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	code, stdout, stderr = s.runAPI(t, cliAcmeToken, "status", m[1])
	if code != exitOK || !strings.HasPrefix(stdout, "message "+m[1]+": submitted, no receipt yet\n") {
		t.Errorf("status: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	code, stdout, _ = s.runAPI(t, cliAcmeToken, "status", m[1], "-json")
	var raw map[string]any
	if code != exitOK || json.Unmarshal([]byte(stdout), &raw) != nil || raw["message_id"] != m[1] {
		t.Errorf("status -json: exit %d, stdout %q; want the API's JSON", code, stdout)
	}

	code, stdout, stderr = s.runAPI(t, cliGlobexToken, "status", m[1])
	if code != exitFailure || stdout != "" || !strings.Contains(stderr, "message_not_found (HTTP 404)") {
		t.Errorf("another account: exit %d, stdout %q, stderr %q; want message_not_found", code, stdout, stderr)
	}
	code, _, stderr = s.runAPI(t, cliOperatorToken, "status", m[1], "-account", "acme")
	if code != exitOK {
		t.Errorf("operator with -account: exit %d, stderr %q", code, stderr)
	}
}

func TestStatusUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"a", "b"}} {
		code, _, stderr := run(t, append([]string{"status", "-token", "x"}, args...)...)
		if code != exitUsage || !strings.Contains(stderr, "Usage: optgate status") {
			t.Errorf("status %v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}
