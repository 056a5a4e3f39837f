package smscsim

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/optgate/optgate/smpp"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Test numbers: a customer handset and a toll-free business number.
const (
	customer = "12015550101"
	tollFree = "18005550100"
)

// testTimeout bounds every wait in a test.
const testTimeout = 10 * time.Second

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// startSim starts a simulator on free loopback ports and closes it when
// the test ends.
func startSim(t *testing.T, cfg Config) *Simulator {
	t.Helper()
	cfg.Addr = "127.0.0.1:0"
	if cfg.ControlAddr != "" {
		cfg.ControlAddr = "127.0.0.1:0"
	}
	sim := New(cfg)
	if err := sim.Start(context.Background()); err != nil {
		t.Fatalf("start simulator: %v", err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim
}

// esme is a test ESME bound to the simulator with the smpp client. Every
// deliver_sm it gets goes to delivered and gets a response with status.
type esme struct {
	*smpp.Client
	delivered chan *smpp.DeliverSM
	status    atomic.Uint32 // the command_status of every deliver_sm_resp
}

// bindESME binds an smpp.Client with systemID to sim and unbinds it when
// the test ends.
func bindESME(t *testing.T, sim *Simulator, systemID string, bind smpp.BindType) *esme {
	t.Helper()
	e := &esme{delivered: make(chan *smpp.DeliverSM, 100)}
	cfg := smpp.ClientConfig{
		Addr:                sim.Addr().String(),
		SystemID:            systemID,
		Password:            "secret",
		BindType:            bind,
		EnquireLinkInterval: -1,
		ResponseTimeout:     5 * time.Second,
		ThrottlePause:       time.Millisecond,
		MaxThrottlePause:    time.Millisecond,
		ReconnectDelay:      10 * time.Millisecond,
		MaxReconnectDelay:   50 * time.Millisecond,
		Handler: func(_ context.Context, req smpp.PDU) smpp.CommandStatus {
			if d, ok := req.(*smpp.DeliverSM); ok {
				e.delivered <- d
			}
			return smpp.CommandStatus(e.status.Load())
		},
	}
	c, err := smpp.Dial(testContext(t), cfg)
	if err != nil {
		t.Fatalf("bind %s: %v", systemID, err)
	}
	e.Client = c
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		c.Close(ctx)
	})
	return e
}

// next returns the next deliver_sm the ESME got.
func (e *esme) next(t *testing.T) *smpp.DeliverSM {
	t.Helper()
	select {
	case d := <-e.delivered:
		return d
	case <-time.After(testTimeout):
		t.Fatal("no deliver_sm within the test timeout")
		return nil
	}
}

// none checks that no deliver_sm arrives within d.
func (e *esme) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case got := <-e.delivered:
		t.Fatalf("unexpected deliver_sm: %+v", got)
	case <-time.After(d):
	}
}

// submit sends a submit_sm of text from the toll-free number to the
// customer.
func submitText(text string, registered uint8) *smpp.SubmitSM {
	return &smpp.SubmitSM{
		SourceAddrTON:      smpp.TONInternational,
		SourceAddrNPI:      smpp.NPIISDN,
		SourceAddr:         tollFree,
		DestAddrTON:        smpp.TONInternational,
		DestAddrNPI:        smpp.NPIISDN,
		DestinationAddr:    customer,
		RegisteredDelivery: registered,
		ShortMessage:       []byte(text),
	}
}

// parseReceipt reads a receipt deliver_sm.
func parseReceipt(t *testing.T, d *smpp.DeliverSM) smpp.DeliveryReport {
	t.Helper()
	if !smpp.IsDeliveryReceipt(d.ESMClass) {
		t.Fatalf("deliver_sm esm_class 0x%02x is not a receipt", d.ESMClass)
	}
	rep, err := smpp.ParseDeliverSMReceipt(d, smpp.TextOptions{})
	if err != nil {
		t.Fatalf("parse receipt %q: %v", d.ShortMessage, err)
	}
	return rep
}

// isStatus reports whether err is a *smpp.StatusError with status.
func isStatus(err error, status smpp.CommandStatus) bool {
	var se *smpp.StatusError
	return errors.As(err, &se) && se.Status == status
}
