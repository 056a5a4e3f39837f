package deploy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
)

// metricNameRE matches the metric names in a PromQL expression: optgate's
// own, the Go and process collectors', the blackbox exporter's probe_*,
// Prometheus's up, and recording rules (level:metric:operations).
var metricNameRE = regexp.MustCompile(
	`\b(?:optgate|process|go|probe)_[a-z0-9_]+\b|\bup\b|\b[a-z_]+:[a-z0-9_]+:[a-z0-9_]+\b`)

// selectorRE matches every name directly followed by a label matcher, so
// that a metric metricNameRE does not know is reported, not skipped.
var selectorRE = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{`)

// stringLiteralRE matches a double-quoted PromQL string.
var stringLiteralRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// notFromOptgate are the names that Prometheus and the blackbox exporter
// produce themselves.
var notFromOptgate = map[string]bool{"up": true, "probe_success": true}

// usedMetrics returns each metric name in the alert rules and the
// dashboard, with one place that uses it.
func usedMetrics(t *testing.T) map[string]string {
	t.Helper()
	used := map[string]string{}
	add := func(where, expr string) {
		// Label values such as job="optgate_ready" are not metric names.
		expr = stringLiteralRE.ReplaceAllString(expr, `""`)
		for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
			if !metricNameRE.MatchString(m[1]) || metricNameRE.FindString(m[1]) != m[1] {
				t.Errorf("%s: selector %s is not a name this test can check: %s", where, m[1], expr)
			}
		}
		for _, name := range metricNameRE.FindAllString(expr, -1) {
			used[name] = where
		}
	}
	for _, r := range loadRules(t) {
		add("alerts.yml "+r.Alert+r.Record, r.Expr)
	}
	for _, expr := range loadDashboard(t).exprs() {
		add("dashboard", expr)
	}
	return used
}

// startDaemon starts optgate in-process from the built-in configuration
// on free loopback ports, with its own data directory, and waits until
// /readyz reports ready.
func startDaemon(t *testing.T) (*gateway.Daemon, string) {
	t.Helper()
	cfg := config.Default()
	cfg.Listeners.SMPP.Addr = "127.0.0.1:0"
	cfg.Listeners.HTTP.Addr = "127.0.0.1:0"
	cfg.Listeners.SIP.Enabled = false
	// A carrier needs a real port to dial, so the simulator gets one that
	// was free a moment ago.
	cfg.Listeners.Simulator.Addr = freeAddr(t)
	cfg.Listeners.Simulator.ControlAddr = ""
	cfg.Listeners.Simulator.ReceiptDelay = 0
	for i := range cfg.Carriers {
		cfg.Carriers[i].Address = cfg.Listeners.Simulator.Addr
	}
	cfg.Store.Embedded.Path = filepath.Join(t.TempDir(), "optgate.db")

	d, err := gateway.NewDaemon(cfg, zap.NewNop(), gateway.DaemonOptions{})
	if err != nil {
		t.Fatalf("new daemon: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Errorf("stop daemon: %v", err)
		}
	})
	base := "http://" + d.HTTPAddr().String()
	for {
		status, _ := httpGet(ctx, base+"/readyz")
		if status == http.StatusOK {
			return d, base
		}
		select {
		case <-ctx.Done():
			t.Fatalf("daemon not ready: last /readyz status %d", status)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback TCP address that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(ctx context.Context, url string) (int, string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// sendBlockedMT sends one MT to a number that never opted in, so the
// message counters get a series.
func sendBlockedMT(t *testing.T, base string) {
	t.Helper()
	body := fmt.Sprintf(`{"from":%q,"to":"+12015550101","text":"deploy test"}`, config.DemoTollFree)
	req, err := http.NewRequest(http.MethodPost, base+"/v1/messages", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+config.DemoAPIToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /v1/messages: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /v1/messages: HTTP %d %s, want 403 no_consent", resp.StatusCode, b)
	}
}

// scrapedFamilies returns the metric families /metrics serves now.
func scrapedFamilies(t *testing.T, base string) map[string]bool {
	t.Helper()
	status, body := httpGet(context.Background(), base+"/metrics")
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: HTTP %d: %s", status, body)
	}
	families := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			families[f[2]] = true
		}
	}
	return families
}

// registered reports whether reg has a collector that describes a metric
// named name. A counter or histogram vector shows on /metrics only once it
// has a series, but the registry rejects a second descriptor with the same
// name from the moment the collector is registered.
func registered(reg *prometheus.Registry, name string) bool {
	probe := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: "deploy test probe"})
	err := reg.Register(probe)
	if err == nil {
		reg.Unregister(probe)
		return false
	}
	var dup prometheus.AlreadyRegisteredError
	return errors.As(err, &dup) || strings.Contains(err.Error(), "same fully-qualified name")
}

// familyOf returns the family a sample name belongs to: a histogram's
// _bucket, _sum and _count samples belong to the histogram.
func familyOf(name string, known func(string) bool) string {
	if known(name) {
		return name
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && known(base) {
			return base
		}
	}
	return ""
}

// TestMetricsUsedAreExported checks every metric name in the alert rules
// and the dashboard against a running daemon: on /metrics after some
// traffic, or else among the collectors registered for /metrics.
func TestMetricsUsedAreExported(t *testing.T) {
	used := usedMetrics(t)
	d, base := startDaemon(t)
	sendBlockedMT(t, base)
	scraped := scrapedFamilies(t, base)
	for _, name := range []string{"optgate_gateway_messages_total", "optgate_http_requests_total",
		"optgate_carrier_sessions_bound", "process_resident_memory_bytes"} {
		if !scraped[name] {
			t.Errorf("/metrics has no %s after traffic", name)
		}
	}

	recorded := map[string]bool{}
	for _, r := range loadRules(t) {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	reg := d.Prometheus()
	known := func(name string) bool { return scraped[name] || registered(reg, name) }
	names := make([]string, 0, len(used))
	for name := range used {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case notFromOptgate[name]:
		case strings.Contains(name, ":"):
			if !recorded[name] {
				t.Errorf("%s uses %s, which no recording rule in alerts.yml records", used[name], name)
			}
		case familyOf(name, known) == "":
			t.Errorf("%s uses %s, which a running optgate does not export", used[name], name)
		}
	}
	if len(names) < 20 {
		t.Errorf("found %d metric names in the alerts and the dashboard, want at least 20", len(names))
	}
}

// TestRegisteredDetectsAbsentMetric makes sure the registry check above
// can fail.
func TestRegisteredDetectsAbsentMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "optgate_test_present_total", Help: "x"},
		[]string{"label"})
	reg.MustRegister(c)
	if !registered(reg, "optgate_test_present_total") {
		t.Error("registered: a registered vector without series was not found")
	}
	if registered(reg, "optgate_test_absent_total") {
		t.Error("registered: an absent metric was found")
	}
	if !registered(reg, "optgate_test_present_total") {
		t.Error("registered: the probe of an absent name changed the registry")
	}
}

// TestHealthzCommandAgainstDaemon runs `optgate healthz`, the Docker
// image's health check, against a running daemon.
func TestHealthzCommandAgainstDaemon(t *testing.T) {
	bin := optgateBinary(t)
	_, base := startDaemon(t)
	for _, args := range [][]string{{"healthz", "-api", base}, {"healthz", "-api", base, "-ready"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("optgate %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	// A closed port must fail the check.
	out, err := exec.Command(bin, "healthz", "-api", "http://127.0.0.1:1", "-timeout", "2s").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("optgate healthz against a closed port: %v, want exit code 1\n%s", err, out)
	}
}
