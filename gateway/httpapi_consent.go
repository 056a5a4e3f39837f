package gateway

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/optgate/optgate/consent"
)

// consentResponse is the body of GET /v1/consent/{number}.
type consentResponse struct {
	Account string        `json:"account"`
	Number  string        `json:"number"`
	State   consent.State `json:"state"`
	// PriorState is the state UNSTOP would restore, set only while the
	// number is opted out.
	PriorState consent.State `json:"prior_state,omitzero"`
	Requests   int           `json:"requests"`
	Updated    time.Time     `json:"updated,omitzero"`
}

// getConsent returns the consent state of one number with the caller's
// account. A number the account never contacted has the state none.
func (a *HTTPAPI) getConsent(w http.ResponseWriter, r *http.Request, c caller) {
	// TODO: the engine has no single-record read, so this reads the whole
	// audit trail of the pair through Evidence.
	ev, err := a.services.Load().Engine.Evidence(r.Context(), c.account, r.PathValue("number"))
	if err != nil {
		a.writeError(w, r, numberError(err))
		return
	}
	a.writeJSON(w, r, http.StatusOK, consentResponse{
		Account: ev.Account, Number: ev.Number, State: ev.State, PriorState: ev.PriorState,
		Requests: ev.Requests, Updated: ev.Updated,
	})
}

// getEvidence returns the full consent history of one number with the
// caller's account, as consent.Evidence marshals it.
func (a *HTTPAPI) getEvidence(w http.ResponseWriter, r *http.Request, c caller) {
	ev, err := a.services.Load().Engine.Evidence(r.Context(), c.account, r.PathValue("number"))
	if err != nil {
		a.writeError(w, r, numberError(err))
		return
	}
	a.writeJSON(w, r, http.StatusOK, ev)
}

// numberError returns the response for an engine error about the number
// in the path.
func numberError(err error) *apiError {
	e := apiErrorFromGateway(err)
	if e.Code == CodeInvalidNumber {
		e.Field, e.Detail = "number", numberDetail(err)
	}
	return e
}

// numberDetail returns, once, the reason the number in the path is
// invalid. The engine's error names every layer it passed through, and the
// SMPP addr_ton and addr_npi it quotes mean nothing to an HTTP caller.
func numberDetail(err error) string {
	var ne *consent.NumberError
	if errors.As(err, &ne) {
		return fmt.Sprintf("%q is not a valid phone number: %s", ne.Raw, ne.Reason)
	}
	return err.Error()
}

// Import kinds, the values of the kind query parameter.
const (
	importConsent    = "consent"
	importReassigned = "reassigned"
)

// maxReportedSkips bounds the skipped lines listed in an import response,
// as the consent engine bounds the line errors.
const maxReportedSkips = 1000

// importResponse is the body of POST /v1/consent/import.
type importResponse struct {
	Kind string `json:"kind"`
	// Account is the account imported into; empty when a list of
	// reassigned numbers was applied to every account.
	Account string `json:"account,omitempty"`
	// Rows counts the data rows read, the header excluded. Every row was
	// applied, skipped, invalid or, in an import that stopped, not
	// applied.
	Rows    int `json:"rows"`
	Applied int `json:"applied"`
	Skipped int `json:"skipped"`
	Invalid int `json:"invalid"`
	// NotApplied counts the valid rows of an import that stopped, which
	// were read but not applied.
	NotApplied int `json:"not_applied,omitempty"`
	// SkippedLines and Errors list at most 1000 lines each.
	SkippedLines []importSkip      `json:"skipped_lines"`
	Errors       []importLineError `json:"errors"`
}

type importSkip struct {
	Line   int          `json:"line"`
	Number string       `json:"number"`
	Reason consent.Skip `json:"reason"`
}

type importLineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// postImport applies a CSV file. kind=consent (the default) imports
// consent states into one account and needs the operator token, because
// an account must not grant itself consent. kind=reassigned voids the
// consent of reassigned or disconnected numbers: an account token voids
// them for its own account, the operator token for the account named by
// ?account= or, without it, for every account.
func (a *HTTPAPI) postImport(w http.ResponseWriter, r *http.Request, c caller) {
	services := a.services.Load()
	kind := r.URL.Query().Get("kind")
	if kind == "" {
		kind = importConsent
	}
	switch {
	case kind != importConsent && kind != importReassigned:
		a.writeError(w, r, fieldError("kind", fmt.Sprintf("unknown import kind %q (want consent or reassigned)", kind)))
		return
	case kind == importConsent && !c.operator:
		a.writeError(w, r, apiErrorFor(codeForbidden,
			"importing consent states needs the operator token; an account token may import kind=reassigned"))
		return
	case kind == importConsent && c.account == "":
		a.writeError(w, r, fieldError("account", "importing consent states needs the account query parameter"))
		return
	}
	if e := checkContentType(r, "text/csv", "text/plain"); e != nil {
		a.writeError(w, r, e)
		return
	}
	if r.ContentLength > a.cfg.MaxImportBytes {
		a.writeError(w, r, bodyTooLarge(a.cfg.MaxImportBytes))
		return
	}

	extendDeadlines(w)
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxImportBytes)
	var (
		res consent.ImportResult
		err error
	)
	if kind == importConsent {
		res, err = services.Engine.ImportCSV(r.Context(), c.account, body)
	} else {
		accounts := []string{c.account}
		if c.account == "" {
			accounts = services.Registry.IDs()
		} else if _, ok := services.Registry.Settings(c.account); !ok {
			a.writeError(w, r, apiErrorFromStatus(StatusFor(CodeUnknownAccount), nil))
			return
		}
		res, err = services.Engine.ImportVoided(r.Context(), body, accounts)
	}

	out := newImportResponse(kind, c.account, res, err != nil)
	if err != nil {
		a.writeImportError(w, r, err, out)
		return
	}
	a.log.Info("consent import applied",
		zap.String("kind", kind),
		zap.String("account", c.account),
		zap.Bool("operator", c.operator),
		zap.Int("rows", out.Rows),
		zap.Int("applied", out.Applied),
		zap.Int("invalid", out.Invalid))
	a.writeJSON(w, r, http.StatusOK, out)
}

