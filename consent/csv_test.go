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
		"+12015550107,opted_in,2025-06-01T14:00:00Z,x,extra",
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
		6:  "state requested cannot be imported",
		7:  `invalid time "yesterday"`,
		8:  "missing state",
		11: "5 fields",
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
	f.optIn("beta", "+12015550104")

	var buf bytes.Buffer
	if err := f.e.ExportCSV(context.Background(), acme, &buf); err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("read export: %v\n%s", err, buf.String())
	}
	want := map[string]string{subscriber: "opted_in", subscriber2: "opted_out", "+12015550103": "requested"}
	if len(rows) != len(want)+1 || strings.Join(rows[0], ",") != "number,state,time,source" {
		t.Fatalf("export =\n%s", buf.String())
	}
	for _, row := range rows[1:] {
		if want[row[0]] != row[1] || row[2] != noon.Format("2006-01-02T15:04:05Z") {
			t.Errorf("row %v, want state %s at %s", row, want[row[0]], noon.Format("2006-01-02T15:04:05Z"))
		}
		if row[3] != "smpp" && row[3] != "unknown" {
			t.Errorf("row %v has source %q", row, row[3])
		}
	}

	// Import into an empty store: opt-ins and opt-outs come back, the
	// requested row is refused with a reason.
	g := newFixture(t)
	res, err := g.e.ImportCSV(context.Background(), acme, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if res.Applied != 2 || len(res.Errors) != 1 {
		t.Errorf("re-import = %+v, want 2 applied and 1 error", res)
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
}
