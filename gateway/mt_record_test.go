package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/optgate/optgate/consent"
)

// flakyIDMap fails the first len(errs) PutMessage calls with errs in
// order, then writes to the embedded store.
type flakyIDMap struct {
	*BoltStore
	errs  []error
	calls int
}

func (s *flakyIDMap) PutMessage(ctx context.Context, rec MessageRecord, match ReceiptFunc) ([]Item, int, error) {
	s.calls++
	if s.calls <= len(s.errs) {
		return nil, 0, s.errs[s.calls-1]
	}
	return s.BoltStore.PutMessage(ctx, rec, match)
}

func TestRecordSentAfterCarrierAccepted(t *testing.T) {
	notReplicated := fmt.Errorf("put message: %w: 0 of 1 replicas within 1s", ErrNotReplicated)
	reset := fmt.Errorf("put message: %w", io.ErrUnexpectedEOF)
	tests := []struct {
		name      string
		errs      []error
		wantCalls int
	}{
		{name: "written", wantCalls: 1},
		{name: "not replicated counts as written", errs: []error{notReplicated}, wantCalls: 1},
		{name: "transient failures retried", errs: []error{reset, reset}, wantCalls: 3},
		// The text is out, so the business is told so, and only the
		// receipts are lost.
		{name: "other failure not retried, still sent", errs: []error{errors.New("record too large")},
			wantCalls: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newCoreFixture(t, coreOptions{})
			f.setState(subscriber, consent.StateOptedIn)
			store := &flakyIDMap{BoltStore: f.store, errs: tc.errs}
			mt, err := NewMTService(MTConfig{Registry: f.registry, Router: f.router, Links: StaticLinks{"sim": f.link},
				Engine: f.engine, Store: store, Receipts: f.receipts, Now: f.clock})
			if err != nil {
				t.Fatal(err)
			}
			res, err := mt.Submit(f.ctx, MT{Account: "acme", From: tfReady, To: subscriber, Text: "hello",
				Source: consent.SourceHTTP})
			if n := len(f.link.sent()); n != 1 {
				t.Errorf("the carrier got %d submit_sm, want 1", n)
			}
			if store.calls != tc.wantCalls {
				t.Errorf("PutMessage called %d times, want %d", store.calls, tc.wantCalls)
			}
			if err != nil {
				t.Errorf("Submit error = %v, want none", err)
			}
			if res.MessageID == "" {
				t.Errorf("Submit = %+v, want a message id", res)
			}
		})
	}
}
