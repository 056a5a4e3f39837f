package consent

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// LineError is a problem with one line of an imported CSV file.
type LineError struct {
	// Line is the 1-based line number in the file.
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

// Unwrap returns the underlying error.
func (e *LineError) Unwrap() error { return e.Err }

// LineSkip is a valid imported row that changed nothing, e.g. an opt-in for
// a number that opted out.
type LineSkip struct {
	Line   int
	Number string
	Skip   Skip
}

// ImportResult summarizes an import.
type ImportResult struct {
	// Rows counts the data rows read, header excluded.
	Rows int
	// Applied counts rows that changed a record.
	Applied int
	// Skipped lists valid rows that changed nothing.
	Skipped []LineSkip
	// Errors lists invalid rows, at most maxLineErrors of them. In all,
	// Rows - Applied - len(Skipped) rows were invalid.
	Errors []*LineError
}

// maxLineErrors bounds the line errors kept, so a wrong file cannot fill
// memory with errors.
const maxLineErrors = 1000

// maxImportSource bounds the source column, which is kept in the audit
// trail.
const maxImportSource = 200

func (r *ImportResult) addError(line int, err error) {
	if len(r.Errors) < maxLineErrors {
		r.Errors = append(r.Errors, &LineError{Line: line, Err: err})
	}
}

// addMalformed counts a row that readCSV could not split into fields and
// records its error.
func (r *ImportResult) addMalformed(line int, err error) {
	r.Rows++
	r.addError(line, err)
}

// importChunk is the number of rows applied in one store call when the
// store implements BatchApplier.
const importChunk = 500

// ImportCSV imports consent states for one account from CSV rows
//
//	number,state,time,source[,requests,request_from]
//
// where number is in any format NormalizeNumber reads, state is opted_in,
// opted_out, voided, requested or none, time is RFC 3339 (empty means
// now), and source is a free-text note on where the consent came from
// (e.g. "web form 2025"), kept in the audit trail. requests and
// request_from are read for requested rows only: the number of opt-in
// requests sent (1 or 2) and the toll-free numbers they came from in
// sending order, separated by spaces. Those are the columns ExportCSV
// writes, so an export imports again. A first row whose first field is
// "number" is a header.
//
// An opted_in, opted_out or voided row is applied as an EventImport. A
// requested row is applied as one EventRequest per toll-free number, so
// the requests count toward the limit of MaxRequests and a YES to one of
// those numbers opts in; no text is sent. A none row, a pair without
// consent, is skipped with SkipNothingToImport. Like a YES, an imported
// opt-in never lifts an opt-out, and imports send no replies.
//
// Invalid rows are listed in the result and the import goes on. A row is
// invalid for a CSV syntax error, a line longer than 4096 bytes, text that
// is not UTF-8, an invalid number, state, time or request column, or a
// time more than a day in the future. No row is ever applied in part. The
// returned error is for the file as a whole: an unknown account, a UTF-16
// file, a read error or a store failure, which stops the import. Rows
// applied before a store failure stay applied and are counted in the
// result, and the error names the first line not applied. Stores that
// implement BatchApplier get the rows in chunks of about 500 events, each
// applied entirely or not at all.
func (e *Engine) ImportCSV(ctx context.Context, account string, r io.Reader) (ImportResult, error) {
	var res ImportResult
	if _, ok := e.accounts.Account(account); !ok {
		return res, fmt.Errorf("import consent: account %q: %w", account, ErrUnknownAccount)
	}
	var (
		events []Event
		lines  []int // the line of each event; a row's events are adjacent
	)
	flush := func() error {
		applied, err := e.applyEvents(ctx, events)
		res.countRows(applied, events, lines)
		if err != nil {
			return fmt.Errorf("line %d and later rows not applied: %w: %w", lines[len(applied)], ErrStoreUnavailable, err)
		}
		events, lines = events[:0], lines[:0]
		return nil
	}
	err := readCSV(r, 1, 6, func(line int, fields []string) error {
		res.Rows++
		evs, err := e.importEvents(account, fields)
		switch {
		case err != nil:
			res.addError(line, err)
			return nil
		case len(evs) == 0:
			res.Skipped = append(res.Skipped, LineSkip{Line: line, Number: e.rowNumber(fields),
				Skip: SkipNothingToImport})
			return nil
		}
		for _, ev := range evs {
			events, lines = append(events, ev), append(lines, line)
		}
		if len(events) < importChunk {
			return nil
		}
		return flush()
	}, res.addMalformed)
	if err == nil && len(events) > 0 {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("import consent for %s: %w", account, err)
	}
	return res, nil
}

// SkipNothingToImport is the skip of an imported row in state none: the
// pair has no consent, so there is nothing to record.
const SkipNothingToImport Skip = "nothing_to_import"

// countRows counts the rows of the applied events: a row is applied when
// one of its events changed the record, and skipped with the first
// event's reason otherwise. A BatchApplier applies all or none, and the
// one-by-one path stops between rows only on a store failure, which the
// caller reports.
func (r *ImportResult) countRows(applied []Applied, events []Event, lines []int) {
	for i := 0; i < len(applied); {
		j := i
		changed := false
		for j < len(applied) && lines[j] == lines[i] {
			changed = changed || applied[j].Effect.Changed
			j++
		}
		if changed {
			r.Applied++
		} else {
			r.Skipped = append(r.Skipped, LineSkip{Line: lines[i], Number: events[i].Number, Skip: applied[i].Effect.Skip})
		}
		i = j
	}
}

// rowNumber returns the row's number in E.164 form when it reads as
// one, else as written.
func (e *Engine) rowNumber(fields []string) string {
	if n, err := e.normalizeNumber(fields[0]); err == nil {
		return n
	}
	return fields[0]
}

// importEvents returns the events of one imported row, none for a row in
// state none.
func (e *Engine) importEvents(account string, fields []string) ([]Event, error) {
	number, err := e.normalizeNumber(fields[0])
	if err != nil {
		return nil, err
	}
	ev := Event{Kind: EventImport, Account: account, Number: number, Source: SourceImport, Time: e.now()}
	if len(fields) < 2 || fields[1] == "" {
		return nil, errors.New("missing state (want opted_in, opted_out, voided, requested or none)")
	}
	ev.Import, err = ParseState(strings.ToLower(strings.TrimSpace(fields[1])))
	if err != nil {
		return nil, err
	}
	if len(fields) >= 3 && fields[2] != "" {
		if ev.Time, err = parseImportTime(fields[2], ev.Time); err != nil {
			return nil, err
		}
	}
	if len(fields) >= 4 {
		if len(fields[3]) > maxImportSource {
			return nil, fmt.Errorf("source is %d bytes long; the maximum is %d", len(fields[3]), maxImportSource)
		}
		ev.Text = fields[3]
	}
	var senders []string
	if len(fields) >= 5 {
		if senders, err = e.importRequests(fields[4:]); err != nil {
			return nil, err
		}
	}

	var events []Event
	switch ev.Import {
	case StateNone:
		return nil, nil
	case StateRequested:
		if len(senders) == 0 {
			return nil, errors.New("state requested needs the requests and request_from columns: " +
				"the number of requests and the toll-free numbers they came from")
		}
		for _, from := range senders {
			req := ev
			req.Kind, req.Import, req.TollFree = EventRequest, StateNone, from
			events = append(events, req)
		}
	default:
		events = []Event{ev}
	}
	// The store rejects an invalid event for the whole batch it is in, so
	// catch it here, where it is one line's error.
	for _, ev := range events {
		if err := ev.Validate(); err != nil {
			return nil, err
		}
	}
	return events, nil
}

// importRequests reads the requests and request_from columns: a count of
// 0 to MaxRequests (empty means as many as there are numbers) and that
// many toll-free numbers separated by spaces.
func (e *Engine) importRequests(fields []string) ([]string, error) {
	count := -1
	if c := strings.TrimSpace(fields[0]); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 0 || n > MaxRequests {
			return nil, fmt.Errorf("invalid requests %q (want 0 to %d)", fields[0], MaxRequests)
		}
		count = n
	}
	var senders []string
	if len(fields) >= 2 {
		for _, f := range strings.Fields(fields[1]) {
			n, err := e.normalizeNumber(f)
			if err != nil {
				return nil, fmt.Errorf("request_from: %w", err)
			}
			senders = append(senders, n)
		}
	}
	if len(senders) > MaxRequests {
		return nil, fmt.Errorf("request_from names %d numbers; at most %d requests are sent", len(senders), MaxRequests)
	}
	if count >= 0 && count != len(senders) {
		return nil, fmt.Errorf("requests is %d but request_from names %d numbers", count, len(senders))
	}
	return senders, nil
}

