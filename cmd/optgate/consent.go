package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optgate/optgate/consent"
)

func init() {
	register("consent", "read, import and export consent records through the HTTP API", runConsent)
}

const consentUsage = `Usage:
  optgate consent get NUMBER          print the number's consent state
  optgate consent evidence NUMBER     print the number's full consent history
  optgate consent import FILE         import a CSV file of consent states
                                      (operator token) or, with
                                      -kind reassigned, of reassigned numbers
  optgate consent export              write the account's records as CSV

Every subcommand takes -api, -token (or OPTGATE_TOKEN) and -json, and
-account ID when it runs with the operator token. Run
'optgate consent SUBCOMMAND -h' for its flags.
`

// runConsent dispatches the consent subcommands.
func runConsent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		io.WriteString(stderr, consentUsage)
		return exitUsage
	}
	switch args[0] {
	case "get":
		return runConsentGet(ctx, args[1:], stdout, stderr)
	case "evidence":
		return runConsentEvidence(ctx, args[1:], stdout, stderr)
	case "import":
		return runConsentImport(ctx, args[1:], stdout, stderr)
	case "export":
		return runConsentExport(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		io.WriteString(stdout, consentUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "optgate consent: unknown subcommand %q\n%s", args[0], consentUsage)
	return exitUsage
}

// consentCommand is the setup the consent subcommands share.
type consentCommand struct {
	fs      *flag.FlagSet
	api     *apiFlags
	account *string
}

func newConsentCommand(name, usage string, stderr io.Writer) *consentCommand {
	fs := newFlagSet("optgate consent "+name, usage, stderr)
	return &consentCommand{
		fs:      fs,
		api:     addAPIFlags(fs),
		account: fs.String("account", "", "account `id`, required with the operator token"),
	}
}

// parse parses args, checks that exactly want positional arguments (at
// most one, named argName) were given, and returns them with the client.
// A code of -1 means go on.
func (c *consentCommand) parse(args []string, want int, argName string, stdout, stderr io.Writer) (
	[]string, *apiClient, int) {
	positional, code := parseInterspersed(c.fs, args, stdout)
	if code >= 0 {
		return nil, nil, code
	}
	if len(positional) != want {
		if want == 0 {
			return nil, nil, usageError(c.fs, stderr, "unexpected argument %q", positional[0])
		}
		return nil, nil, usageError(c.fs, stderr, "want exactly one %s, got %d arguments", argName, len(positional))
	}
	client, err := c.api.client()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", c.fs.Name(), err)
		return nil, nil, exitUsage
	}
	return positional, client, -1
}

// query returns the account parameter when -account was given.
func (c *consentCommand) query() url.Values {
	q := url.Values{}
	if *c.account != "" {
		q.Set("account", *c.account)
	}
	return q
}

const consentGetUsage = `Usage: optgate consent get NUMBER [flags]

Prints the consent state of NUMBER with the account: none, requested,
opted_in, opted_out or voided, and the opt-in requests sent.

Flags:
`

// consentRecord is the response body of GET /v1/consent/{number}.
type consentRecord struct {
	Account    string        `json:"account"`
	Number     string        `json:"number"`
	State      consent.State `json:"state"`
	PriorState consent.State `json:"prior_state"`
	Requests   int           `json:"requests"`
	Updated    time.Time     `json:"updated"`
}

func runConsentGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newConsentCommand("get", consentGetUsage, stderr)
	positional, client, code := cmd.parse(args, 1, "NUMBER", stdout, stderr)
	if code >= 0 {
		return code
	}
	var rec consentRecord
	raw, err := client.callJSON(ctx, http.MethodGet, "/v1/consent/"+url.PathEscape(positional[0]), cmd.query(),
		nil, &rec)
	if err != nil {
		return reportFailure("consent get", err, cmd.api, stdout, stderr)
	}
	if cmd.api.rawJSON {
		writeRawJSON(stdout, raw)
		return exitOK
	}
	fmt.Fprintf(stdout, "%s with %s: %s\n", rec.Number, rec.Account, rec.State)
	if rec.State == consent.StateOptedOut {
		fmt.Fprintf(stdout, "  UNSTOP or START restores: %s\n", rec.PriorState)
	}
	fmt.Fprintf(stdout, "  %s of %d sent\n", plural(rec.Requests, "opt-in request"), consent.MaxRequests)
	if !rec.Updated.IsZero() {
		fmt.Fprintf(stdout, "  updated %s\n", rec.Updated.UTC().Format(time.RFC3339))
	}
	return exitOK
}

