package loadgen

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI is an HTTP API that accepts texts to the opted-in recipients of
// its range and rejects the others with no_consent, as optgate does.
type fakeAPI struct {
	t       *testing.T
	to      NumberRange
	percent int

	mu    sync.Mutex
	texts map[string]int // text -> requests
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/messages" {
		http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"error":{"code":"unauthorized","message":"bad token"}}`)
		return
	}

	var req sendRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("request body: %v", err)
		return
	}
	f.mu.Lock()
	f.texts[req.Text]++
	f.mu.Unlock()
	if req.From != "+18005550100" {
		f.t.Errorf("from %q, want +18005550100", req.From)
	}

	idx := -1
	for i := range f.to.Len() {
		if f.to.At(i) == req.To {
			idx = i
		}
	}
	if idx < 0 {
		f.t.Errorf("to %q is outside the range", req.To)
	}
	if !OptedIn(idx, f.percent) {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `{"error":{"code":"no_consent","message":"the recipient has not opted in"}}`)
		return
	}
	segments := 1
	if req.Text == textLong {
		segments = 3
	}
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(sendResponse{MessageID: "m1", Segments: segments})
}

func TestRunHTTP(t *testing.T) {
	api := &fakeAPI{t: t, to: MustParseNumberRange("+12015550000-+12015550199"), percent: 70, texts: map[string]int{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	rep := run(t, Config{
		HTTPURL: srv.URL, Token: "tok", Binds: 2, Window: 3, Messages: 300,
		To: api.to, OptedInPercent: 70, Mix: Mix{50, 25, 25},
	})

	if rep.Mode != "http" || rep.Target != srv.URL {
		t.Errorf("mode %s target %s", rep.Mode, rep.Target)
	}
	if rep.Submitted != 300 || rep.Acked+rep.Failed != 300 {
		t.Fatalf("submitted %d acked %d failed %d, want 300 in all", rep.Submitted, rep.Acked, rep.Failed)
	}
	if rep.Acked < 150 || rep.Failed < 40 {
		t.Errorf("acked %d failed %d, want about 210 and 90", rep.Acked, rep.Failed)
	}
	want := []ErrorCount{{Reason: "no_consent", Status: "403", Count: rep.Failed}}
	if !slices.Equal(rep.Errors, want) {
		t.Errorf("errors %+v, want %+v", rep.Errors, want)
	}
	if rep.Segments <= rep.Acked {
		t.Errorf("%d segments for %d acked messages; long texts take 3", rep.Segments, rep.Acked)
	}
	for _, k := range []Kind{KindGSM7, KindUCS2, KindLong} {
		if api.texts[k.Text()] == 0 {
			t.Errorf("no %s text was sent", k)
		}
	}
}

func TestRunHTTPErrors(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    ErrorCount
	}{
		{"error code", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"error":{"code":"store_unavailable","temporary":true}}`)
		}, ErrorCount{Reason: "store_unavailable", Status: "503"}},
		{"no error body", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "upstream down", http.StatusBadGateway)
		}, ErrorCount{Reason: "HTTP Bad Gateway", Status: "502", Example: "upstream down\n"}},
		{"invalid 202 body", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			io.WriteString(w, "not json")
		}, ErrorCount{Reason: "invalid response", Status: "202",
			Example: "invalid character 'o' in literal null (expecting 'u')"}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			// The server notices a client that gave up only once the body
			// is read.
			io.Copy(io.Discard, r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}, ErrorCount{Reason: "response timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			rep := run(t, Config{HTTPURL: srv.URL, Token: "tok", Messages: 3, Window: 1,
				ResponseTimeout: 200 * time.Millisecond})
			tt.want.Count = 3
			if rep.Acked != 0 || len(rep.Errors) != 1 || rep.Errors[0] != tt.want {
				t.Errorf("acked %d, errors %+v; want none acked and %+v", rep.Acked, rep.Errors, tt.want)
			}
		})
	}
}

func TestRunHTTPUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	rep := run(t, Config{HTTPURL: url, Token: "tok", Messages: 2, Window: 1})
	if rep.Failed != 2 || len(rep.Errors) != 1 || rep.Errors[0].Reason != "transport error" ||
		!strings.Contains(rep.Errors[0].Example, "connection refused") {
		t.Errorf("failed %d, errors %+v; want 2 transport errors with connection refused", rep.Failed, rep.Errors)
	}
}