// applyEvents applies events in order, in one call when the store
// implements BatchApplier. On error it returns the events applied before
// the failure, which a BatchApplier never leaves.
func (e *Engine) applyEvents(ctx context.Context, events []Event) ([]Applied, error) {
	if ba, ok := e.store.(BatchApplier); ok {
		out, err := ba.ApplyBatch(ctx, events)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
	out := make([]Applied, 0, len(events))
	for _, ev := range events {
		a, err := e.store.Apply(ctx, ev)
		if err != nil {
			return out, err
		}
		out = append(out, a)
	}
	return out, nil
}

// maxImportClockSkew is how far in the future an imported time may lie,
// to allow for the clock of the system that wrote the file.
const maxImportClockSkew = 24 * time.Hour

// parseImportTime parses an imported RFC 3339 time. It rejects times a
// store cannot keep (see Event.Validate) and times more than a day after
// now, because consent cannot be given in the future.
func parseImportTime(field string, now time.Time) (time.Time, error) {
	at, err := time.Parse(time.RFC3339, field)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q (want RFC 3339, e.g. 2025-06-01T14:00:00Z)", field)
	}
	if err := checkEventTime(at); err != nil {
		return time.Time{}, err
	}
	if at.After(now.Add(maxImportClockSkew)) {
		return time.Time{}, fmt.Errorf("time %s is in the future", field)
	}
	return at, nil
}

