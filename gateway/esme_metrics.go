package gateway

import (
	"fmt"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// ESMEMetrics are the Prometheus collectors of the business SMPP server:
//
//	optgate_esme_sessions_bound{account,bind_type}
//	    business sessions bound now, read at scrape time
//	optgate_esme_bind_rejections_total{reason}
//	    binds refused: reason credentials (unknown system_id or wrong
//	    password) or bind_limit (max_binds reached)
//	optgate_esme_binds_delayed_total
//	    binds held back because their address failed to bind shortly before
//
// A nil *ESMEMetrics records nothing.
type ESMEMetrics struct {
	rejections *prometheus.CounterVec
	delayed    prometheus.Counter
	sessions   *sessionCollector
}

// Reasons of optgate_esme_bind_rejections_total.
const (
	rejectCredentials = "credentials"
	rejectBindLimit   = "bind_limit"
)

// NewESMEMetrics creates the collectors and registers them on reg.
func NewESMEMetrics(reg prometheus.Registerer) (*ESMEMetrics, error) {
	m := &ESMEMetrics{
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_esme_bind_rejections_total",
			Help: "Business binds refused, by reason: credentials or bind_limit.",
		}, []string{"reason"}),
		delayed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "optgate_esme_binds_delayed_total",
			Help: "Business binds held back because their address failed to bind shortly before.",
		}),
		sessions: &sessionCollector{},
	}
	for _, c := range []prometheus.Collector{m.rejections, m.delayed, m.sessions} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register esme metrics: %w", err)
		}
	}
	// Prometheus shows a counter only once it has a series.
	m.rejections.WithLabelValues(rejectCredentials)
	m.rejections.WithLabelValues(rejectBindLimit)
	return m, nil
}

func (m *ESMEMetrics) rejected(reason string) {
	if m != nil {
		m.rejections.WithLabelValues(reason).Inc()
	}
}

func (m *ESMEMetrics) bindDelayed() {
	if m != nil {
		m.delayed.Inc()
	}
}

// watch makes the session gauge read the bound sessions of e.
func (m *ESMEMetrics) watch(e *ESMEServer) {
	if m != nil {
		m.sessions.set(e)
	}
}

// sessionCollector reports the bound business sessions at scrape time.
type sessionCollector struct {
	server atomic.Pointer[ESMEServer]
}

var esmeSessionsDesc = prometheus.NewDesc("optgate_esme_sessions_bound",
	"Business SMPP sessions bound now, by account and bind type.",
	[]string{"account", "bind_type"}, nil)

func (c *sessionCollector) set(e *ESMEServer) { c.server.Store(e) }

func (c *sessionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- esmeSessionsDesc }

func (c *sessionCollector) Collect(ch chan<- prometheus.Metric) {
	e := c.server.Load()
	if e == nil {
		return
	}
	type key struct{ account, bindType string }
	counts := map[key]int{}
	for _, s := range e.srv.Sessions() {
		id, ok := e.slots.identity(s.SystemID())
		if !ok {
			continue
		}
		counts[key{id.Account, s.BindType().String()}]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(esmeSessionsDesc, prometheus.GaugeValue, float64(n),
			k.account, k.bindType)
	}
}
