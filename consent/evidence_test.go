package consent_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

func TestEvidenceJSON(t *testing.T) {
	f := newFixture(t)
	req, err := f.request(acme, subscriber)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Set(noon.Add(time.Hour))
	f.mo(subscriber, tfAcme, "YES")
	f.clock.Set(noon.Add(2 * time.Hour))
	stop := f.mo(subscriber, tfAcme, "Stop…")

	ev, err := f.e.Evidence(context.Background(), acme, "(201) 555-0101")
	if err != nil {
		t.Fatalf("evidence: %v", err)
	}
	if ev.Number != subscriber || ev.State != consent.StateOptedOut || ev.PriorState != consent.StateOptedIn {
		t.Errorf("evidence number %s state %s prior %s", ev.Number, ev.State, ev.PriorState)
	}
	if !ev.Updated.Equal(noon.Add(2 * time.Hour)) {
		t.Errorf("updated = %v, want %v", ev.Updated, noon.Add(2*time.Hour))
	}

	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var doc struct {
		State      string `json:"state"`
		PriorState string `json:"prior_state"`
		Entries    []map[string]any
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("unmarshal %s: %v", b, err)
	}
	if doc.State != "opted_out" || doc.PriorState != "opted_in" || len(doc.Entries) != 3 {
		t.Fatalf("evidence JSON = %s", b)
	}
	want := []map[string]any{
		{"event": "request", "state_before": "none", "state_after": "requested", "text": req.Text, "toll_free": tfAcme},
		{"event": "yes", "state_after": "opted_in", "text": "YES", "request_text": req.Text, "reply": "opt_in",
			"time": noon.Add(time.Hour).Format(time.RFC3339)},
		{"event": "stop", "state_after": "opted_out", "text": "Stop…", "reply_text": stop.Replies[0].Text, "source": "smpp"},
	}
	for i, fields := range want {
		for k, v := range fields {
			if doc.Entries[i][k] != v {
				t.Errorf("entry %d %s = %v, want %v", i, k, doc.Entries[i][k], v)
			}
		}
	}
	if ids, ok := doc.Entries[2]["message_ids"].([]any); !ok || len(ids) != 1 || ids[0] != "m-Stop…" {
		t.Errorf("STOP entry message ids = %v", doc.Entries[2]["message_ids"])
	}
}

func TestEvidenceOfUnknownPair(t *testing.T) {
	f := newFixture(t)
	ev, err := f.e.Evidence(context.Background(), "former-account", subscriber)
	if err != nil {
		t.Fatalf("evidence: %v", err)
	}
	if ev.State != consent.StateNone || ev.Entries == nil || len(ev.Entries) != 0 {
		t.Errorf("evidence of an unknown pair = %+v, want state none and an empty entry list", ev)
	}
	if _, err := f.e.Evidence(context.Background(), acme, "not a number"); err == nil {
		t.Error("evidence for an invalid number succeeded")
	}
}
