package gateway

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/smpp"
)

// CarrierMetrics are the Prometheus collectors of the carrier binds:
//
//	optgate_carrier_sessions_bound{carrier}
//	    sessions bound to the carrier now
//	optgate_carrier_window_in_use{carrier}
//	    submit_sm awaiting submit_sm_resp, over all binds of the carrier
//	optgate_carrier_window_size{carrier}
//	    the most submit_sm that may await a response, over all binds
//	optgate_carrier_bind_failures_total{carrier}
//	    dial or bind attempts that failed
//	optgate_carrier_sessions_lost_total{carrier}
//	    bound sessions that closed without optgate asking
//	optgate_carrier_throttled_total{carrier,status}
//	    ESME_RTHROTTLED and ESME_RMSGQFUL answers, each pausing its bind
//	optgate_carrier_submit_retries_total{carrier,reason}
//	    submit_sm sent again: reason throttled (after the carrier refused
//	    it for load) or not_sent (another bind, when the first one failed
//	    before the PDU was written)
//	optgate_carrier_submits_unconfirmed_total{carrier}
//	    submit_sm written but never answered, so the carrier may have them;
//	    they are not resubmitted
//	optgate_carrier_protocol_errors_total{carrier}
//	    PDUs from the carrier that could not be decoded
//	optgate_carrier_submitted_total{carrier}
//	    submit_sm the carrier accepted, one per segment of a long text
//	optgate_carrier_received_total{carrier}
//	    deliver_sm and data_sm from the carrier (MO texts and receipts),
//	    whatever optgate then did with them
//
// A nil *CarrierMetrics records nothing.
type CarrierMetrics struct {
	bound        *prometheus.GaugeVec
	windowInUse  *prometheus.GaugeVec
	windowSize   *prometheus.GaugeVec
	bindFailures *prometheus.CounterVec
	lost         *prometheus.CounterVec
	throttled    *prometheus.CounterVec
	retries      *prometheus.CounterVec
	unconfirmed  *prometheus.CounterVec
	protocol     *prometheus.CounterVec
	submitted    *prometheus.CounterVec
	received     *prometheus.CounterVec
}

// Reasons of optgate_carrier_submit_retries_total.
const (
	retryThrottled = "throttled"
	retryNotSent   = "not_sent"
)

// NewCarrierMetrics creates the collectors and registers them on reg.
func NewCarrierMetrics(reg prometheus.Registerer) (*CarrierMetrics, error) {
	byCarrier := []string{"carrier"}
	m := &CarrierMetrics{
		bound: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "optgate_carrier_sessions_bound",
			Help: "Sessions bound to the carrier now.",
		}, byCarrier),
		windowInUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "optgate_carrier_window_in_use",
			Help: "Requests awaiting the carrier's response, over all binds of the carrier.",
		}, byCarrier),
		windowSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "optgate_carrier_window_size",
			Help: "The most requests that may await the carrier's response, over all binds.",
		}, byCarrier),
		bindFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_bind_failures_total",
			Help: "Dial or bind attempts to the carrier that failed.",
		}, byCarrier),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_sessions_lost_total",
			Help: "Bound sessions to the carrier that closed without optgate asking.",
		}, byCarrier),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_throttled_total",
			Help: "ESME_RTHROTTLED and ESME_RMSGQFUL answers from the carrier, by command_status.",
		}, []string{"carrier", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_submit_retries_total",
			Help: "submit_sm sent again, by reason: throttled or not_sent.",
		}, []string{"carrier", "reason"}),
		unconfirmed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_submits_unconfirmed_total",
			Help: "submit_sm written to the carrier but never answered; not resubmitted.",
		}, byCarrier),
		protocol: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_protocol_errors_total",
			Help: "PDUs from the carrier that could not be decoded.",
		}, byCarrier),
		submitted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_submitted_total",
			Help: "submit_sm the carrier accepted, one per segment of a long text.",
		}, byCarrier),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_carrier_received_total",
			Help: "deliver_sm and data_sm received from the carrier: MO texts and receipts.",
		}, byCarrier),
	}
	for _, c := range []prometheus.Collector{m.bound, m.windowInUse, m.windowSize, m.bindFailures,
		m.lost, m.throttled, m.retries, m.unconfirmed, m.protocol, m.submitted, m.received} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register carrier metrics: %w", err)
		}
	}
	return m, nil
}

func (m *CarrierMetrics) setBound(carrier string, n int) {
	if m != nil {
		m.bound.WithLabelValues(carrier).Set(float64(n))
	}
}

// windowGauges are the window gauges of one carrier. A pool looks them up
// once, because its window changes twice for every submit_sm and a label
// lookup hashes the label values each time. The zero value records
// nothing.
type windowGauges struct {
	inUse, size prometheus.Gauge
}

func (m *CarrierMetrics) window(carrier string) windowGauges {
	if m == nil {
		return windowGauges{}
	}
	return windowGauges{inUse: m.windowInUse.WithLabelValues(carrier), size: m.windowSize.WithLabelValues(carrier)}
}

func (g windowGauges) set(inUse, size int) {
	if g.inUse != nil {
		g.inUse.Set(float64(inUse))
		g.size.Set(float64(size))
	}
}

// trafficCounters are the submitted and received counters of one carrier,
// looked up once for the reason windowGauges are. The zero value records
// nothing.
type trafficCounters struct {
	submitted, received prometheus.Counter
}

func (m *CarrierMetrics) traffic(carrier string) trafficCounters {
	if m == nil {
		return trafficCounters{}
	}
	return trafficCounters{
		submitted: m.submitted.WithLabelValues(carrier), received: m.received.WithLabelValues(carrier),
	}
}

func (c trafficCounters) submit() {
	if c.submitted != nil {
		c.submitted.Inc()
	}
}

func (c trafficCounters) receive() {
	if c.received != nil {
		c.received.Inc()
	}
}

func (m *CarrierMetrics) bindFailed(carrier string) {
	if m != nil {
		m.bindFailures.WithLabelValues(carrier).Inc()
	}
}

func (m *CarrierMetrics) sessionLost(carrier string) {
	if m != nil {
		m.lost.WithLabelValues(carrier).Inc()
	}
}

func (m *CarrierMetrics) throttle(carrier string, status smpp.CommandStatus) {
	if m != nil {
		m.throttled.WithLabelValues(carrier, status.String()).Inc()
	}
}

func (m *CarrierMetrics) retry(carrier, reason string) {
	if m != nil {
		m.retries.WithLabelValues(carrier, reason).Inc()
	}
}

func (m *CarrierMetrics) submitUnconfirmed(carrier string) {
	if m != nil {
		m.unconfirmed.WithLabelValues(carrier).Inc()
	}
}

func (m *CarrierMetrics) protocolError(carrier string) {
	if m != nil {
		m.protocol.WithLabelValues(carrier).Inc()
	}
}
