package gateway

import (
	"cmp"
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/optgate/optgate/smpp"
)

// carrierBindsView is one carrier in GET /v1/binds.
type carrierBindsView struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// Binds is the state of each session, such as BOUND_TRX or CLOSED.
	Binds []string `json:"binds"`
	Bound int      `json:"bound"`
	// WindowInUse counts the submit_sm awaiting a response over all
	// binds, and WindowSize is the most that may await one.
	WindowInUse int `json:"window_in_use"`
	WindowSize  int `json:"window_size"`
	// Traffic is the carrier's PDU rate. It is null in the daemon's first
	// second.
	Traffic *CarrierRate `json:"traffic"`
}

// businessBindView is one bound business session in GET /v1/binds.
type businessBindView struct {
	Account    string `json:"account"`
	SystemID   string `json:"system_id"`
	BindType   string `json:"bind_type"`
	RemoteAddr string `json:"remote_addr"`
	State      string `json:"state"`
	// WindowSize is the most deliver_sm and data_sm that may await the
	// business's response, and WindowInUse how many await it now.
	WindowSize  int `json:"window_size"`
	WindowInUse int `json:"window_in_use"`
}

// bindsResponse is the body of GET /v1/binds.
type bindsResponse struct {
	Carriers []carrierBindsView `json:"carriers"`
	Business []businessBindView `json:"business"`
	// Traffic is the message rate over every carrier. It is null in the
	// daemon's first second.
	Traffic *TrafficRate `json:"traffic"`
}

// getBinds reports the carrier binds, the bound business sessions and the
// message rate, for the operator.
func (a *HTTPAPI) getBinds(w http.ResponseWriter, r *http.Request, _ caller) {
	src := a.cfg.Console
	out := bindsResponse{Carriers: []carrierBindsView{}, Business: []businessBindView{}}
	var perCarrier map[string]CarrierRate
	if src.Traffic != nil {
		if rate, carriers, ok := src.Traffic.rates(); ok {
			out.Traffic, perCarrier = &rate, carriers
		}
	}
	if src.Carriers != nil {
		for _, p := range src.Carriers.Pools() {
			v := p.consoleView()
			if rate, ok := perCarrier[v.Name]; ok {
				v.Traffic = &rate
			}
			out.Carriers = append(out.Carriers, v)
		}
	}
	if src.ESME != nil {
		out.Business = src.ESME.consoleView()
	}
	a.writeJSON(w, r, http.StatusOK, out)
}

// consoleView returns the pool's address, bind states and window use.
func (p *CarrierPool) consoleView() carrierBindsView {
	p.mu.Lock()
	defer p.mu.Unlock()
	v := carrierBindsView{Name: p.name, Address: p.addr, Binds: make([]string, 0, len(p.states))}
	for i, s := range p.states {
		v.Binds = append(v.Binds, s.String())
		if s.Bound() {
			v.Bound++
		}
		v.WindowInUse += p.inUse[i]
	}
	v.WindowSize = len(p.states) * p.cfg.Carrier.Window
	return v
}

// consoleView returns the bound business sessions, ordered by account and
// system_id.
func (e *ESMEServer) consoleView() []businessBindView {
	window := e.srv.WindowSize
	if window <= 0 {
		window = smpp.DefaultWindowSize
	}
	out := []businessBindView{}
	for _, s := range e.srv.Sessions() {
		id, ok := e.slots.identity(s.SystemID())
		if !ok {
			continue
		}
		out = append(out, businessBindView{
			Account: id.Account, SystemID: id.SystemID, BindType: s.BindType().String(),
			RemoteAddr: s.RemoteAddr().String(), State: s.State().String(), WindowSize: window,
			WindowInUse: s.InFlight(),
		})
	}
	slices.SortFunc(out, func(x, y businessBindView) int {
		return cmp.Or(cmp.Compare(x.Account, y.Account), cmp.Compare(x.SystemID, y.SystemID),
			cmp.Compare(x.RemoteAddr, y.RemoteAddr))
	})
	return out
}

// TrafficRate is the message rate over a recent span.
type TrafficRate struct {
	// SentPerSecond counts texts, opt-in requests and replies that every
	// carrier accepted, per second. A long text counts once.
	SentPerSecond float64 `json:"sent_per_second"`
	// ReceivedPerSecond counts MO texts and receipts from carriers, per
	// second, including those optgate could not use.
	ReceivedPerSecond float64 `json:"received_per_second"`
	// Seconds is the span measured: from the newest sample taken at
	// least a minute ago to now, so 60 to 70, or less in the daemon's
	// first minute.
	Seconds float64 `json:"seconds"`
}

// CarrierRate is one carrier's PDU rate over a recent span. It counts
// PDUs, so a long text counts once per segment, unlike TrafficRate.
type CarrierRate struct {
	// SubmittedPerSecond counts submit_sm the carrier accepted, per
	// second (optgate_carrier_submitted_total).
	SubmittedPerSecond float64 `json:"submitted_per_second"`
	// ReceivedPerSecond counts deliver_sm and data_sm from the carrier,
	// MO texts and receipts, per second (optgate_carrier_received_total).
	ReceivedPerSecond float64 `json:"received_per_second"`
	// Seconds is the span measured, as in TrafficRate.
	Seconds float64 `json:"seconds"`
}

