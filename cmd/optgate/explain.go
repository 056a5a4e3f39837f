package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func init() {
	register("explain", "show why a text would be allowed or blocked, without sending it", runExplain)
}

const explainUsage = `Usage: optgate explain -to NUMBER [-from NUMBER] [flags]

Asks optgate's HTTP API whether a text from the account to a number would
be allowed now, and why, without sending anything. It exits 0 when the
text would be sent and 1 when it would be blocked or the call failed.

Flags:
`

// explainResponse is the response body of GET /v1/explain.
type explainResponse struct {
	Account    string    `json:"account"`
	From       string    `json:"from"`
	To         string    `json:"to"`
	Allowed    bool      `json:"allowed"`
	Code       string    `json:"code"`
	Message    string    `json:"message"`
	Shadow     bool      `json:"shadow"`
	Temporary  bool      `json:"temporary"`
	HTTPStatus int       `json:"http_status"`
	SMPPStatus string    `json:"smpp_status"`
	SIPStatus  int       `json:"sip_status"`
	State      string    `json:"state"`
	Requests   int       `json:"requests"`
	Updated    time.Time `json:"updated"`
	Carrier    string    `json:"carrier"`
}

func runExplain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate explain", explainUsage, stderr)
	api := addAPIFlags(fs)
	to := fs.String("to", "", "recipient `number`, e.g. +12015550101")
	from := fs.String("from", "", "toll-free `number` to send from (default: the account's first ready one)")
	account := fs.String("account", "", "account `id`, required with the operator token")
	positional, code := parseInterspersed(fs, args, stdout)
	if code >= 0 {
		return code
	}
	switch {
	case len(positional) > 0:
		return usageError(fs, stderr, "unexpected argument %q", positional[0])
	case *to == "":
		return usageError(fs, stderr, "-to is required")
	}
	client, err := api.client()
	if err != nil {
		fmt.Fprintf(stderr, "optgate explain: %v\n", err)
		return exitUsage
	}

	query := url.Values{"to": {*to}}
	if *from != "" {
		query.Set("from", *from)
	}
	if *account != "" {
		query.Set("account", *account)
	}
	var res explainResponse
	raw, err := client.callJSON(ctx, http.MethodGet, "/v1/explain", query, nil, &res)
	if err != nil {
		return reportFailure("explain", err, api, stdout, stderr)
	}
	if api.rawJSON {
		writeRawJSON(stdout, raw)
	} else {
		io.WriteString(stdout, formatExplain(res))
	}
	if !res.Allowed {
		return exitFailure
	}
	return exitOK
}

// formatExplain writes the decision, the numbers, the consent record and
// how a send would fail.
func formatExplain(x explainResponse) string {
	var b strings.Builder
	switch {
	case !x.Allowed:
		fmt.Fprintf(&b, "blocked: %s: %s\n", x.Code, x.Message)
	case x.Shadow && x.Code != "":
		fmt.Fprintf(&b, "allowed in shadow mode: %s (%s)\n", x.Message, x.Code)
	default:
		fmt.Fprintf(&b, "allowed: %s\n", x.Message)
	}
	fmt.Fprintf(&b, "  account %s, from %s to %s\n", x.Account, x.From, x.To)
	if x.State != "" {
		fmt.Fprintf(&b, "  consent: %s, %s", x.State, plural(x.Requests, "opt-in request"))
		if !x.Updated.IsZero() {
			fmt.Fprintf(&b, ", updated %s", x.Updated.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
	}
	if x.Carrier != "" {
		fmt.Fprintf(&b, "  carrier: %s\n", x.Carrier)
	}
	if !x.Allowed {
		fmt.Fprintf(&b, "  a send fails with HTTP %d, SMPP command_status %s, SIP %d", x.HTTPStatus, x.SMPPStatus,
			x.SIPStatus)
		if x.Temporary {
			b.WriteString("; the block is temporary, so a later retry may succeed")
		}
		b.WriteString("\n")
	}
	return b.String()
}
