package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

func init() {
	register("healthz", "check a running daemon's /healthz or /readyz; exit 0 when it responds 200",
		runHealthz)
}

const healthzUsage = `Usage: optgate healthz [-api URL] [-ready] [-timeout DURATION]

Sends GET /healthz to a running optgate and exits 0 when it responds 200 OK,
1 when it responds with another status or not at all. With -ready it asks
/readyz instead, which responds 200 only while every carrier has a bound
session and the consent store answers a read.

It needs no token and no shell or curl, so a container image without them
can use it as its health check. An https URL is verified against the
system's CA certificates.

Flags:
`

// healthzBodyLimit bounds how much of a failed check's response body is
// printed.
const healthzBodyLimit = 1024

func runHealthz(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate healthz", healthzUsage, stderr)
	api := os.Getenv("OPTGATE_API")
	if api == "" {
		api = defaultAPI
	}
	base := fs.String("api", api, "base `URL` of optgate's HTTP API (env OPTGATE_API)")
	ready := fs.Bool("ready", false, "check /readyz (carrier binds and consent store) instead of /healthz")
	timeout := fs.Duration("timeout", 5*time.Second, "longest `duration` to wait for the answer")
	if code := parseFlags(fs, args, stdout); code >= 0 {
		return code
	}
	if fs.NArg() != 0 {
		return usageError(fs, stderr, "unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return usageError(fs, stderr, "-timeout must be positive, got %s", *timeout)
	}
	u, err := url.Parse(strings.TrimRight(*base, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError(fs, stderr, "-api %q is not an http or https URL such as %s", *base, defaultAPI)
	}
	u.Path += "/healthz"
	if *ready {
		u.Path = strings.TrimSuffix(u.Path, "/healthz") + "/readyz"
	}

	status, body, err := getHealth(ctx, u.String(), *timeout)
	if err != nil {
		fmt.Fprintf(stderr, "optgate healthz: %v\n", err)
		return exitFailure
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "optgate healthz: %s responded with HTTP %d: %s\n", u, status, body)
		return exitFailure
	}
	fmt.Fprintf(stdout, "%s: HTTP %d\n", u, status)
	return exitOK
}

// getHealth sends one GET to target and returns the status and the first
// healthzBodyLimit bytes of the body, trimmed.
func getHealth(ctx context.Context, target string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, "", fmt.Errorf("build request: %w", err)
	}
	// A health check connects to the daemon directly, never through a proxy.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	client := &http.Client{Transport: transport}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, healthzBodyLimit))
	if err != nil {
		return 0, "", fmt.Errorf("read response from %s: %w", target, err)
	}
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}
