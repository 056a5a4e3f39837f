package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/optgate/optgate/gateway"
)

func init() {
	register("status", "show a sent message's state and delivery receipt", runStatus)
}

const statusUsage = `Usage: optgate status MESSAGE_ID [flags]

Prints the state of a message the account sent, through optgate's HTTP
API: submitted once the carrier accepted it, then the state of its
delivery receipt, such as delivered or undeliverable, with the receipt's
error code. A long message lists each segment too. Receipts arrive only
for messages sent with a receipt requested (optgate send -receipt).
optgate keeps a message's state for receipts.keep_after_final (default 1h)
after it became final, and at most receipts.id_map_ttl (default 72h). An
unknown id prints the error
and exits 1.

Flags:
`

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("optgate status", statusUsage, stderr)
	api := addAPIFlags(fs)
	account := fs.String("account", "", "account `id`, required with the operator token")
	positional, code := parseInterspersed(fs, args, stdout)
	if code >= 0 {
		return code
	}
	switch {
	case len(positional) == 0:
		return usageError(fs, stderr, "the message id is required")
	case len(positional) > 1:
		return usageError(fs, stderr, "unexpected argument %q", positional[1])
	}
	client, err := api.client()
	if err != nil {
		fmt.Fprintf(stderr, "optgate status: %v\n", err)
		return exitUsage
	}

	query := url.Values{}
	if *account != "" {
		query.Set("account", *account)
	}
	var st gateway.MessageStatus
	path := "/v1/messages/" + url.PathEscape(positional[0])
	raw, err := client.callJSON(ctx, http.MethodGet, path, query, nil, &st)
	if err != nil {
		return reportFailure("status", err, api, stdout, stderr)
	}
	if api.rawJSON {
		writeRawJSON(stdout, raw)
		return exitOK
	}
	io.WriteString(stdout, formatStatus(st))
	return exitOK
}

// formatStatus returns the human summary of a message status: its overall
// state, then where it went, then one line per segment of a long message.
func formatStatus(st gateway.MessageStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "message %s: ", st.MessageID)
	switch {
	case st.Blocked != "":
		fmt.Fprintf(&b, "%s, blocked by the consent rules (%s); nothing was sent\n",
			receiptSummary(st.State, st.Stat, st.Err, nil), st.Blocked)
	case st.State == gateway.StatePartialSubmit:
		fmt.Fprintf(&b, "partial_submit, the carrier accepted only %d of %d segments\n",
			st.AcceptedSegments, st.Segments)
	case st.State == gateway.StateSubmitted:
		b.WriteString("submitted, no receipt yet\n")
	default:
		b.WriteString(receiptSummary(st.State, st.Stat, st.Err, st.NetworkError))
		if !st.DoneDate.IsZero() {
			fmt.Fprintf(&b, ", done %s", formatTime(st.DoneDate))
		}
		b.WriteString("\n")
	}

	fmt.Fprintf(&b, "  from %s to %s", st.From, st.To)
	if st.Carrier != "" {
		fmt.Fprintf(&b, " via carrier %s, %s", st.Carrier, plural(st.Segments, "segment"))
	}
	if st.Segments > 1 {
		fmt.Fprintf(&b, ", receipt policy %s", st.ReceiptPolicy)
	}
	fmt.Fprintf(&b, ", submitted %s\n", formatTime(st.Submitted))
	if st.ClientRef != "" {
		fmt.Fprintf(&b, "  client reference %s\n", st.ClientRef)
	}
	if st.Blocked == "" && st.RegisteredDelivery&0x03 == 0 {
		b.WriteString("  no receipt was requested (registered_delivery 0), so the state stays submitted\n")
	}

	if st.Segments > 1 || len(st.Parts) > 1 {
		for _, p := range st.Parts {
			fmt.Fprintf(&b, "  segment %d, carrier id %s: %s\n", p.Segment, p.CarrierID,
				receiptSummary(p.State, p.Stat, p.Err, p.NetworkError))
		}
	}
	return b.String()
}

// receiptSummary returns a state with its receipt fields, such as
// "undeliverable (UNDELIV, err 011, network error 3/2050)".
func receiptSummary(state, stat, errCode string, nec *gateway.NetworkError) string {
	var details []string
	if stat != "" {
		details = append(details, stat)
	}
	if errCode != "" {
		details = append(details, "err "+errCode)
	}
	if nec != nil {
		details = append(details, fmt.Sprintf("network error %d/%d", nec.Type, nec.Code))
	}
	if len(details) == 0 {
		return state
	}
	return state + " (" + strings.Join(details, ", ") + ")"
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }
