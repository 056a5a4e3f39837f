package consent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

// importCSV imports the CSV text for acme and returns the result with the
// line errors keyed by line number.
func (f *fixture) importCSV(text string) (consent.ImportResult, map[int]string) {
	f.t.Helper()
	res, err := f.e.ImportCSV(context.Background(), acme, strings.NewReader(text))
	if err != nil {
		f.t.Fatalf("import: %v", err)
	}
	errs := map[int]string{}
	for _, le := range res.Errors {
		errs[le.Line] = le.Err.Error()
	}
	return res, errs
}

func TestImportCSVQuoteErrorInFirstField(t *testing.T) {
	f := newFixture(t)
	res, errs := f.importCSV(`"+12015550101"x,opted_in` + "\n" +
		`+120155"50102,opted_in` + "\n" +
		"+12015550103,opted_in\n")
	if res.Applied != 1 || res.Rows != 3 {
		t.Errorf("result %+v, want 3 rows with 1 applied", res)
	}
	for _, line := range []int{1, 2} {
		if !strings.Contains(errs[line], "malformed CSV") {
			t.Errorf("line %d error = %q, want a malformed CSV error", line, errs[line])
		}
	}
	f.wantReason(acme, tfAcme, "+12015550103", consent.ReasonNone)
}

func TestImportCSVByteOrderMark(t *testing.T) {
	for name, text := range map[string]string{
		"header":    "\ufeffnumber,state\r\n+12015550101,opted_in\r\n",
		"no header": "\ufeff+12015550101,opted_in\n",
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			res, errs := f.importCSV(text)
			if res.Applied != 1 || len(errs) != 0 || res.Rows != 1 {
				t.Errorf("result %+v errors %v, want one row applied", res, errs)
			}
			f.wantReason(acme, tfAcme, subscriber, consent.ReasonNone)
		})
	}
}

func TestImportCSVUTF16Rejected(t *testing.T) {
	f := newFixture(t)
	utf16 := "\xff\xfen\x00u\x00m\x00\n\x00"
	_, err := f.e.ImportCSV(context.Background(), acme, strings.NewReader(utf16))
	if err == nil || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("import of a UTF-16 file: %v, want an error naming UTF-16", err)
	}
}

func TestImportCSVQuotedFieldsAndCRLF(t *testing.T) {
	f := newFixture(t)
	text := "number,state,time,source\r\n" +
		`"(201) 555-0101","opted_in","2025-06-01T14:00:00Z","web form, page ""join"""` + "\r\n" +
		`"+1 201 555 0102",opted_out,,"paper form` + "\r\n" + `signed in store"` + "\r\n" +
		"\r\n" +
		"   \r\n" +
		"+12015550103,opted_in,,\r\n"
	res, errs := f.importCSV(text)
	if res.Applied != 3 || len(errs) != 0 || res.Rows != 3 {
		t.Errorf("result %+v errors %v, want 3 rows applied", res, errs)
	}
	h := history(t, f.store, acme, subscriber)
	if len(h) != 1 || h[0].Text != `web form, page "join"` {
		t.Errorf("imported source = %+v, want the unquoted text", h)
	}
	h = history(t, f.store, acme, subscriber2)
	if len(h) != 1 || h[0].Text != "paper form\nsigned in store" {
		t.Errorf("multi-line source = %+v", h)
	}
	f.wantReason(acme, tfAcme, subscriber2, consent.ReasonOptedOut)
	f.wantReason(acme, tfAcme, "+12015550103", consent.ReasonNone)
}

// TestImportCSVHugeLine checks that one overlong line is a line error and
// that the rows after it are read, with their own line numbers.
func TestImportCSVHugeLine(t *testing.T) {
	f := newFixture(t)
	huge := "+12015550101,opted_in,," + strings.Repeat("x", 1<<20)
	res, errs := f.importCSV("number,state\n" + huge + "\n+12015550102,opted_in\n" +
		`+12015550103,opted_in,,"` + strings.Repeat("y", 1<<20) + "\n+12015550104,opted_in\n")
	if !strings.Contains(errs[2], "longer than") {
		t.Errorf("line 2 error = %q, want a line length error", errs[2])
	}
	if !strings.Contains(errs[4], "longer than") {
		t.Errorf("line 4 error = %q, want a line length error", errs[4])
	}
	if res.Applied != 2 || len(errs) != 2 {
		t.Errorf("result %+v errors %v, want 2 rows applied and 2 errors", res, errs)
	}
	f.wantReason(acme, tfAcme, subscriber, consent.ReasonNoConsent)
	f.wantReason(acme, tfAcme, subscriber2, consent.ReasonNone)
	f.wantReason(acme, tfAcme, "+12015550104", consent.ReasonNone)
}