// TrafficRates samples the routing core's message counters
// (optgate_gateway_messages_total) and the carrier PDU counters
// (optgate_carrier_submitted_total, optgate_carrier_received_total) every
// 5 seconds, and derives the rates over about the last minute. Run samples
// until its context ends. It is safe for concurrent use.
type TrafficRates struct {
	gather   prometheus.Gatherer
	interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	samples []trafficSample // oldest first, spanning at most trafficSpan
}

type trafficSample struct {
	at             time.Time
	sent, received float64
	carriers       map[string]carrierCount
}

// carrierCount is one carrier's PDU counters at a sample.
type carrierCount struct {
	submitted, received float64
}

// trafficSpan is how far back TrafficRates looks.
const trafficSpan = time.Minute

// NewTrafficRates returns a sampler of the counters in g. Run samples
// them every 5 seconds.
func NewTrafficRates(g prometheus.Gatherer) *TrafficRates {
	return &TrafficRates{gather: g, interval: 5 * time.Second, now: time.Now}
}

// Run samples the counters until ctx ends.
func (t *TrafficRates) Run(ctx context.Context) {
	ticker := time.NewTicker(t.interval)
	defer ticker.Stop()
	t.Sample()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			t.Sample()
		}
	}
}

// Sample reads the counters once and keeps the reading. A registry that
// fails to gather leaves the samples as they were.
func (t *TrafficRates) Sample() {
	s, ok := t.read()
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.samples = append(t.samples, s)
	// Keep the newest sample at least trafficSpan old, so the rate spans
	// a whole minute once the daemon has run that long.
	for len(t.samples) > 2 && s.at.Sub(t.samples[1].at) >= trafficSpan {
		t.samples = t.samples[1:]
	}
}

// read sums the counters of sent and received messages, and reads each
// carrier's PDU counters, now.
func (t *TrafficRates) read() (trafficSample, bool) {
	families, err := t.gather.Gather()
	if err != nil && len(families) == 0 {
		return trafficSample{}, false
	}
	s := trafficSample{at: t.now(), carriers: map[string]carrierCount{}}
	for _, f := range families {
		switch f.GetName() {
		case "optgate_gateway_messages_total":
			for _, m := range f.GetMetric() {
				s.addMessages(labelMap(m.GetLabel()), m.GetCounter().GetValue())
			}
		case "optgate_carrier_submitted_total", "optgate_carrier_received_total":
			submitted := f.GetName() == "optgate_carrier_submitted_total"
			for _, m := range f.GetMetric() {
				name := labelMap(m.GetLabel())["carrier"]
				c := s.carriers[name]
				if submitted {
					c.submitted += m.GetCounter().GetValue()
				} else {
					c.received += m.GetCounter().GetValue()
				}
				s.carriers[name] = c
			}
		}
	}
	return s, true
}

// addMessages adds one series of optgate_gateway_messages_total to the
// sample's totals.
func (s *trafficSample) addMessages(labels map[string]string, v float64) {
	switch labels["direction"] {
	case dirMT, dirRequest, dirReply:
		if labels["outcome"] == outcomeSent || labels["outcome"] == outcomeShadow {
			s.sent += v
		}
	case dirMO, dirReceipt:
		s.received += v
	}
}

// labelPair is a label of a gathered metric.
type labelPair interface {
	GetName() string
	GetValue() string
}

// labelMap returns the label pairs of a gathered metric by name.
func labelMap[L labelPair](pairs []L) map[string]string {
	labels := make(map[string]string, len(pairs))
	for _, l := range pairs {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}

// minTrafficSpan is the shortest span Rate reports a rate over, because
// a rate over a fraction of a second is mostly noise.
const minTrafficSpan = time.Second

// Rate returns the rate from the oldest kept sample to the counters now.
// It reports false until a sample at least a second old exists.
func (t *TrafficRates) Rate() (TrafficRate, bool) {
	rate, _, ok := t.rates()
	return rate, ok
}

// rates returns the rate of Rate and each carrier's PDU rate, by carrier
// name, from one reading of the counters.
func (t *TrafficRates) rates() (TrafficRate, map[string]CarrierRate, bool) {
	cur, ok := t.read()
	if !ok {
		return TrafficRate{}, nil, false
	}
	t.mu.Lock()
	first, ok := t.oldestLocked()
	t.mu.Unlock()
	if !ok {
		return TrafficRate{}, nil, false
	}
	span := cur.at.Sub(first.at)
	if span < minTrafficSpan {
		return TrafficRate{}, nil, false
	}

	secs := span.Seconds()
	carriers := make(map[string]CarrierRate, len(cur.carriers))
	for name, now := range cur.carriers {
		// A carrier missing from the first sample had counted nothing.
		then := first.carriers[name]
		carriers[name] = CarrierRate{
			SubmittedPerSecond: (now.submitted - then.submitted) / secs,
			ReceivedPerSecond:  (now.received - then.received) / secs,
			Seconds:            secs,
		}
	}

	return TrafficRate{
		SentPerSecond:     (cur.sent - first.sent) / secs,
		ReceivedPerSecond: (cur.received - first.received) / secs,
		Seconds:           secs,
	}, carriers, true
}

// oldestLocked returns the oldest kept sample. The caller holds t.mu.
func (t *TrafficRates) oldestLocked() (trafficSample, bool) {
	if len(t.samples) == 0 {
		return trafficSample{}, false
	}
	return t.samples[0], true
}
