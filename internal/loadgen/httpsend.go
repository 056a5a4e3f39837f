package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// maxResponseBody bounds the part of a response body the load tool reads.
const maxResponseBody = 64 << 10

// httpSender posts each message to optgate's POST /v1/messages.
type httpSender struct {
	cfg    Config
	url    string
	client *http.Client
}

func newHTTPSender(cfg Config) *httpSender {
	conns := cfg.Binds * cfg.Window
	transport := &http.Transport{
		Proxy:               nil, // the target is named directly, never through a proxy
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		DisableCompression:  true,
	}
	return &httpSender{
		cfg:    cfg,
		url:    strings.TrimRight(cfg.HTTPURL, "/") + "/v1/messages",
		client: &http.Client{Transport: transport, Timeout: cfg.ResponseTimeout},
	}
}

// sendRequest is the body of POST /v1/messages.
type sendRequest struct {
	From               string `json:"from"`
	To                 string `json:"to"`
	Text               string `json:"text"`
	RegisteredDelivery int    `json:"registered_delivery,omitempty"`
}

// sendResponse is the body of a 202 response to POST /v1/messages.
type sendResponse struct {
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
}

// errorResponse is the body of an error response of the HTTP API.
type errorResponse struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *httpSender) send(ctx context.Context, _ int, msg *message) (int, *failure) {
	body := sendRequest{From: s.cfg.From.At(msg.from), To: s.cfg.To.At(msg.to), Text: msg.kind.Text()}
	if s.cfg.Receipts {
		body.RegisteredDelivery = 1
	}
	data, err := json.Marshal(body)
	if err != nil {
		return 0, &failure{reason: "client error", detail: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(data))
	if err != nil {
		return 0, &failure{reason: "client error", detail: err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.cfg.Token)

	resp, err := s.client.Do(req)
	if err != nil {
		return 0, classifyHTTPError(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBody))
	// Drain what is left, so the connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	if err != nil {
		return 0, classifyHTTPError(err)
	}

	if resp.StatusCode == http.StatusAccepted {
		var ok sendResponse
		if err := json.Unmarshal(raw, &ok); err != nil {
			return 0, &failure{reason: "invalid response", status: "202", detail: err.Error()}
		}
		return ok.Segments, nil
	}
	return 0, httpFailure(resp.StatusCode, raw)
}

// httpFailure reads the API's error code from an error response; a body
// without one is reported by its HTTP status.
func httpFailure(status int, body []byte) *failure {
	f := &failure{status: strconv.Itoa(status)}
	var e errorResponse
	if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
		f.reason = e.Error.Code
		return f
	}
	f.reason = "HTTP " + http.StatusText(status)
	f.detail = fmt.Sprintf("%.200s", body)
	return f
}

func classifyHTTPError(err error) *failure {
	switch {
	case errors.Is(err, context.Canceled):
		return &failure{reason: "no response before the run ended"}
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return &failure{reason: "response timeout"}
	}
	return &failure{reason: "transport error", detail: err.Error()}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func (s *httpSender) receipts() int64 { return 0 }

func (s *httpSender) close(context.Context) error {
	s.client.CloseIdleConnections()
	return nil
}
