package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/internal/daemontest"
	"github.com/optgate/optgate/smpp/smscsim"
)

const (
	// requestTimeout bounds one HTTP request to optgate or the simulator.
	requestTimeout = 10 * time.Second
	// waitTimeout bounds the wait for a condition that the daemon reaches
	// in the background, such as a queued reply reaching the simulator.
	waitTimeout = 15 * time.Second
	// pollInterval is the pause between two checks of such a condition.
	pollInterval = 20 * time.Millisecond
)

// apiClient calls optgate's HTTP API with an account token.
type apiClient struct {
	t     *testing.T
	base  string
	token string
	http  *http.Client
}

func newAPIClient(t *testing.T, base, token string) *apiClient {
	return &apiClient{t: t, base: base, token: token, http: &http.Client{Timeout: requestTimeout}}
}

// do sends a request with body encoded as JSON, when not nil, and returns
// the status code and the response body.
func (c *apiClient) do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var data []byte
	contentType := ""
	if body != nil {
		var err error
		if data, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
		contentType = "application/json"
	}
	res := daemontest.Request(c.t, context.Background(), c.http, method, c.base+path, c.token, contentType, data)
	return res.Status, res.Body
}

// optInResponse is the 202 body of POST /v1/optin-requests.
type optInResponse struct {
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	Request   int    `json:"request"`
	Text      string `json:"text"`
	From      string `json:"from"`
	To        string `json:"to"`
}

// apiError is the error body of every failed HTTP API request.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// consentState is the body of GET /v1/consent/{number}.
type consentState struct {
	Account    string `json:"account"`
	Number     string `json:"number"`
	State      string `json:"state"`
	Requests   int    `json:"requests"`
	PriorState string `json:"prior_state"`
}

// requestOptIn posts an opt-in request to number and returns the status
// code and body.
func (c *apiClient) requestOptIn(number string) (int, []byte) {
	c.t.Helper()
	return c.do(http.MethodPost, "/v1/optin-requests", map[string]string{"to": number})
}

// consent returns the number's consent state, which must be readable.
func (c *apiClient) consent(number string) consentState {
	c.t.Helper()
	status, body := c.do(http.MethodGet, "/v1/consent/"+number, nil)
	if status != http.StatusOK {
		c.t.Fatalf("GET /v1/consent/%s: HTTP %d %s, want 200", number, status, body)
	}
	var st consentState
	decodeJSON(c.t, body, &st)
	return st
}

func decodeJSON(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, body, err)
	}
}

// carrier is the built-in SMSC simulator seen through its control
// endpoint.
type carrier struct {
	t      *testing.T
	client *smscsim.ControlClient
}

func newCarrier(t *testing.T, base string) *carrier {
	return &carrier{t: t, client: &smscsim.ControlClient{BaseURL: base, HTTP: &http.Client{Timeout: requestTimeout}}}
}

// messages returns every message the simulator received since it started.
func (c *carrier) messages() []smscsim.Message {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	msgs, err := c.client.Messages(ctx)
	if err != nil {
		c.t.Fatalf("list the simulator's messages: %v", err)
	}
	return msgs
}

// since returns the messages received after the first n.
func (c *carrier) since(n int) []smscsim.Message {
	c.t.Helper()
	msgs := c.messages()
	if len(msgs) < n {
		c.t.Fatalf("the simulator lists %d messages, fewer than the %d it listed before", len(msgs), n)
	}
	return msgs[n:]
}

// waitMessages polls the simulator until done is true for the messages
// received after the first n, and returns them.
func (c *carrier) waitMessages(n int, what string, done func([]smscsim.Message) bool) []smscsim.Message {
	c.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		msgs := c.since(n)
		if done(msgs) {
			return msgs
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the simulator did not receive %s within %v; it received:\n%s",
				what, waitTimeout, describeMessages(msgs))
		}
		time.Sleep(pollInterval)
	}
}

// inject sends an MO from a subscriber to a toll-free number and checks
// that optgate responded to the deliver_sm with ESME_ROK, which it does
// once the MO is durable.
func (c *carrier) inject(from, to, text string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	resp, err := c.client.Inject(ctx, smscsim.InjectRequest{From: from, To: to, Text: text})
	if err != nil {
		c.t.Fatalf("inject MO %q from %s: %v", text, from, err)
	}
	if resp.Status != 0 {
		c.t.Fatalf("inject MO %q from %s: deliver_sm_resp %s (0x%08X), want ESME_ROK",
			text, from, resp.StatusName, uint32(resp.Status))
	}
}

// digits returns the decimal digits of s, so that numbers compare
// whatever their formatting: "+1 (800) 555-0100" gives "18005550100".
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// sameNumber reports whether an SMPP address and an E.164 number are the
// same number.
func sameNumber(addr, e164 string) bool { return digits(addr) == digits(e164) }

// addressedTo returns the messages addressed to number.
func addressedTo(msgs []smscsim.Message, number string) []smscsim.Message {
	var out []smscsim.Message
	for _, m := range msgs {
		if sameNumber(m.Destination, number) {
			out = append(out, m)
		}
	}
	return out
}

func describeMessages(msgs []smscsim.Message) string {
	if len(msgs) == 0 {
		return "  (nothing)"
	}
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "  #%d %s from %s to %s status %v registered_delivery %d: %q\n",
			m.Seq, m.Command, m.Source, m.Destination, m.Status, m.RegisteredDelivery, m.Text)
	}
	return b.String()
}
