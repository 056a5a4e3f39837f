package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// httpMetrics are the HTTP API's Prometheus collectors:
//
//	optgate_http_requests_total{route,status}
//	    requests served, by route pattern (or "unmatched") and HTTP status
//	optgate_http_request_duration_seconds{route}
//	    time from the request's arrival to the end of its handler
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the collectors on reg. When a previous HTTPAPI
// registered them on the same registry, they are reused, so the daemon
// may build a new API after a reload.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "optgate_http_requests_total",
		Help: "HTTP API requests served, by route pattern and HTTP status.",
	}, []string{"route", "status"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "optgate_http_request_duration_seconds",
		Help:    "Time the HTTP API took to respond, by route pattern.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"route"})
	var err error
	if requests, err = registerOrReuse(reg, requests); err != nil {
		return nil, err
	}
	if duration, err = registerOrReuse(reg, duration); err != nil {
		return nil, err
	}
	return &httpMetrics{requests: requests, duration: duration}, nil
}

func registerOrReuse[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var dup prometheus.AlreadyRegisteredError
	if errors.As(err, &dup) {
		if existing, ok := dup.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("register http api metrics: %w", err)
	}
	return c, nil
}

func (m *httpMetrics) observe(route string, status int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
}

// instrument counts and times the requests of one route, and logs each
// at debug level.
func (a *HTTPAPI) instrument(route string, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		a.finish(route, sw, r, time.Since(start))
	})
}

func (a *HTTPAPI) finish(route string, sw *statusWriter, r *http.Request, d time.Duration) {
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	a.metrics.observe(route, status, d)
	if ce := a.log.Check(zap.DebugLevel, "http request"); ce != nil {
		ce.Write(
			zap.String("route", route),
			zap.Int("status", status),
			zap.Duration("duration", d),
			zap.String("account", sw.account))
	}
}

// statusWriter records the status a handler sends. Unwrap lets
// http.ResponseController reach the connection beneath.
type statusWriter struct {
	http.ResponseWriter
	status int
	// account is the authenticated account, for the log line.
	account string
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
