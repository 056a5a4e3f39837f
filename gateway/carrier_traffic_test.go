package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/smpp"
	"github.com/optgate/optgate/smpp/smscsim"
)

func TestCarrierPoolCountsTraffic(t *testing.T) {
	sim := startSim(t)
	reg := prometheus.NewRegistry()
	metrics, err := NewCarrierMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(context.Context, string, smpp.PDU) smpp.CommandStatus { return smpp.StatusOK }
	p := startPool(t, CarrierPoolConfig{Carrier: poolCarrier(sim.Addr().String(), 1), Deliver: deliver,
		Metrics: metrics, BindWait: 50 * time.Millisecond})
	waitBound(t, p, 1)

	for _, text := range []string{"one", "two", "three"} {
		if _, err := poolSubmit(t, p, text); err != nil {
			t.Fatalf("submit %q: %v", text, err)
		}
	}
	for _, text := range []string{"hi", "YES"} {
		status, err := sim.Inject(context.Background(), smscsim.MO{From: sub1, To: acmeTollFree, Text: text})
		if err != nil || status != smpp.StatusOK {
			t.Fatalf("inject %q: status %v, error %v", text, status, err)
		}
	}
	// A submit that fails is not counted.
	_ = sim.Close()
	deadline := time.Now().Add(5 * time.Second)
	for p.BoundSessions() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := poolSubmit(t, p, "not sent"); err == nil {
		t.Fatal("submit with no bound session succeeded")
	}

	if got := gathered(t, reg, "optgate_carrier_submitted_total", map[string]string{"carrier": "sim"}); got != 3 {
		t.Errorf("optgate_carrier_submitted_total = %v, want the 3 accepted submit_sm", got)
	}
	if got := gathered(t, reg, "optgate_carrier_received_total", map[string]string{"carrier": "sim"}); got != 2 {
		t.Errorf("optgate_carrier_received_total = %v, want the 2 deliver_sm", got)
	}
}
