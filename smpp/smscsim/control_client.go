package smscsim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ControlClient calls a simulator's HTTP control endpoint, as the
// smsc-sim command's inject and messages subcommands do.
type ControlClient struct {
	// BaseURL is the endpoint's base URL, such as "http://127.0.0.1:2777".
	BaseURL string
	// HTTP is the client used. Default: http.DefaultClient.
	HTTP *http.Client
}

// ControlError is a failed control request: the HTTP status and the
// endpoint's error message.
type ControlError struct {
	StatusCode int
	Message    string
}

func (e *ControlError) Error() string {
	return fmt.Sprintf("smscsim control: HTTP %d: %s", e.StatusCode, e.Message)
}

// Inject posts req to /inject and returns the ESME's command_status.
func (c *ControlClient) Inject(ctx context.Context, req InjectRequest) (InjectResponse, error) {
	var resp InjectResponse
	err := c.do(ctx, http.MethodPost, "/inject", req, &resp)
	return resp, err
}

// Messages returns the messages the simulator received, from GET
// /messages. Their PDU field is nil.
func (c *ControlClient) Messages(ctx context.Context) ([]Message, error) {
	var msgs []Message
	err := c.do(ctx, http.MethodGet, "/messages", nil, &msgs)
	return msgs, err
}

// Behaviour changes the behaviour with patch, a JSON object as POST
// /behaviour takes it, or only reads it when patch is empty. It returns
// the behaviour and rules in force as JSON.
func (c *ControlClient) Behaviour(ctx context.Context, patch []byte) (json.RawMessage, error) {
	var state json.RawMessage
	if len(bytes.TrimSpace(patch)) == 0 {
		err := c.do(ctx, http.MethodGet, "/behaviour", nil, &state)
		return state, err
	}
	err := c.do(ctx, http.MethodPost, "/behaviour", json.RawMessage(patch), &state)
	return state, err
}

// do sends a request with body encoded as JSON, when not nil, and decodes
// a 2xx response into out.
func (c *ControlClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("smscsim control: encoding the %s %s body: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}

	url := strings.TrimRight(c.BaseURL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("smscsim control: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("smscsim control: %w", err)
	}
	defer resp.Body.Close()

	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	if err != nil {
		return fmt.Errorf("smscsim control: reading the %s %s response: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e errorResponse
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return &ControlError{StatusCode: resp.StatusCode, Message: e.Error}
	}

	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("smscsim control: decoding the %s %s response: %w", method, path, err)
	}
	return nil
}

// maxResponseBody is the largest control response read: room for
// DefaultMaxRecords messages.
const maxResponseBody = 64 << 20
