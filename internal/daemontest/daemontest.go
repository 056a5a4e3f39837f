// Package daemontest starts in-process optgate daemons for tests and holds
// the helpers those tests share: free loopback ports, cheap secret hashes,
// polling waits, and the SMPP binds and submits of a business.
package daemontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/optgate/optgate/config"
	"github.com/optgate/optgate/gateway"
	"github.com/optgate/optgate/smpp"
)

// Start creates a daemon from cfg and starts it with ctx. A nil logger
// logs nothing. A cleanup stops the daemon and fails the test when the
// stop does not finish within stopTimeout. Start does not wait for the
// carrier binds, which CarriersBound checks.
func Start(t testing.TB, ctx context.Context, cfg *config.Config, logger *zap.Logger,
	opts gateway.DaemonOptions, stopTimeout time.Duration) *gateway.Daemon {
	t.Helper()
	d, err := gateway.NewDaemon(cfg, logger, opts)
	if err != nil {
		t.Fatalf("new daemon: %v", err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopTimeout)
		defer cancel()
		if err := d.Stop(stopCtx); err != nil {
			t.Errorf("stop daemon: %v", err)
		}
	})
	return d
}

// CarriersBound returns a condition for WaitFor that holds once every
// carrier pool of d has at least one bound session.
func CarriersBound(d *gateway.Daemon) func() bool {
	return func() bool {
		for _, p := range d.Carriers().Pools() {
			if p.BoundSessions() == 0 {
				return false
			}
		}
		return true
	}
}

// WaitFor polls cond every 5 ms until it holds, and fails the test when
// it still does not hold after timeout.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Response is the outcome of one HTTP request to a daemon.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Request sends one HTTP request with client and reads the whole
// response. It sets a bearer token and a Content-Type only when they are
// not empty, and fails the test when no complete response arrives.
func Request(t testing.TB, ctx context.Context, client *http.Client,
	method, url, token, contentType string, body []byte) Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read the body: %v", method, url, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// FreePort returns a loopback port of network ("tcp" or "udp") that was
// free a moment ago. Another process may take it before the caller binds.
func FreePort(t testing.TB, network string) int {
	t.Helper()
	switch network {
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free UDP port: %v", err)
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port
	case "tcp":
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("pick a free TCP port: %v", err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	default:
		t.Fatalf("free port: invalid network %q, want tcp or udp", network)
		return 0
	}
}

// Hash returns the bcrypt hash of secret at the lowest cost, which optgate
// accepts with a warning, so tests spend no time on bcrypt.
func Hash(t testing.TB, secret string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("bcrypt hash: %v", err)
	}
	return string(h)
}

// NewSubmit returns a submit_sm of a text in the GSM 7-bit default
// alphabet from one E.164 number to another, both international ISDN
// addresses without the leading "+".
func NewSubmit(from, to, text string) (*smpp.SubmitSM, error) {
	data, err := smpp.EncodeText(text, smpp.CodingDefault, smpp.TextOptions{})
	if err != nil {
		return nil, fmt.Errorf("encode %q: %w", text, err)
	}
	return &smpp.SubmitSM{
		SourceAddrTON: smpp.TONInternational, SourceAddrNPI: smpp.NPIISDN, SourceAddr: strings.TrimPrefix(from, "+"),
		DestAddrTON: smpp.TONInternational, DestAddrNPI: smpp.NPIISDN, DestinationAddr: strings.TrimPrefix(to, "+"),
		ShortMessage: data,
	}, nil
}

// SubmitStatus sends sm over c and returns the command_status of the
// submit_sm_resp, or an error when no response came within timeout.
func SubmitStatus(ctx context.Context, c *smpp.Client, sm *smpp.SubmitSM,
	timeout time.Duration) (smpp.CommandStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.Submit(ctx, sm)
	var st *smpp.StatusError
	if errors.As(err, &st) {
		return st.Status, nil
	}
	if err != nil {
		return 0, err
	}
	return smpp.StatusOK, nil
}
