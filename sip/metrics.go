package sip

import (
	"errors"
	"strconv"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the SIP front end's Prometheus collectors:
//
//   - optgate_sip_requests_total{method}: requests received, by method;
//     methods optgate does not know count as "other".
//   - optgate_sip_responses_total{code}: final and provisional responses
//     optgate sent, by status code.
//   - optgate_sip_calls_total: calls to toll-free numbers answered.
//   - optgate_sip_voicemails_total: voicemails recorded and stored.
type metrics struct {
	requests   *prometheus.CounterVec
	responses  *prometheus.CounterVec
	calls      prometheus.Counter
	voicemails prometheus.Counter
}

// knownMethods bounds the method label, because the method is chosen by
// the peer: RFC 3261 section 7.1 lets any token be a method.
var knownMethods = map[sip.RequestMethod]bool{
	sip.INVITE: true, sip.ACK: true, sip.CANCEL: true, sip.BYE: true, sip.REGISTER: true,
	sip.OPTIONS: true, sip.SUBSCRIBE: true, sip.NOTIFY: true, sip.REFER: true, sip.INFO: true,
	sip.MESSAGE: true, sip.PRACK: true, sip.UPDATE: true, sip.PUBLISH: true,
}

// newMetrics creates the collectors and registers them on reg, unless reg
// is nil.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_sip_requests_total",
			Help: "SIP requests received, by method.",
		}, []string{"method"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "optgate_sip_responses_total",
			Help: "SIP responses sent, by status code.",
		}, []string{"code"}),
		calls: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "optgate_sip_calls_total",
			Help: "Calls to toll-free numbers answered.",
		}),
		voicemails: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "optgate_sip_voicemails_total",
			Help: "Voicemails recorded and stored.",
		}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.requests, m.responses, m.calls, m.voicemails} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) request(method sip.RequestMethod) {
	label := "other"
	if knownMethods[method] {
		label = string(method)
	}
	m.requests.WithLabelValues(label).Inc()
}

func (m *metrics) response(code int) {
	m.responses.WithLabelValues(strconv.Itoa(code)).Inc()
}
