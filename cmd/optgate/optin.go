package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

func init() {
	register("optin", "send an opt-in request through the HTTP API", runOptIn)
}

const optInUsage = `Usage: optgate optin -to NUMBER [-from NUMBER] [flags]

Sends the account's opt-in request to a number through optgate's HTTP API
and prints the text sent. An account may send at most two requests to a
number, and none to a number that opted out or is already opted in; a
refused request prints the code and reason and exits 1.

Flags:
`

// optInResponse is the response body of POST /v1/optin-requests.
type optInResponse struct {
	MessageID string `json:"message_id"`
	Segments  int    `json:"segments"`
	Request   int    `json:"request"`
	Text      string `json:"text"`
	From      string `json:"from"`
	To        string `json:"to"`
}

func runOptIn(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate optin", optInUsage, stderr)
	api := addAPIFlags(fs)
	to := fs.String("to", "", "`number` to ask for consent, e.g. +12015550101")
	from := fs.String("from", "", "toll-free `number` to send from (default: the account's first ready one)")
	source := fs.String("source", "", "`channel` that led to the request: http (default), sip, smpp or api")
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
		fmt.Fprintf(stderr, "optgate optin: %v\n", err)
		return exitUsage
	}

	req := map[string]string{"to": *to}
	if *from != "" {
		req["from"] = *from
	}
	if *source != "" {
		req["source"] = *source
	}
	var res optInResponse
	raw, err := client.callJSON(ctx, http.MethodPost, "/v1/optin-requests", nil, req, &res)
	if err != nil {
		return reportFailure("optin", err, api, stdout, stderr)
	}
	if api.rawJSON {
		writeRawJSON(stdout, raw)
		return exitOK
	}
	if res.Request == 0 {
		// optgate sent the request but could not read its text back.
		fmt.Fprintf(stdout, "sent opt-in request as message %s in %s\n", res.MessageID, plural(res.Segments, "segment"))
		return exitOK
	}
	fmt.Fprintf(stdout, "sent opt-in request %d of 2 to %s from %s as message %s in %s:\n  %s\n",
		res.Request, res.To, res.From, res.MessageID, plural(res.Segments, "segment"), res.Text)
	return exitOK
}