// TestImportCSVUnclosedQuote checks that a quote left open swallows at most
// 4096 bytes of the file, and that the error says so.
func TestImportCSVUnclosedQuote(t *testing.T) {
	f := newFixture(t)
	var b strings.Builder
	b.WriteString(`+12015550101,opted_in,,"web form` + "\n")
	for i := range 200 {
		fmt.Fprintf(&b, "+1201555%04d,opted_in\n", 200+i)
	}
	res, errs := f.importCSV(b.String())
	if len(errs) != 1 || !strings.Contains(errs[1], "not closed") {
		t.Errorf("errors %v, want one on line 1 about an unclosed quote", errs)
	}
	if res.Applied == 0 || res.Applied >= 200 {
		t.Errorf("applied %d rows, want the rows after the swallowed ones", res.Applied)
	}
	f.wantReason(acme, tfAcme, "+12015550399", consent.ReasonNone)
}

// TestImportCSVBadTimeIsLineError checks that a time that parses but that no
// store can keep is reported on its line, and that the other rows of the
// file are applied.
func TestImportCSVBadTimeIsLineError(t *testing.T) {
	f := newFixture(t)
	res, errs := f.importCSV("+12015550101,opted_in,0001-01-01T00:00:00Z,\n" +
		"+12015550102,opted_in,9999-12-31T23:59:59Z,\n" +
		"+12015550103,opted_in,2030-01-01T00:00:00Z,\n" +
		"+12015550104,opted_in,1970-01-01T00:00:00Z,\n" +
		"+12015550105,opted_in,2025-06-01T14:00:00+02:00,\n")
	for line := 1; line <= 4; line++ {
		if !strings.Contains(errs[line], "time") {
			t.Errorf("line %d error = %q, want a time error", line, errs[line])
		}
	}
	if res.Applied != 1 {
		t.Errorf("applied = %d, want 1 (errors %v)", res.Applied, errs)
	}
	f.wantReason(acme, tfAcme, "+12015550105", consent.ReasonNone)

	vres, err := f.e.ImportVoided(context.Background(),
		strings.NewReader("+12015550105,0001-01-01T00:00:00Z\n"), []string{acme})
	if err != nil {
		t.Fatalf("import voided: %v", err)
	}
	if len(vres.Errors) != 1 || vres.Applied != 0 {
		t.Errorf("voided import of a zero time: %+v, want one line error", vres)
	}
}

func TestImportCSVInvalidUTF8Source(t *testing.T) {
	f := newFixture(t)
	res, errs := f.importCSV("+12015550101,opted_in,,caf\xe9 form\n+12015550102,opted_in,,caf\u00e9 form\n")
	if !strings.Contains(errs[1], "UTF-8") || res.Applied != 1 {
		t.Errorf("result %+v errors %v, want line 1 rejected for invalid UTF-8", res, errs)
	}
}

// flakyStore fails Apply once it has applied limit events.
type flakyStore struct {
	consent.Store
	limit, applied int
}

func (s *flakyStore) Apply(ctx context.Context, ev consent.Event) (consent.Applied, error) {
	if s.applied >= s.limit {
		return consent.Applied{}, errors.New("connection reset")
	}
	s.applied++
	return s.Store.Apply(ctx, ev)
}

// TestImportCSVStoreFailureCountsApplied checks that when the store fails
// in the middle of an import, the result counts exactly the rows that were
// applied, so the operator knows where to resume.
func TestImportCSVStoreFailureCountsApplied(t *testing.T) {
	fs := &flakyStore{Store: openBolt(t), limit: 3}
	f := newFixtureWithStore(t, fs)
	var b strings.Builder
	for i := range 6 {
		fmt.Fprintf(&b, "+120155501%d0,opted_in\n", i)
	}
	res, err := f.e.ImportCSV(context.Background(), acme, strings.NewReader(b.String()))
	if !errors.Is(err, consent.ErrStoreUnavailable) {
		t.Fatalf("import error = %v, want ErrStoreUnavailable", err)
	}
	if res.Applied != 3 {
		t.Errorf("applied = %d, want the 3 rows the store took", res.Applied)
	}
	if !strings.Contains(err.Error(), "line 4") {
		t.Errorf("error %q does not name line 4, the first row not applied", err)
	}
}

func TestImportVoidedStoreFailureCountsApplied(t *testing.T) {
	fs := &flakyStore{Store: openBolt(t), limit: 1000}
	f := newFixtureWithStore(t, fs)
	numbers := []string{"+12015550110", "+12015550120", "+12015550130", "+12015550140"}
	for _, n := range numbers {
		f.optIn(acme, n)
	}
	fs.limit = fs.applied + 2
	input := strings.Join(append([]string{"+12015550199"}, numbers...), "\n")
	res, err := f.e.ImportVoided(context.Background(), strings.NewReader(input), []string{acme})
	if !errors.Is(err, consent.ErrStoreUnavailable) {
		t.Fatalf("import error = %v, want ErrStoreUnavailable", err)
	}
	if res.Applied != 2 || len(res.Skipped) != 1 || res.Skipped[0].Skip != consent.SkipNoRecord {
		t.Errorf("result %+v, want 2 applied and line 1 skipped as no_record", res)
	}
	if !strings.Contains(err.Error(), "line 4") {
		t.Errorf("error %q does not name line 4, the first row not applied", err)
	}
	f.wantReason(acme, tfAcme, numbers[1], consent.ReasonVoided)
	f.wantReason(acme, tfAcme, numbers[2], consent.ReasonNone)
}
