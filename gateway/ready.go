package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readyGaugeTimeout bounds the readiness checks of one metrics scrape,
// like the default time limit of GET /readyz.
const readyGaugeTimeout = 2 * time.Second

// replicaChecker is a consent store that can tell whether enough replicas
// are online to confirm its changes, as *consent.RedisStore can.
type replicaChecker interface {
	CheckReplicas(ctx context.Context) error
}

// registerReadyGauge registers optgate_ready, which runs ready at every
// scrape and is 1 when every check passed, else 0. It follows /readyz,
// so alerts need no probe of the HTTP endpoint.
func registerReadyGauge(reg prometheus.Registerer, ready func(context.Context) map[string]error) error {
	g := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "optgate_ready",
		Help: "1 when optgate can serve traffic (GET /readyz returns 200), else 0.",
	}, func() float64 {
		// A scrape passes no context, so the checks get their own limit.
		ctx, cancel := context.WithTimeout(context.Background(), readyGaugeTimeout)
		defer cancel()
		return readyValue(ready(ctx))
	})
	if err := reg.Register(g); err != nil {
		return fmt.Errorf("register readiness gauge: %w", err)
	}
	return nil
}

// readyValue returns 1 when no check failed, else 0.
func readyValue(checks map[string]error) float64 {
	for _, err := range checks {
		if err != nil {
			return 0
		}
	}
	return 1
}