// voidedRow is one valid row of a list of voided numbers.
type voidedRow struct {
	line   int
	number string
	at     time.Time
	note   string
}

// ImportVoided voids the consent of reassigned or disconnected numbers, for
// every account listed. Rows are
//
//	number[,time[,reason]]
//
// with time in RFC 3339 (empty means now) and reason a free-text note such
// as "reassigned" or "disconnected", kept in the audit trail. A first row
// whose first field is "number" is a header. A pair without a record is
// left alone, because without consent there is nothing to void. Rows are
// read in chunks of 500, with one GetMany per chunk to find the pairs that
// have a record. Invalid rows and store failures are handled as in
// ImportCSV.
//
// A reassigned number belongs to someone new for every business, so the
// daemon passes all its account ids.
func (e *Engine) ImportVoided(ctx context.Context, r io.Reader, accounts []string) (ImportResult, error) {
	var res ImportResult
	for _, a := range accounts {
		if a == "" || strings.IndexByte(a, 0) >= 0 {
			return res, fmt.Errorf("import voided numbers: invalid account id %q", a)
		}
	}
	var rows []voidedRow
	flush := func() error {
		err := e.voidRows(ctx, rows, accounts, &res)
		rows = rows[:0]
		return err
	}
	err := readCSV(r, 1, 3, func(line int, fields []string) error {
		res.Rows++
		row, err := e.voidRow(line, fields)
		if err != nil {
			res.addError(line, err)
			return nil
		}
		if rows = append(rows, row); len(rows) < importChunk {
			return nil
		}
		return flush()
	}, res.addMalformed)
	if err == nil && len(rows) > 0 {
		err = flush()
	}
	if err != nil {
		return res, fmt.Errorf("import voided numbers: %w", err)
	}
	return res, nil
}

