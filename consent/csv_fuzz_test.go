package consent_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/optgate/optgate/consent"
)

// FuzzImportCSV imports arbitrary bytes as a consent CSV file. An import
// must not panic, must fail as a whole only for a UTF-16 file, and its
// counts must add up: every row is applied, skipped or listed as invalid.
func FuzzImportCSV(f *testing.F) {
	for _, seed := range []string{
		"number,state,time,source\n+12015550101,opted_in,2025-06-01T14:00:00Z,web form\n",
		"(201) 555-0102, OPTED_OUT ,,paper form\r\n+12015550103,voided,,\n",
		"\ufeffnumber,state\n+12015550104,opted_in\n",
		"+12015550105\n,opted_in\nnot a number,opted_in,,\n",
		"+12015550106,opted_in,2025-06-01T14:00:00Z,x,extra\n",
		`+12015550107,"opted_in,` + "\n+12015550108,opted_in\n",
		"\xff\xfe+\x001\x00",
		"+12015550109,opted_in,9999-01-01T00:00:00Z,\n",
		strings.Repeat("a", 5000) + "\n+12015550110,opted_in\n",
		"",
	} {
		f.Add(seed)
	}
	store, err := consent.OpenBolt(filepath.Join(f.TempDir(), "consent.db"), consent.BoltOptions{})
	if err != nil {
		f.Fatalf("open bolt store: %v", err)
	}
	f.Cleanup(func() { _ = store.Close() })
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		f.Fatalf("account set: %v", err)
	}
	clock := &testClock{now: noon}
	e, err := consent.NewEngine(store, set, consent.Options{Now: clock.Now})
	if err != nil {
		f.Fatalf("new engine: %v", err)
	}
	f.Fuzz(func(t *testing.T, file string) {
		res, err := e.ImportCSV(context.Background(), acme, strings.NewReader(file))
		if err != nil {
			if errors.Is(err, consent.ErrStoreUnavailable) {
				t.Fatalf("import failed on a working store: %v", err)
			}
			return
		}
		invalid := res.Rows - res.Applied - len(res.Skipped)
		if invalid < 0 || len(res.Errors) > invalid {
			t.Fatalf("rows %d, applied %d, skipped %d, errors listed %d: the counts do not add up",
				res.Rows, res.Applied, len(res.Skipped), len(res.Errors))
		}
		for _, le := range res.Errors {
			if le.Line < 1 || le.Err == nil {
				t.Fatalf("line error %+v without a line or a cause", le)
			}
		}
	})
}