const consentEvidenceUsage = `Usage: optgate consent evidence NUMBER [flags]

Prints every recorded consent event of NUMBER with the account, oldest
first, with the verbatim texts. Use -json for the complete record to keep
for a dispute or an audit.

Flags:
`

func runConsentEvidence(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newConsentCommand("evidence", consentEvidenceUsage, stderr)
	positional, client, code := cmd.parse(args, 1, "NUMBER", stdout, stderr)
	if code >= 0 {
		return code
	}
	var ev consent.Evidence
	path := "/v1/consent/" + url.PathEscape(positional[0]) + "/evidence"
	raw, err := client.callJSON(ctx, http.MethodGet, path, cmd.query(), nil, &ev)
	if err != nil {
		return reportFailure("consent evidence", err, cmd.api, stdout, stderr)
	}
	if cmd.api.rawJSON {
		writeRawJSON(stdout, raw)
		return exitOK
	}
	io.WriteString(stdout, formatEvidence(ev))
	return exitOK
}

// formatEvidence writes a summary line and one block per audit entry.
func formatEvidence(ev consent.Evidence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s with %s: %s, %s", ev.Number, ev.Account, ev.State, plural(ev.Requests, "opt-in request"))
	if !ev.Updated.IsZero() {
		fmt.Fprintf(&b, ", updated %s", ev.Updated.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "\n%s\n", plural(len(ev.Entries), "event"))
	for _, e := range ev.Entries {
		fmt.Fprintf(&b, "#%d %s %s via %s: %s -> %s", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Event, e.Source,
			e.Before, e.After)
		if e.Skip != consent.SkipNone {
			fmt.Fprintf(&b, " (changed nothing: %s)", e.Skip)
		}
		b.WriteString("\n")
		if e.TollFree != "" {
			fmt.Fprintf(&b, "    toll-free number: %s\n", e.TollFree)
		}
		if len(e.MessageIDs) > 0 {
			fmt.Fprintf(&b, "    message ids: %s\n", strings.Join(e.MessageIDs, ", "))
		}
		for _, text := range []struct{ label, value string }{
			{"text", e.Text}, {"answers request", e.RequestText}, {"reply", e.ReplyText},
		} {
			if text.value != "" {
				fmt.Fprintf(&b, "    %s: %q\n", text.label, text.value)
			}
		}
	}
	return b.String()
}

const consentImportUsage = `Usage: optgate consent import FILE [-kind consent|reassigned] [flags]

Imports a CSV file. With -kind consent (the default) each row is
number,state[,time[,source]] with state opted_in, opted_out or voided; this
needs the operator token and -account. With -kind reassigned each row is
number[,time[,reason]] and voids the consent of reassigned or disconnected
numbers: for the token's account, or with the operator token for -account
or, without it, for every account. Lines with errors are listed and the
rest is applied; the command then exits 1.

Flags:
`

// importResult is the response body of POST /v1/consent/import.
type importResult struct {
	Kind         string `json:"kind"`
	Account      string `json:"account"`
	Rows         int    `json:"rows"`
	Applied      int    `json:"applied"`
	Skipped      int    `json:"skipped"`
	Invalid      int    `json:"invalid"`
	NotApplied   int    `json:"not_applied"`
	SkippedLines []struct {
		Line   int    `json:"line"`
		Number string `json:"number"`
		Reason string `json:"reason"`
	} `json:"skipped_lines"`
	Errors []struct {
		Line    int    `json:"line"`
		Message string `json:"message"`
	} `json:"errors"`
}

func runConsentImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newConsentCommand("import", consentImportUsage, stderr)
	kind := cmd.fs.String("kind", "consent", "`kind` of file: consent (consent states) or reassigned (reassigned or disconnected numbers)")
	positional, client, code := cmd.parse(args, 1, "FILE", stdout, stderr)
	if code >= 0 {
		return code
	}
	if *kind != "consent" && *kind != "reassigned" {
		return usageError(cmd.fs, stderr, "-kind %q is not consent or reassigned", *kind)
	}
	file, err := os.Open(positional[0])
	if err != nil {
		fmt.Fprintf(stderr, "optgate consent import: %v\n", err)
		return exitUsage
	}
	defer file.Close()

	query := cmd.query()
	query.Set("kind", *kind)
	raw, err := client.do(ctx, transferTimeout, http.MethodPost, "/v1/consent/import", query, file, "text/csv")
	var apiErr *apiError
	if errors.As(err, &apiErr) && !cmd.api.rawJSON {
		// An import that stopped part way carries the rows applied so far.
		var partial struct {
			Result *importResult `json:"result"`
		}
		if json.Unmarshal(apiErr.Body, &partial) == nil && partial.Result != nil {
			io.WriteString(stdout, formatImport(*partial.Result))
		}
	}
	if err != nil {
		return reportFailure("consent import", err, cmd.api, stdout, stderr)
	}
	var res importResult
	if err := json.Unmarshal(raw, &res); err != nil {
		fmt.Fprintf(stderr, "optgate consent import: decode response: %v\n", err)
		return exitFailure
	}
	if cmd.api.rawJSON {
		writeRawJSON(stdout, raw)
	} else {
		io.WriteString(stdout, formatImport(res))
	}
	if res.Invalid > 0 {
		return exitFailure
	}
	return exitOK
}

