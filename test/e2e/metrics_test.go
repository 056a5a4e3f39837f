package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// metricWant is the value one series, or the sum of several series of
// one metric, must have. Each label set names a series exactly: every label
// it has must be listed, with an empty value for a label the series sets
// to "".
type metricWant struct {
	name   string
	series []map[string]string
	value  float64
}

// series wants one series to have value.
func series(name string, labels map[string]string, value float64) metricWant {
	return metricWant{name: name, series: []map[string]string{labels}, value: value}
}

func (w metricWant) String() string {
	parts := make([]string, len(w.series))
	for i, labels := range w.series {
		keys := make([]string, 0, len(labels))
		for k := range labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		pairs := make([]string, len(keys))
		for j, k := range keys {
			pairs[j] = fmt.Sprintf("%s=%q", k, labels[k])
		}
		parts[i] = w.name + "{" + strings.Join(pairs, ",") + "}"
	}
	return strings.Join(parts, " + ")
}

// scrape reads /metrics and parses the Prometheus text format.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	client := &http.Client{Timeout: requestTimeout}
	resp, err := client.Get(base + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d, want 200", resp.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// sum returns the sum of the counter or gauge series of w. A series that
// does not exist counts as 0.
func (w metricWant) sum(families map[string]*dto.MetricFamily) float64 {
	var total float64
	for _, labels := range w.series {
		total += seriesValue(families[w.name], labels)
	}
	return total
}

// seriesValue returns the value of the series with labels, or 0 when the
// family or the series does not exist.
func seriesValue(f *dto.MetricFamily, labels map[string]string) float64 {
	for _, m := range f.GetMetric() {
		if !sameLabels(m.GetLabel(), labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Untyped != nil:
			return m.Untyped.GetValue()
		}
	}
	return 0
}

// sameLabels reports whether a series has exactly the wanted labels. A
// label with an empty value matches the label written as "" or left out,
// which Prometheus treats as the same.
func sameLabels(got []*dto.LabelPair, want map[string]string) bool {
	seen := map[string]bool{}
	for _, l := range got {
		if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
			return false
		}
		seen[l.GetName()] = true
	}
	for name, v := range want {
		if !seen[name] && v != "" {
			return false
		}
	}
	return true
}

// waitMetrics scrapes /metrics until every series has its wanted value,
// because counters such as deliveries move once the business has
// responded, a moment after the test saw the PDU. On timeout it fails the
// test with each series that differs.
func waitMetrics(t *testing.T, base string, wants []metricWant) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		families := scrape(t, base)
		var wrong []string
		for _, w := range wants {
			if got := w.sum(families); got != w.value {
				wrong = append(wrong, fmt.Sprintf("%v = %g, want %g", w, got, w.value))
			}
		}
		if len(wrong) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, /metrics still differs:\n  %s", waitTimeout, strings.Join(wrong, "\n  "))
		}
		time.Sleep(pollInterval)
	}
}