// newImportResponse counts the rows of res. In an import that completed,
// every row that was neither applied nor skipped was invalid. In one that
// stopped, the rows of the failed chunk are valid but not applied.
//
// NOTE: ImportResult lists at most 1000 line errors, so when an import
// with more invalid rows stops, some of them count as not applied.
func newImportResponse(kind, account string, res consent.ImportResult, stopped bool) importResponse {
	out := importResponse{
		Kind: kind, Account: account, Rows: res.Rows, Applied: res.Applied, Skipped: len(res.Skipped),
		Invalid:      res.Rows - res.Applied - len(res.Skipped),
		SkippedLines: []importSkip{}, Errors: []importLineError{},
	}
	if stopped {
		out.Invalid = len(res.Errors)
		out.NotApplied = res.Rows - res.Applied - len(res.Skipped) - len(res.Errors)
	}
	for _, s := range res.Skipped[:min(len(res.Skipped), maxReportedSkips)] {
		out.SkippedLines = append(out.SkippedLines, importSkip{Line: s.Line, Number: s.Number, Reason: s.Skip})
	}
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, importLineError{Line: e.Line, Message: e.Err.Error()})
	}
	return out
}

// writeImportError responds to an import that stopped part way. The rows
// applied before the failure stay applied, so the body carries the
// partial result next to the error.
func (a *HTTPAPI) writeImportError(w http.ResponseWriter, r *http.Request, err error, out importResponse) {
	var tooLarge *http.MaxBytesError
	var e *apiError
	switch {
	case errors.As(err, &tooLarge):
		e = bodyTooLarge(tooLarge.Limit)
	case errors.Is(err, consent.ErrUTF16CSV):
		e = apiErrorFor(codeInvalidRequest, consent.ErrUTF16CSV.Error())
	default:
		e = apiErrorFromGateway(err)
	}
	e.cause = err
	if out.Applied > 0 || out.Skipped > 0 {
		e.Message += fmt.Sprintf("; the import stopped after %d rows, and the rows applied before stay applied", out.Rows)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(e.RetryAfter))
	}
	a.writeJSON(w, r, e.status, struct {
		Error  *apiError      `json:"error"`
		Result importResponse `json:"result"`
	}{e, out})
	a.log.Warn("consent import stopped",
		zap.String("account", out.Account),
		zap.Int("rows", out.Rows),
		zap.Int("applied", out.Applied),
		zap.Error(err))
}

// getExport streams every record of the caller's account as CSV.
func (a *HTTPAPI) getExport(w http.ResponseWriter, r *http.Request, c caller) {
	extendDeadlines(w)
	out := &exportWriter{w: w, account: c.account}
	err := a.services.Load().Engine.ExportCSV(r.Context(), c.account, out)
	if err == nil {
		out.start()
		return
	}
	if !out.started {
		a.writeError(w, r, apiErrorFromStatus(StatusFor(CodeStoreUnavailable), err))
		return
	}
	// The status line is gone, so abort the response: the client sees a
	// broken transfer rather than a CSV file that looks complete.
	a.log.Error("consent export failed part way",
		zap.String("account", c.account),
		zap.Error(err))
	panic(http.ErrAbortHandler)
}

// exportWriter sends the CSV headers before the first row, so an error
// before any row can still be a JSON error response.
type exportWriter struct {
	w       http.ResponseWriter
	account string
	started bool
}

func (e *exportWriter) start() {
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment",
		map[string]string{"filename": "consent-" + e.account + ".csv"}))
	h.Set("X-Content-Type-Options", "nosniff")
	// The export is subscriber data: no cache may keep it (RFC 9111
	// section 5.2.2.5).
	h.Set("Cache-Control", "no-store")
	e.w.WriteHeader(http.StatusOK)
}

func (e *exportWriter) Write(b []byte) (int, error) {
	e.start()
	return e.w.Write(b)
}
