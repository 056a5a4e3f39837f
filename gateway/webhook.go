package gateway

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook request headers.
const (
	// HeaderDelivery identifies one queued item as "queue:seq". A retried
	// delivery repeats it, so the receiver can drop duplicates.
	HeaderDelivery = "Optgate-Delivery"
	// HeaderTimestamp is the Unix time in seconds when the request was
	// signed.
	HeaderTimestamp = "Optgate-Timestamp"
	// HeaderSignature is "v1=" and the hex HMAC-SHA256, keyed with the
	// account's delivery secret, of the timestamp, ".", and the body.
	HeaderSignature = "Optgate-Signature"
)

// WebhookEvent is the JSON body of a webhook request. Exactly one of MO
// and Receipt is set, as Type states.
type WebhookEvent struct {
	// Type is "mo" or "receipt".
	Type    string       `json:"type"`
	Account string       `json:"account"`
	MO      *MOItem      `json:"mo,omitempty"`
	Receipt *ReceiptItem `json:"receipt,omitempty"`
	// PossibleResend is true when optgate may have posted this event
	// before, as MOFlagPossibleResend describes. A receiver that has seen
	// its Optgate-Delivery value or MO id already drops it.
	PossibleResend bool `json:"possible_resend,omitempty"`
}

// WebhookConfig configures a Webhook.
type WebhookConfig struct {
	// URL is the http or https endpoint the events are posted to.
	URL string
	// Secret signs every request when set (see HeaderSignature).
	Secret string
	// Client sends the requests. Default: an http.Client with Timeout
	// that does not follow redirects.
	Client *http.Client
	// Timeout bounds one request when Client is nil. Default 10s.
	Timeout time.Duration
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Webhook delivers MO texts and receipts with an HTTP POST. It is a
// Deliverer: the Dispatcher retries with back-off what fails.
type Webhook struct {
	cfg WebhookConfig
}

// NewWebhook checks the URL and fills the defaults.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("webhook: url %q is not an absolute http or https URL", cfg.URL)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{
			Timeout: cfg.Timeout,
			// A redirect of a POST is a configuration mistake; following it
			// could send subscriber texts somewhere unexpected.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Webhook{cfg: cfg}, nil
}

// Deliver posts one item. A 2xx response delivers it. 408, 425, 429, 5xx
// and network errors are retried later. Any other response is permanent.
func (w *Webhook) Deliver(ctx context.Context, item Item) error {
	ev := WebhookEvent{Type: item.Kind.String(), Account: item.Queue, MO: item.MO, Receipt: item.Receipt,
		PossibleResend: item.PossibleResend}
	if ev.MO == nil && ev.Receipt == nil {
		return Permanent(fmt.Errorf("webhook: item %d of %s has no MO or receipt", item.Seq, item.Queue))
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return Permanent(fmt.Errorf("webhook: encode item %d: %w", item.Seq, err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderDelivery, item.Queue+":"+strconv.FormatUint(item.Seq, 10))
	if w.cfg.Secret != "" {
		ts := strconv.FormatInt(w.cfg.Now().Unix(), 10)
		req.Header.Set(HeaderTimestamp, ts)
		req.Header.Set(HeaderSignature, "v1="+SignWebhook(w.cfg.Secret, ts, body))
	}

	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post item %d: %w", item.Seq, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly ||
		code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook: post item %d: %s", item.Seq, resp.Status)
	default:
		return Permanent(fmt.Errorf("webhook: post item %d: %s", item.Seq, resp.Status))
	}
}

// SignWebhook returns the hex HMAC-SHA256 of timestamp "." body keyed with
// secret, the value after "v1=" in HeaderSignature.
func SignWebhook(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// VerifyWebhook checks a signature header value against the body in
// constant time, for receivers written in Go.
func VerifyWebhook(secret, timestamp, signature string, body []byte) error {
	want := "v1=" + SignWebhook(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errors.New("webhook: signature mismatch")
	}
	return nil
}
