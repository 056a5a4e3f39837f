package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWebhookPossibleResendField(t *testing.T) {
	bodies := make(chan []byte, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		bodies <- body
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	item := Item{Queue: "acme", Seq: 3, Kind: KindMO,
		MO: &MOItem{ID: "mo-3", From: "+12015550101", To: "+18885550100", Text: "Running late"}}

	for _, resend := range []bool{false, true} {
		item.PossibleResend = resend
		if err := w.Deliver(context.Background(), item); err != nil {
			t.Fatalf("possible resend %v: %v", resend, err)
		}
		body := <-bodies
		var fields map[string]any
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("decode %s: %v", body, err)
		}
		got, present := fields["possible_resend"]
		switch {
		case resend && got != true:
			t.Errorf("resent item: possible_resend = %v in %s, want true", got, body)
		case !resend && present:
			t.Errorf("first delivery: possible_resend present in %s, want it left out", body)
		}
	}
}
