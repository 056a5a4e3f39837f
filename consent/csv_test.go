package consent_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

func TestImportCSV(t *testing.T) {
	f := newFixture(t)
	f.mo("+12015550109", tfAcme, "STOP")
	input := strings.Join([]string{
		"Number,State,Time,Source",
		"+12015550101,opted_in,2025-06-01T14:00:00Z,web form",
		"(201) 555-0102, OPTED_OUT ,,paper form",
		"",
		"not a number,opted_in,,",
		"+12015550104,requested,,",
		"+12015550105,opted_in,yesterday,",
		"+12015550106",
		"+12015550107,opted_in,2025-06-01T14:00:00Z,x,1,,extra",
		`+12015550108,"opted_in,`,
	}, "\n")
	// The last line opens a quote that never closes, so it swallows the
	// rest of the file; put valid rows before it.
	input = strings.Replace(input, "+12015550106\n", "+12015550106\n+12015550109,opted_in,,\n+12015550110,voided,,\n", 1)

	res, err := f.e.ImportCSV(context.Background(), acme, strings.NewReader(input))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if res.Applied != 3 {
		t.Errorf("applied = %d, want 3", res.Applied)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Number != "+12015550109" || res.Skipped[0].Skip != consent.SkipOptedOut {
		t.Errorf("skipped = %+v, want +12015550109 as opted_out", res.Skipped)
	}
	wantErrs := map[int]string{
		5:  "invalid",
		6:  "state requested needs the requests and request_from columns",
		7:  `invalid time "yesterday"`,
		8:  "missing state",
		11: "7 fields",
		12: "malformed CSV",
	}
	got := map[int]string{}
	for _, le := range res.Errors {
		got[le.Line] = le.Error()
	}
	for line, want := range wantErrs {
		msg, ok := got[line]
		if !ok {
			t.Errorf("no error for line %d (errors: %v)", line, got)
			continue
		}
		if !strings.Contains(msg, want) || !strings.HasPrefix(msg, "line ") {
			t.Errorf("line %d error %q does not say %q", line, msg, want)
		}
	}
	if len(res.Errors) != len(wantErrs) {
		t.Errorf("%d line errors, want %d: %v", len(res.Errors), len(wantErrs), got)
	}

	checks := map[string]consent.Reason{
		"+12015550101": consent.ReasonNone,
		"+12015550102": consent.ReasonOptedOut,
		"+12015550109": consent.ReasonOptedOut,
		"+12015550110": consent.ReasonVoided,
		"+12015550104": consent.ReasonNoConsent,
	}
	for n, want := range checks {
		if d := f.check(acme, tfAcme, n); d.Reason != want {
			t.Errorf("%s: MT reason %q, want %q", n, d.Reason, want)
		}
	}
	h := history(t, f.store, acme, "+12015550101")
	if len(h) != 1 || h[0].Source != consent.SourceImport || h[0].Text != "web form" ||
		h[0].Time.Format("2006-01-02") != "2025-06-01" {
		t.Errorf("imported entry = %+v", h)
	}

	if _, err := f.e.ImportCSV(context.Background(), "nobody", strings.NewReader("")); err == nil {
		t.Error("import for an unknown account succeeded")
	}
}

func TestImportVoided(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.optIn("beta", subscriber)
	f.optIn(acme, subscriber2)

	input := "number,time,reason\n" + subscriber + ",2026-01-05T00:00:00Z,reassigned\n+12015550150\nbogus\n"
	res, err := f.e.ImportVoided(context.Background(), strings.NewReader(input), f.accounts.IDs())
	if err != nil {
		t.Fatalf("import voided: %v", err)
	}
	if res.Rows != 3 || res.Applied != 1 || len(res.Errors) != 1 || res.Errors[0].Line != 4 {
		t.Errorf("result = %+v, want 3 rows, 1 applied, an error on line 4", res)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Skip != consent.SkipNoRecord {
		t.Errorf("skipped = %+v, want one no_record", res.Skipped)
	}
	for _, mt := range []consent.MT{
		{Account: acme, From: tfAcme, To: subscriber},
		{Account: "beta", From: tfBeta, To: subscriber},
	} {
		if d := f.e.CheckMT(context.Background(), mt); d.Reason != consent.ReasonVoided {
			t.Errorf("%s: reason %q, want number_voided", mt.Account, d.Reason)
		}
	}
	if d := f.check(acme, tfAcme, subscriber2); !d.Allowed {
		t.Errorf("a number not in the list was blocked: %+v", d)
	}
	h := history(t, f.store, acme, subscriber)
	if last := h[len(h)-1]; last.Event != consent.EventVoid || last.Text != "reassigned" {
		t.Errorf("void entry = %+v", last)
	}
	// A new request and YES restore consent.
	f.optIn(acme, subscriber)
	if d := f.check(acme, tfAcme, subscriber); !d.Allowed {
		t.Errorf("after a new opt-in: %+v", d)
	}
}

func TestExportCSVRoundTrip(t *testing.T) {
	f := newFixture(t)
	f.optIn(acme, subscriber)
	f.mo(subscriber2, tfAcme, "STOP")
	if _, err := f.request(acme, "+12015550103"); err != nil {
		t.Fatal(err)
	}
	// Two requests, the limit, from two numbers.
	f.optIn(acme, "+12015550105") // leaves tfAcme as the first sender
	for range 2 {
		if _, err := f.request(acme, "+12015550106"); err != nil {
			t.Fatal(err)
		}
	}
	f.optIn("beta", "+12015550104")

	var buf bytes.Buffer
	if err := f.e.ExportCSV(context.Background(), acme, &buf); err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("read export: %v\n%s", err, buf.String())
	}
	want := map[string]string{
		subscriber: "opted_in", subscriber2: "opted_out", "+12015550103": "requested",
		"+12015550105": "opted_in", "+12015550106": "requested",
	}
	if len(rows) != len(want)+1 || strings.Join(rows[0], ",") != "number,state,time,source,requests,request_from" {
		t.Fatalf("export =\n%s", buf.String())
	}
	requests := map[string]string{}
	for _, row := range rows[1:] {
		if want[row[0]] != row[1] || row[2] != noon.Format("2006-01-02T15:04:05Z") {
			t.Errorf("row %v, want state %s at %s", row, want[row[0]], noon.Format("2006-01-02T15:04:05Z"))
		}
		if row[3] != "smpp" && row[3] != "unknown" {
			t.Errorf("row %v has source %q", row, row[3])
		}
		requests[row[0]] = row[4] + " " + row[5]
	}
	if got := requests["+12015550103"]; got != "1 "+tfAcme {
		t.Errorf("requests of +12015550103 = %q, want 1 from %s", got, tfAcme)
	}
	if got := requests["+12015550106"]; !strings.HasPrefix(got, "2 ") || len(strings.Fields(got)) != 3 {
		t.Errorf("requests of +12015550106 = %q, want 2 with two senders", got)
	}

	// Import into an empty store, and into another account of the first
	// store: every row comes back.
	g := newFixture(t)
	for _, dst := range []struct {
		f       *fixture
		account string
	}{{g, acme}, {f, "beta"}} {
		res, err := dst.f.e.ImportCSV(context.Background(), dst.account, bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("import into %s: %v", dst.account, err)
		}
		if res.Applied != len(want) || len(res.Errors) != 0 || len(res.Skipped) != 0 {
			t.Errorf("import into %s = %+v, want %d applied and no errors", dst.account, res, len(want))
		}
		for n, state := range want {
			rec, err := dst.f.store.Get(context.Background(), dst.account, n)
			if err != nil || rec.State.String() != state {
				t.Errorf("%s %s: state %s (%v), want %s", dst.account, n, rec.State, err, state)
			}
		}
	}
	if d := g.check(acme, tfAcme, subscriber); !d.Allowed {
		t.Errorf("re-imported opt-in blocked: %+v", d)
	}
	if d := g.check(acme, tfAcme, subscriber2); d.Reason != consent.ReasonOptedOut {
		t.Errorf("re-imported opt-out: %+v", d)
	}
	r, err := g.store.Get(context.Background(), acme, subscriber)
	if err != nil || !r.Updated.Equal(noon) {
		t.Errorf("re-imported time = %v (%v), want %v", r.Updated, err, noon)
	}

	// The imported requests count: one more may go to +12015550103 and
	// none to +12015550106, and a YES to the imported sender opts in.
	r, err = g.store.Get(context.Background(), acme, "+12015550103")
	if err != nil || r.Requests != 1 || r.RequestFrom[0] != tfAcme {
		t.Errorf("imported request = %+v (%v), want 1 from %s", r, err, tfAcme)
	}
	if res, err := g.request(acme, "+12015550103"); err != nil || res.Sequence != 2 {
		t.Errorf("request after the import = %+v, %v; want the second", res, err)
	}
	if _, err := g.request(acme, "+12015550106"); err == nil {
		t.Error("a third request went out after two were imported")
	}
	g.mo("+12015550103", tfAcme, "YES")
	if d := g.check(acme, tfAcme, "+12015550103"); !d.Allowed {
		t.Errorf("YES to the imported request's sender: %+v, want opted in", d)
	}
}

func TestImportCSVRequestedAndNone(t *testing.T) {
	f := newFixture(t)
	input := strings.Join([]string{
		"number,state,time,source,requests,request_from",
		"+12015550101,none,,,0,",
		"+12015550102,requested,,,2," + tfAcme + " " + tfAcme2,
		"+12015550103,requested,,,1,",
		"+12015550104,requested,,,2," + tfAcme,
		"+12015550105,requested,,,3,",
		"+12015550106,requested,,,,not-a-number",
		"+12015550107,requested,,,," + tfAcme,
	}, "\n")
	res, err := f.e.ImportCSV(context.Background(), acme, strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	if res.Applied != 2 {
		t.Errorf("applied = %d, want 2 (+12015550102 and +12015550107)", res.Applied)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Skip != consent.SkipNothingToImport ||
		res.Skipped[0].Number != "+12015550101" {
		t.Errorf("skipped = %+v, want +12015550101 as nothing_to_import", res.Skipped)
	}
	wantErrs := map[int]string{
		4: "requests is 1 but request_from names 0 numbers",
		5: "requests is 2 but request_from names 1 numbers",
		6: `invalid requests "3"`,
		7: "request_from",
	}
	if len(res.Errors) != len(wantErrs) {
		t.Errorf("errors = %v, want %d", res.Errors, len(wantErrs))
	}
	for _, le := range res.Errors {
		if w, ok := wantErrs[le.Line]; !ok || !strings.Contains(le.Error(), w) {
			t.Errorf("line %d: %v, want %q", le.Line, le, w)
		}
	}
	rec := f.record(acme, "+12015550102")
	if rec.State != consent.StateRequested || rec.Requests != 2 || rec.RequestFrom[1] != tfAcme2 {
		t.Errorf("+12015550102 = %+v, want requested twice, last from %s", rec, tfAcme2)
	}
	if rec := f.record(acme, "+12015550101"); !rec.IsZero() {
		t.Errorf("none row wrote a record: %+v", rec)
	}
}
