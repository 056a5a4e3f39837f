package gateway

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/smpp"
)

// Metrics are the routing core's Prometheus collectors:
//
//	optgate_gateway_messages_total{direction,outcome,reason}
//	    messages handled; direction is mt, request, reply, mo or receipt
//	optgate_gateway_mt_duration_seconds
//	    time from Submit to the last segment's submit_sm_resp, sent MTs only
//	optgate_gateway_consent_decision_duration_seconds{direction}
//	    time the consent engine took per MT check, request or MO
//	optgate_gateway_carrier_submit_errors_total{carrier,status}
//	    submit_sm refused by a carrier, by command_status
//	optgate_gateway_mo_keywords_total{keyword,outcome}
//	    MOs the consent engine classified, by keyword and consent outcome
//	optgate_gateway_receipts_matched_late_total{carrier}
//	    receipts kept without an id mapping, matched when it was written
//	optgate_gateway_receipts_unmatched_total{carrier}
//	    receipts kept without an id mapping and dropped when their
//	    retention ended, having matched no message
//	optgate_gateway_receipts_unmatched_expired_total{carrier}
//	    the same count as receipts_unmatched_total, under its earlier name
//	optgate_gateway_deliveries_total{kind,outcome}
//	    queued items handed to a Deliverer, by result
//	optgate_gateway_queue_dropped_total{queue}
//	    queued items dead-lettered for age or queue length
//	optgate_gateway_queue_items{queue}
//	    items waiting in each delivery queue
//
// The daemon also registers optgate_ready, 1 while every readiness check
// of GET /readyz passes and 0 otherwise, evaluated at each scrape.
//
// A nil *Metrics records nothing, so tests may leave it out.
type Metrics struct {
	messages         *prometheus.CounterVec
	mtDuration       prometheus.Histogram
	consentDuration  *prometheus.HistogramVec
	carrierErrors    *prometheus.CounterVec
	moKeywords       *prometheus.CounterVec
	matchedLate      *prometheus.CounterVec
	unmatched        *prometheus.CounterVec
	unmatchedExpired *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	dropped          *prometheus.CounterVec
}

// Message directions and outcomes, the label values of
// optgate_gateway_messages_total.
const (
	dirMT      = "mt"
	dirRequest = "request"
	dirReply   = "reply"
	dirMO      = "mo"
	dirReceipt = "receipt"

	outcomeSent      = "sent"      // MT, request, reply: every segment accepted
	outcomeBlocked   = "blocked"   // MT, request: refused by the consent rules
	outcomeShadow    = "shadow"    // MT: would have been blocked, sent in shadow mode
	outcomeFailed    = "failed"    // not sent, or MO/receipt not accepted
	outcomeAccepted  = "accepted"  // MO: durable and queued
	outcomeMatched   = "matched"   // receipt: correlated with its message
	outcomeUnmatched = "unmatched" // receipt: no mapping on arrival, kept until it appears
	outcomeInvalid   = "invalid"   // receipt: unparsable, acknowledged and dropped
)

