package gateway

import (
	"context"
	"testing"
)

// BenchmarkCarrierPoolSubmit measures one submit_sm through a pool of one
// bind to the simulator, from Submit to the carrier's message id.
func BenchmarkCarrierPoolSubmit(b *testing.B) {
	sim := startSim(b)
	p := startPool(b, CarrierPoolConfig{Carrier: poolCarrier(sim.Addr().String(), 1)})
	waitBound(b, p, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := p.Submit(ctx, submitSM(b, acmeTollFree, sub1, "Your table is ready", 0)); err != nil {
			b.Fatal(err)
		}
	}
}
