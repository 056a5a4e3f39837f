package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// healthServer responds to /healthz and /readyz with the given statuses
// and records the request paths.
type healthServer struct {
	mu    sync.Mutex
	paths []string
}

func startHealthServer(t *testing.T, healthz, readyz int) (*httptest.Server, *healthServer) {
	t.Helper()
	h := &healthServer{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.paths = append(h.paths, r.Method+" "+r.URL.Path)
		h.mu.Unlock()
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(healthz)
			w.Write([]byte(`{"status":"ok"}`))
		case "/readyz":
			w.WriteHeader(readyz)
			w.Write([]byte(`{"error":{"code":"not_ready","message":"not ready: carrier:east"}}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, h
}

func (h *healthServer) requested() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.paths...)
}

func runHealthzCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := dispatch(context.Background(), append([]string{"healthz"}, args...), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestHealthzHealthy(t *testing.T) {
	srv, h := startHealthServer(t, http.StatusOK, http.StatusServiceUnavailable)
	code, stdout, stderr := runHealthzCmd(t, "-api", srv.URL+"/")
	if code != exitOK {
		t.Fatalf("exit code = %d, want %d; stderr: %s", code, exitOK, stderr)
	}
	if !strings.Contains(stdout, "/healthz: HTTP 200") {
		t.Errorf("stdout = %q, want the checked URL and HTTP 200", stdout)
	}
	if got := h.requested(); len(got) != 1 || got[0] != "GET /healthz" {
		t.Errorf("requests = %q, want one GET /healthz", got)
	}
}

func TestHealthzReadyNotReady(t *testing.T) {
	srv, h := startHealthServer(t, http.StatusOK, http.StatusServiceUnavailable)
	code, _, stderr := runHealthzCmd(t, "-api", srv.URL, "-ready")
	if code != exitFailure {
		t.Fatalf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, "HTTP 503") {
		t.Errorf("stderr = %q, want the HTTP status", stderr)
	}
	if !strings.Contains(stderr, "carrier:east") {
		t.Errorf("stderr = %q, want the response body naming the failing part", stderr)
	}
	if got := h.requested(); len(got) != 1 || got[0] != "GET /readyz" {
		t.Errorf("requests = %q, want one GET /readyz", got)
	}
}

func TestHealthzUnhealthyStatus(t *testing.T) {
	srv, _ := startHealthServer(t, http.StatusInternalServerError, http.StatusOK)
	code, stdout, stderr := runHealthzCmd(t, "-api", srv.URL)
	if code != exitFailure {
		t.Fatalf("exit code = %d, want %d", code, exitFailure)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing on failure", stdout)
	}
	if !strings.Contains(stderr, "HTTP 500") {
		t.Errorf("stderr = %q, want HTTP 500", stderr)
	}
}

func TestHealthzNoServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, _, stderr := runHealthzCmd(t, "-api", "http://"+addr, "-timeout", "2s")
	if code != exitFailure {
		t.Fatalf("exit code = %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr, addr) {
		t.Errorf("stderr = %q, want the address that did not answer", stderr)
	}
}

func TestHealthzBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"not a URL", []string{"-api", "127.0.0.1:8080"}, "not an http or https URL"},
		{"other scheme", []string{"-api", "ftp://127.0.0.1"}, "not an http or https URL"},
		{"zero timeout", []string{"-timeout", "0s"}, "-timeout must be positive"},
		{"extra argument", []string{"now"}, `unexpected argument "now"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runHealthzCmd(t, tt.args...)
			if code != exitUsage {
				t.Errorf("exit code = %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
		})
	}
}