// NewMetrics creates the collectors and registers them on reg. depths,
// when not nil, is read at every scrape for optgate_gateway_queue_items.
func NewMetrics(reg prometheus.Registerer, depths func() map[string]int) (*Metrics, error) {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_messages_total",
			Help: "Messages handled by the routing core, by direction, outcome and reason code.",
		}, []string{"direction", "outcome", "reason"}),
		mtDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "optgate_gateway_mt_duration_seconds",
			Help:    "Time from MT submission to the carrier's acceptance of the last segment.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}),
		consentDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "optgate_gateway_consent_decision_duration_seconds",
			Help:    "Time the consent engine took to decide, by direction.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}, []string{"direction"}),
		carrierErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_carrier_submit_errors_total",
			Help: "submit_sm requests a carrier refused, by carrier and command_status.",
		}, []string{"carrier", "status"}),
		moKeywords: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_mo_keywords_total",
			Help: "MO texts the consent engine classified, by keyword (none for an ordinary text) " +
				"and the consent outcome; a redelivered MO is counted again.",
		}, []string{"keyword", "outcome"}),
		matchedLate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_receipts_matched_late_total",
			Help: "Delivery receipts that found no id mapping on arrival and were matched " +
				"when the mapping was written.",
		}, []string{"carrier"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_receipts_unmatched_total",
			Help: "Delivery receipts that matched no message: kept without an id mapping " +
				"and dropped when their retention time ended.",
		}, []string{"carrier"}),
		// TODO: remove once dashboards and tests read receipts_unmatched_total.
		unmatchedExpired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_receipts_unmatched_expired_total",
			Help: "Deprecated, the same count as optgate_gateway_receipts_unmatched_total.",
		}, []string{"carrier"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_deliveries_total",
			Help: "Queued items handed to their target, by kind and result.",
		}, []string{"kind", "outcome"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_gateway_queue_dropped_total",
			Help: "Queued items dead-lettered because of the age or length limit.",
		}, []string{"queue"}),
	}
	collectors := []prometheus.Collector{m.messages, m.mtDuration, m.consentDuration, m.carrierErrors,
		m.moKeywords, m.matchedLate, m.unmatched, m.unmatchedExpired, m.deliveries, m.dropped}
	if depths != nil {
		collectors = append(collectors, queueCollector{depths: depths})
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register gateway metrics: %w", err)
		}
	}
	return m, nil
}

func (m *Metrics) message(direction, outcome string, reason Code) {
	if m != nil {
		m.messages.WithLabelValues(direction, outcome, string(reason)).Inc()
	}
}

func (m *Metrics) mtSent(d time.Duration) {
	if m != nil {
		m.mtDuration.Observe(d.Seconds())
	}
}

func (m *Metrics) consentDecision(direction string, d time.Duration) {
	if m != nil {
		m.consentDuration.WithLabelValues(direction).Observe(d.Seconds())
	}
}

func (m *Metrics) carrierError(carrier string, status smpp.CommandStatus) {
	if m != nil {
		m.carrierErrors.WithLabelValues(carrier, status.String()).Inc()
	}
}

func (m *Metrics) moKeyword(k consent.Keyword, o consent.Outcome) {
	if m != nil {
		m.moKeywords.WithLabelValues(k.String(), o.String()).Inc()
	}
}

func (m *Metrics) receiptsMatchedLate(carrier string, n int) {
	if m != nil && n > 0 {
		m.matchedLate.WithLabelValues(carrier).Add(float64(n))
	}
}

func (m *Metrics) receiptExpired(carrier string) {
	if m != nil {
		m.unmatched.WithLabelValues(carrier).Inc()
		m.unmatchedExpired.WithLabelValues(carrier).Inc()
	}
}

func (m *Metrics) delivery(kind ItemKind, outcome string) {
	if m != nil {
		m.deliveries.WithLabelValues(kind.String(), outcome).Inc()
	}
}

func (m *Metrics) queueDropped(queue string, n int) {
	if m != nil {
		m.dropped.WithLabelValues(queue).Add(float64(n))
	}
}

// queueCollector reports the queue depths at scrape time.
type queueCollector struct {
	depths func() map[string]int
}

var queueItemsDesc = prometheus.NewDesc("optgate_gateway_queue_items",
	"Items waiting in each delivery queue (account id, or :replies for consent replies).",
	[]string{"queue"}, nil)

func (queueCollector) Describe(ch chan<- *prometheus.Desc) { ch <- queueItemsDesc }

func (c queueCollector) Collect(ch chan<- prometheus.Metric) {
	for q, n := range c.depths() {
		ch <- prometheus.MustNewConstMetric(queueItemsDesc, prometheus.GaugeValue, float64(n), q)
	}
}
