package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

func init() {
	register("send", "send a text through the HTTP API", runSend)
}

const sendUsage = `Usage: optgate send -from NUMBER -to NUMBER -text TEXT [flags]

Sends a text from one of the account's toll-free numbers through optgate's
HTTP API. It prints optgate's message id once the carrier accepted every
segment. A text the consent rules block prints the block code and reason
and exits 1.

Flags:
`

// sendResponse is the response body of POST /v1/messages.
type sendResponse struct {
	MessageID    string `json:"message_id"`
	Segments     int    `json:"segments"`
	ShadowReason string `json:"shadow_reason"`
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate send", sendUsage, stderr)
	api := addAPIFlags(fs)
	from := fs.String("from", "", "toll-free `number` to send from, one of the account's")
	to := fs.String("to", "", "recipient `number`, e.g. +12015550101")
	text := fs.String("text", "", "the `text` to send")
	clientRef := fs.String("client-ref", "", "your own `reference` for the text, returned with its receipts")
	receipt := fs.Bool("receipt", false, "request a delivery receipt (registered_delivery 1)")
	positional, code := parseInterspersed(fs, args, stdout)
	if code >= 0 {
		return code
	}
	switch {
	case len(positional) > 0:
		return usageError(fs, stderr, "unexpected argument %q", positional[0])
	case *from == "" || *to == "" || *text == "":
		return usageError(fs, stderr, "-from, -to and -text are required")
	}
	client, err := api.client()
	if err != nil {
		fmt.Fprintf(stderr, "optgate send: %v\n", err)
		return exitUsage
	}

	req := map[string]any{"from": *from, "to": *to, "text": *text}
	if *clientRef != "" {
		req["client_ref"] = *clientRef
	}
	if *receipt {
		req["registered_delivery"] = 1
	}
	var res sendResponse
	raw, err := client.callJSON(ctx, http.MethodPost, "/v1/messages", nil, req, &res)
	if err != nil {
		return reportFailure("send", err, api, stdout, stderr)
	}
	if api.rawJSON {
		writeRawJSON(stdout, raw)
		return exitOK
	}
	fmt.Fprintf(stdout, "sent message %s in %s\n", res.MessageID, plural(res.Segments, "segment"))
	if res.ShadowReason != "" {
		fmt.Fprintf(stdout, "shadow mode: the consent rules would have blocked it (%s)\n", res.ShadowReason)
	}
	return exitOK
}

// plural returns "1 segment" or "2 segments".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