// formatImport writes the counts, then every skipped and invalid line.
func formatImport(res importResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "read %s: %d applied, %d skipped, %d invalid", plural(res.Rows, "row"), res.Applied,
		res.Skipped, res.Invalid)
	if res.NotApplied > 0 {
		fmt.Fprintf(&b, ", %d not applied because the import stopped", res.NotApplied)
	}
	b.WriteString("\n")
	for _, s := range res.SkippedLines {
		fmt.Fprintf(&b, "line %d: skipped %s: %s\n", s.Line, s.Number, s.Reason)
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&b, "line %d: %s\n", e.Line, e.Message)
	}
	if listed := len(res.Errors); listed < res.Invalid {
		fmt.Fprintf(&b, "%d more invalid lines are not listed\n", res.Invalid-listed)
	}
	return b.String()
}

const consentExportUsage = `Usage: optgate consent export [-o FILE] [flags]

Writes every consent record of the account as CSV rows
number,state,time,source,requests,request_from after a header row, where
request_from lists the toll-free numbers the requests came from,
separated by spaces. 'optgate consent import' takes the file again: rows
in state none hold nothing to import and are skipped.

Flags:
`

func runConsentExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cmd := newConsentCommand("export", consentExportUsage, stderr)
	output := cmd.fs.String("o", "", "write to `FILE` instead of stdout; it appears only when the export is complete")
	_, client, code := cmd.parse(args, 0, "", stdout, stderr)
	if code >= 0 {
		return code
	}
	resp, cancel, err := client.send(ctx, transferTimeout, http.MethodGet, "/v1/consent/export", cmd.query(), nil, "")
	if err != nil {
		return reportFailure("consent export", err, cmd.api, stdout, stderr)
	}
	defer cancel()
	defer resp.Body.Close()
	if *output == "" {
		if _, err := io.Copy(stdout, resp.Body); err != nil {
			fmt.Fprintf(stderr, "optgate consent export: the export broke off, so the output is incomplete: %v\n", err)
			return exitFailure
		}
		return exitOK
	}
	if err := writeFileAtomic(*output, resp.Body); err != nil {
		fmt.Fprintf(stderr, "optgate consent export: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// writeFileAtomic copies r to a temporary file next to path and renames it
// to path once r ends without error, so a broken transfer leaves no file
// that looks complete.
func writeFileAtomic(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return fmt.Errorf("the export broke off, so %s was not written: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
