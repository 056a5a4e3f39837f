package console

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

// bindsBody is the part of GET /v1/binds these tests read.
type bindsBody struct {
	Carriers []struct {
		Name    string `json:"name"`
		Traffic *struct {
			SubmittedPerSecond float64 `json:"submitted_per_second"`
			ReceivedPerSecond  float64 `json:"received_per_second"`
			Seconds            float64 `json:"seconds"`
		} `json:"traffic"`
	} `json:"carriers"`
	Business []struct {
		SystemID    string `json:"system_id"`
		WindowInUse *int   `json:"window_in_use"`
		WindowSize  int    `json:"window_size"`
	} `json:"business"`
}

// TestOperatorBlocksFromDaemon checks that a text the consent rules block
// in the daemon is listed by GET /v1/blocks/recent, masked.
func TestOperatorBlocksFromDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := newDaemonFixture(t, ctx)

	code, body := f.call(ctx, http.MethodPost, "/v1/messages", demoToken,
		`{"from":"`+demoTollFree+`","to":"+12015550103","text":"Your order is ready."}`)
	if code != http.StatusForbidden {
		t.Fatalf("text to a number without consent: status %d, body %s", code, body)
	}
	code, body = f.call(ctx, http.MethodGet, "/v1/blocks/recent", operatorToken, "")
	if code != http.StatusOK {
		t.Fatalf("GET /v1/blocks/recent: status %d, body %s", code, body)
	}
	got := decode[struct {
		Recorded bool `json:"recorded"`
		Blocks   []struct {
			Account, Number, Direction, Reason string
			Time                               time.Time
		} `json:"blocks"`
	}](t, body)
	if !got.Recorded {
		t.Error("recorded = false in the daemon")
	}
	if len(got.Blocks) != 1 {
		t.Fatalf("blocks = %+v, want the one text", got.Blocks)
	}
	b := got.Blocks[0]
	if b.Account != "demo" || b.Number != "+1******0103" || b.Direction != "mt" || b.Reason != "no_consent" {
		t.Errorf("block = %+v, want demo's text to +1******0103 blocked for no_consent", b)
	}
	if time.Since(b.Time) > time.Minute || b.Time.After(time.Now()) {
		t.Errorf("block time = %v, want just now", b.Time)
	}
	if strings.Contains(string(body), "+12015550103") {
		t.Errorf("the response shows the whole number: %s", body)
	}
}

// TestOperatorBindsFromDaemon checks the carrier's own message rate and a
// business bind's window in use in GET /v1/binds.
func TestOperatorBindsFromDaemon(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	f := newDaemonFixture(t, ctx)

	// The business holds back its response to the first deliver_sm.
	var first atomic.Bool
	holding := make(chan struct{})
	release := make(chan struct{})
	c, err := smpp.NewClient(smpp.ClientConfig{
		Addr: f.d.SMPPAddr().String(), BindType: smpp.BindTypeTransceiver, SystemID: "demo01",
		Password: esmePassword,
		Handler: func(ctx context.Context, _ smpp.PDU) smpp.CommandStatus {
			if first.CompareAndSwap(false, true) {
				close(holding)
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return smpp.StatusOK
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	bindCtx, cancelBind := context.WithTimeout(ctx, stepTimeout)
	defer cancelBind()
	if err := c.Connect(bindCtx); err != nil {
		t.Fatalf("bind demo01: %v", err)
	}
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.Close(closeCtx)
	})
	defer close(release)

	code, body := f.call(ctx, http.MethodPost, "/v1/optin-requests", demoToken, `{"to":"`+subscriber+`"}`)
	if code != http.StatusAccepted {
		t.Fatalf("opt-in request: status %d, body %s", code, body)
	}
	waitSubmitted(t, ctx, f.sim, subscriber)
	status, err := f.sim.Inject(ctx, smscsim.MO{From: subscriber, To: demoTollFree, Text: "What are your hours?"})
	if err != nil || status != smpp.StatusOK {
		t.Fatalf("inject MO: status %v, error %v", status, err)
	}
	select {
	case <-holding:
	case <-ctx.Done():
		t.Fatal("the business got no deliver_sm")
	}

	// The rates need a sample at least a second old.
	var binds bindsBody
	deadline := time.Now().Add(stepTimeout)
	for {
		code, body = f.call(ctx, http.MethodGet, "/v1/binds", operatorToken, "")
		if code != http.StatusOK {
			t.Fatalf("GET /v1/binds: status %d, body %s", code, body)
		}
		binds = decode[bindsBody](t, body)
		if len(binds.Carriers) == 1 && binds.Carriers[0].Traffic != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no carrier rate after %v: %s", stepTimeout, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	sim := binds.Carriers[0]
	if sim.Name != "sim" || sim.Traffic.SubmittedPerSecond <= 0 || sim.Traffic.ReceivedPerSecond <= 0 {
		t.Errorf("carrier %s traffic = %+v, want the request submitted and the MO received", sim.Name, *sim.Traffic)
	}
	if len(binds.Business) != 1 {
		t.Fatalf("business binds = %+v, want demo01", binds.Business)
	}
	switch w := binds.Business[0].WindowInUse; {
	case w == nil:
		t.Error("demo01 window_in_use = null, want 1 deliver_sm awaiting its response")
	case *w != 1:
		t.Errorf("demo01 window_in_use = %d, want 1 deliver_sm awaiting its response", *w)
	}
}
