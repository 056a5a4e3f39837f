package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// defaultAPI is the HTTP API address of a daemon with the default
// configuration.
const defaultAPI = "http://127.0.0.1:8080"

// apiFlags are the flags every HTTP API command takes.
type apiFlags struct {
	api     string
	token   string
	rawJSON bool
}

// addAPIFlags registers -api, -token and -json on fs. The defaults come
// from OPTGATE_API and OPTGATE_TOKEN, so the token need not appear in the
// process list.
func addAPIFlags(fs *flag.FlagSet) *apiFlags {
	f := &apiFlags{}
	api := os.Getenv("OPTGATE_API")
	if api == "" {
		api = defaultAPI
	}
	fs.StringVar(&f.api, "api", api, "base `URL` of optgate's HTTP API (env OPTGATE_API)")
	fs.StringVar(&f.token, "token", "", "API bearer `token` (default env OPTGATE_TOKEN)")
	fs.BoolVar(&f.rawJSON, "json", false, "print the API's JSON response instead of text")
	return f
}

// client checks the flags and returns the API client.
func (f *apiFlags) client() (*apiClient, error) {
	base, err := url.Parse(strings.TrimRight(f.api, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("-api %q is not an http or https URL such as %s", f.api, defaultAPI)
	}
	token := f.token
	if token == "" {
		token = os.Getenv("OPTGATE_TOKEN")
	}
	if token == "" {
		return nil, errors.New("no API token: pass -token or set OPTGATE_TOKEN")
	}
	return &apiClient{base: base, token: token, http: &http.Client{}}, nil
}

// Timeouts of one API call. Each exceeds the server's own write timeout
// (2 minutes, 10 for imports and exports), so the server's response arrives
// first.
const (
	apiTimeout      = 150 * time.Second
	transferTimeout = 11 * time.Minute
)

// apiClient calls optgate's HTTP API.
type apiClient struct {
	base  *url.URL
	token string
	http  *http.Client
}

// apiError is an error response of the API.
type apiError struct {
	// Status is the HTTP status.
	Status int
	// Body is the raw response, printed for -json.
	Body []byte

	Code             string `json:"code"`
	Message          string `json:"message"`
	Field            string `json:"field"`
	Detail           string `json:"detail"`
	RetryAfter       int    `json:"retry_after"`
	MessageID        string `json:"message_id"`
	AcceptedSegments int    `json:"accepted_segments"`
	Segments         int    `json:"segments"`
	CarrierStatus    string `json:"carrier_status"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d): %s", e.Code, e.Status, e.Message)
	if e.Field != "" {
		fmt.Fprintf(&b, " [field %s]", e.Field)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, " (%s)", e.Detail)
	}
	if e.CarrierStatus != "" {
		fmt.Fprintf(&b, "; carrier status %s", e.CarrierStatus)
	}
	if e.MessageID != "" {
		fmt.Fprintf(&b, "; message %s, %d of %d segments accepted", e.MessageID, e.AcceptedSegments, e.Segments)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, "; retry after %ds", e.RetryAfter)
	}
	return b.String()
}

// send sends one request and returns a 2xx response, whose body the
// caller closes. Other responses become an *apiError. timeout
// bounds the whole exchange, body included.
func (c *apiClient) send(ctx context.Context, timeout time.Duration, method, path string, query url.Values,
	body io.Reader, contentType string) (*http.Response, context.CancelFunc, error) {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("%s %s: %w", method, u.Redacted(), err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, cancel, nil
	}
	defer cancel()
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read %s response: %w", method, u.Redacted(), resp.Status, err)
	}
	apiErr := &apiError{Status: resp.StatusCode, Body: raw}
	envelope := struct {
		Error *apiError `json:"error"`
	}{apiErr}
	if err := json.Unmarshal(raw, &envelope); err != nil || apiErr.Code == "" {
		apiErr.Code = "http_error"
		apiErr.Message = fmt.Sprintf("%s %s returned %s without an optgate error body", method, u.Redacted(),
			resp.Status)
	}
	return nil, nil, apiErr
}

// maxErrorBody bounds the error body read, which includes the partial
// result of a failed import.
const maxErrorBody = 4 << 20

// do sends one request and returns the body of a 2xx response.
func (c *apiClient) do(ctx context.Context, timeout time.Duration, method, path string, query url.Values,
	body io.Reader, contentType string) ([]byte, error) {
	resp, cancel, err := c.send(ctx, timeout, method, path, query, body, contentType)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read response: %w", method, path, err)
	}
	return raw, nil
}

// callJSON sends in (when not nil) as a JSON body and decodes the response
// into out. It returns the raw response for -json.
func (c *apiClient) callJSON(ctx context.Context, method, path string, query url.Values, in, out any) (
	[]byte, error) {
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	raw, err := c.do(ctx, apiTimeout, method, path, query, body, contentType)
	if err != nil {
		return nil, err
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, fmt.Errorf("decode %s %s response: %w", method, path, err)
		}
	}
	return raw, nil
}

// reportFailure prints err for the command and returns exitFailure. An
// API error prints its code and message; with -json its body goes to
// stdout too.
func reportFailure(name string, err error, flags *apiFlags, stdout, stderr io.Writer) int {
	var apiErr *apiError
	if errors.As(err, &apiErr) && flags != nil && flags.rawJSON && len(apiErr.Body) > 0 {
		writeRawJSON(stdout, apiErr.Body)
	}
	fmt.Fprintf(stderr, "optgate %s: %v\n", name, err)
	return exitFailure
}

// writeRawJSON prints an API response indented, or as it came when it is
// not JSON.
func writeRawJSON(w io.Writer, raw []byte) {
	var out bytes.Buffer
	if err := json.Indent(&out, bytes.TrimSpace(raw), "", "  "); err != nil {
		w.Write(raw)
		return
	}
	out.WriteByte('\n')
	w.Write(out.Bytes())
}

// parseInterspersed parses flags that may come before, between or after
// the positional arguments, as in "consent import FILE -kind reassigned",
// and returns the positional arguments. The code is as for parseFlags: -1
// to go on, otherwise the exit code.
func parseInterspersed(fs *flag.FlagSet, args []string, stdout io.Writer) ([]string, int) {
	var positional []string
	for {
		if code := parseFlags(fs, args, stdout); code >= 0 {
			return nil, code
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, -1
		}
		// The flag package drops a "--" terminator; everything after it
		// is positional.
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), -1
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// usageError prints a usage problem and the command's usage to stderr,
// and returns exitUsage.
func usageError(fs *flag.FlagSet, stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.SetOutput(stderr)
	fs.Usage()
	return exitUsage
}
