package loadgen

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/testredis"
)

// checkOptedIn reads every number of r from store and checks that exactly
// the opted-in share is opted in.
func checkOptedIn(t *testing.T, store consent.Store, r NumberRange, percent int) {
	t.Helper()
	for i := range r.Len() {
		rec, err := store.Get(context.Background(), "acct", r.At(i))
		if err != nil {
			t.Fatalf("get %s: %v", r.At(i), err)
		}
		want := consent.StateNone
		if OptedIn(i, percent) {
			want = consent.StateOptedIn
		}
		if rec.State != want {
			t.Fatalf("%s: state %s, want %s", r.At(i), rec.State, want)
		}
	}
}

func TestPrepareBolt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "optgate.db")
	r := MustParseNumberRange("+12015550100-+12015550299")
	numbers := OptedInNumbers(r, 40)
	ctx := context.Background()
	res, err := PrepareBolt(ctx, path, "acct", numbers)
	if err != nil {
		t.Fatal(err)
	}
	if res != (PrepareResult{Numbers: 80, Applied: 80}) {
		t.Errorf("result %+v, want 80 numbers applied", res)
	}

	// A second import changes nothing.
	res, err = PrepareBolt(ctx, path, "acct", numbers)
	if err != nil {
		t.Fatal(err)
	}
	if res != (PrepareResult{Numbers: 80, Skipped: 80}) {
		t.Errorf("second import %+v, want 80 numbers unchanged", res)
	}

	store, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	checkOptedIn(t, store, r, 40)
}

func TestPrepareRedis(t *testing.T) {
	srv := testredis.Start(t)
	r := MustParseNumberRange("+12015550100-+12015550199")
	ctx := context.Background()
	res, err := PrepareRedis(ctx, srv.URL(), "bench:", "acct", OptedInNumbers(r, 25))
	if err != nil {
		t.Fatal(err)
	}
	if res != (PrepareResult{Numbers: 25, Applied: 25}) {
		t.Errorf("result %+v, want 25 numbers applied", res)
	}
	store, err := consent.OpenRedis(ctx, consent.RedisOptions{URL: srv.URL(), KeyPrefix: "bench:"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	checkOptedIn(t, store, r, 25)
}

func TestPrepareStoreMissingAccount(t *testing.T) {
	store, err := consent.OpenBolt(filepath.Join(t.TempDir(), "optgate.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	_, err = PrepareStore(context.Background(), store, "", []string{"+12015550100"}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "missing account id") {
		t.Errorf("error %v, want one about the missing account id", err)
	}
}

func TestPrepareHTTP(t *testing.T) {
	var got [][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != "/v1/consent/import" || r.Method != http.MethodPost:
			t.Errorf("request %s %s", r.Method, r.URL.Path)
		case r.URL.Query().Get("account") != "demo" || r.URL.Query().Get("kind") != "consent":
			t.Errorf("query %s, want account=demo and kind=consent", r.URL.RawQuery)
		case r.Header.Get("Authorization") != "Bearer op" || r.Header.Get("Content-Type") != "text/csv":
			t.Errorf("headers %v", r.Header)
		}
		rows, err := csv.NewReader(r.Body).ReadAll()
		if err != nil {
			t.Errorf("CSV body: %v", err)
		}
		got = rows
		io.WriteString(w, `{"kind":"consent","account":"demo","rows":3,"applied":2,"skipped":1,"invalid":0}`)
	}))
	defer srv.Close()

	numbers := []string{"+12015550100", "+12015550101", "+12015550102"}
	res, err := PrepareHTTP(context.Background(), srv.URL+"/", "op", "demo", numbers)
	if err != nil {
		t.Fatal(err)
	}
	if res != (PrepareResult{Numbers: 3, Applied: 2, Skipped: 1}) {
		t.Errorf("result %+v", res)
	}
	want := [][]string{{"number", "state"}, {numbers[0], "opted_in"}, {numbers[1], "opted_in"}, {numbers[2], "opted_in"}}
	if len(got) != len(want) {
		t.Fatalf("CSV rows %v, want %v", got, want)
	}
	for i := range want {
		if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
			t.Errorf("CSV row %d: %v, want %v", i, got[i], want[i])
		}
	}
}

func TestPrepareHTTPErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"forbidden", http.StatusForbidden, `{"error":{"code":"forbidden","message":"operator token required"}}`,
			"HTTP 403: forbidden: operator token required"},
		{"invalid rows", http.StatusOK,
			`{"rows":2,"applied":1,"invalid":1,"errors":[{"line":3,"message":"invalid number"}]}`,
			"1 of 2 rows invalid, the first: line 3: invalid number"},
		{"not JSON", http.StatusOK, `ok`, "invalid response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			_, err := PrepareHTTP(context.Background(), srv.URL, "op", "demo", []string{"+12015550100"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
