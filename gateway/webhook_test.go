package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
)

func TestWebhookDeliver(t *testing.T) {
	var status int
	var body []byte
	var header http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		header = r.Header.Clone()
		w.WriteHeader(status)
	}))
	defer srv.Close()
	now := time.Unix(1700000000, 0)
	w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hook", Secret: "s3cret", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	item := Item{Queue: "acme", Seq: 7, Kind: KindReceipt,
		Receipt: &ReceiptItem{MessageID: "0123456789abcdef", State: smpp.StateDelivered, Stat: "DELIVRD"}}

	tests := []struct {
		status    int
		ok        bool
		permanent bool
	}{
		{http.StatusNoContent, true, false},
		{http.StatusInternalServerError, false, false},
		{http.StatusTooManyRequests, false, false},
		{http.StatusRequestTimeout, false, false},
		{http.StatusBadRequest, false, true},
		{http.StatusGone, false, true},
		{http.StatusFound, false, true},
	}
	for _, tt := range tests {
		status = tt.status
		err := w.Deliver(context.Background(), item)
		if (err == nil) != tt.ok || errors.Is(err, ErrPermanent) != tt.permanent {
			t.Errorf("status %d: err = %v, want ok %v permanent %v", tt.status, err, tt.ok, tt.permanent)
		}
	}

	var ev WebhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Type != "receipt" || ev.Account != "acme" || ev.Receipt == nil || ev.Receipt.MessageID != "0123456789abcdef" {
		t.Errorf("event = %+v", ev)
	}
	if got := header.Get(HeaderDelivery); got != "acme:7" {
		t.Errorf("%s = %q", HeaderDelivery, got)
	}
	ts := header.Get(HeaderTimestamp)
	if ts != "1700000000" {
		t.Errorf("%s = %q", HeaderTimestamp, ts)
	}
	if err := VerifyWebhook("s3cret", ts, header.Get(HeaderSignature), body); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := VerifyWebhook("other", ts, header.Get(HeaderSignature), body); err == nil {
		t.Errorf("signature verified with the wrong secret")
	}
}

func TestWebhookUnreachableIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: url, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Deliver(context.Background(), Item{Queue: "acme", Kind: KindMO, MO: &MOItem{ID: "x"}})
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Errorf("closed server: err = %v, want a temporary error", err)
	}
}

func TestNewWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "/relative", "http://"} {
		if _, err := NewWebhook(WebhookConfig{URL: u}); err == nil {
			t.Errorf("NewWebhook(%q) accepted", u)
		}
	}
}