// voidRows applies a void to every pair of the rows' numbers and the
// accounts that has a record, and counts the rows in res.
func (e *Engine) voidRows(ctx context.Context, rows []voidedRow, accounts []string, res *ImportResult) error {
	keys := make([]Key, 0, len(rows)*len(accounts))
	for _, row := range rows {
		for _, a := range accounts {
			keys = append(keys, Key{Account: a, Number: row.number})
		}
	}
	recs, err := e.store.GetMany(ctx, keys)
	if err == nil && len(recs) != len(keys) {
		err = errShortBatch
	}
	if err != nil {
		return fmt.Errorf("lines %d-%d: %w: %w", rows[0].line, rows[len(rows)-1].line, ErrStoreUnavailable, err)
	}

	var events []Event
	var eventRow []int
	found := make([]bool, len(rows))
	for i, rec := range recs {
		if rec.IsZero() {
			continue
		}
		row := i / len(accounts)
		found[row] = true
		events = append(events, Event{Kind: EventVoid, Account: keys[i].Account, Number: keys[i].Number,
			Text: rows[row].note, Source: SourceImport, Time: rows[row].at})
		eventRow = append(eventRow, row)
	}
	applied, applyErr := e.applyEvents(ctx, events)
	changed := make([]bool, len(rows))
	for i, a := range applied {
		changed[eventRow[i]] = changed[eventRow[i]] || a.Effect.Changed
	}

	// After a failure, count the rows before the first event not applied.
	// The row of that event may be voided for some accounts already, and
	// importing it again voids it for the rest.
	done := len(rows)
	if applyErr != nil {
		done = eventRow[len(applied)]
	}
	for i, row := range rows[:done] {
		switch {
		case changed[i]:
			res.Applied++
		case found[i]:
			res.Skipped = append(res.Skipped, LineSkip{Line: row.line, Number: row.number, Skip: SkipAlreadyVoided})
		default:
			res.Skipped = append(res.Skipped, LineSkip{Line: row.line, Number: row.number, Skip: SkipNoRecord})
		}
	}
	if applyErr != nil {
		return fmt.Errorf("line %d and later rows not applied: %w: %w", rows[done].line, ErrStoreUnavailable, applyErr)
	}
	return nil
}

func (e *Engine) voidRow(line int, fields []string) (voidedRow, error) {
	number, err := e.normalizeNumber(fields[0])
	if err != nil {
		return voidedRow{}, err
	}
	row := voidedRow{line: line, number: number, at: e.now(), note: "reassigned or disconnected"}
	if len(fields) >= 2 && fields[1] != "" {
		if row.at, err = parseImportTime(fields[1], row.at); err != nil {
			return voidedRow{}, err
		}
	}
	if len(fields) == 3 && fields[2] != "" {
		if len(fields[2]) > maxImportSource {
			return voidedRow{}, fmt.Errorf("reason is %d bytes long; the maximum is %d", len(fields[2]), maxImportSource)
		}
		row.note = fields[2]
	}
	return row, nil
}

// ExportCSV writes every record of the account as CSV rows
//
//	number,state,time,source,requests,request_from
//
// after a header row, where time is the last change in RFC 3339 (UTC),
// source the channel of that change, requests the number of opt-in
// requests sent since the record was created or voided, and request_from
// the toll-free numbers they came from, in sending order and separated by
// spaces. Rows come in the store's order. ImportCSV takes the file again.
func (e *Engine) ExportCSV(ctx context.Context, account string, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"number", "state", "time", "source", "requests", "request_from"}); err != nil {
		return fmt.Errorf("export consent for %s: %w", account, err)
	}
	row := make([]string, 6)
	err := e.store.Records(ctx, account, func(number string, rec Record) error {
		row[0], row[1], row[2], row[3] = number, rec.State.String(), "", rec.Source.String()
		if !rec.Updated.IsZero() {
			row[2] = rec.Updated.UTC().Format(time.RFC3339Nano)
		}
		n := min(int(rec.Requests), MaxRequests)
		row[4], row[5] = strconv.Itoa(n), strings.Join(rec.RequestFrom[:n], " ")
		return cw.Write(row)
	})
	if err != nil {
		return fmt.Errorf("export consent for %s: %w", account, err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("export consent for %s: %w", account, err)
	}
	return nil
}
