package sip

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
)

func saveTestVoicemail(t *testing.T, store *FileVoicemails, account, id string, received time.Time) Voicemail {
	t.Helper()
	vm := Voicemail{ID: id, Account: account, From: customer, To: tfReady, CallID: "c-" + id,
		Received: received, Duration: time.Second}
	wav := append(wavHeader(16000), make([]byte, 16000)...)
	if err := store.Save(context.Background(), vm, bytes.NewReader(wav)); err != nil {
		t.Fatal(err)
	}
	vm.Size = int64(len(wav))
	return vm
}

func TestFileVoicemails(t *testing.T) {
	dir := t.TempDir()
	store, err := NewFileVoicemails(filepath.Join(dir, "voicemail"), Retention{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	older := saveTestVoicemail(t, store, "acme", "00000000000000aa", t0)
	newer := saveTestVoicemail(t, store, "acme", "00000000000000bb", t0.Add(time.Minute))
	saveTestVoicemail(t, store, "beta", "00000000000000cc", t0)

	list, err := store.List(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != newer.ID || list[1].ID != older.ID {
		t.Fatalf("List(acme) = %+v, want %s then %s", list, newer.ID, older.ID)
	}
	if list[0].Size != newer.Size || !list[0].Received.Equal(newer.Received) || list[0].Duration != time.Second {
		t.Errorf("listed %+v, want %+v", list[0], newer)
	}

	vm, f, err := store.Open(ctx, "acme", older.ID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(f)
	_ = f.Close()
	if vm.ID != older.ID || int64(len(data)) != older.Size || string(data[:4]) != "RIFF" {
		t.Errorf("Open = %+v with %d bytes", vm, len(data))
	}

	for _, tc := range []struct{ account, id string }{
		{"beta", older.ID},           // another account's voicemail
		{"acme", "00000000000000ff"}, // no such id
		{"acme", "../beta/00000000000000cc"},
		{"../acme", older.ID},
	} {
		if _, _, err := store.Open(ctx, tc.account, tc.id); !errors.Is(err, ErrVoicemailNotFound) {
			t.Errorf("Open(%q, %q) = %v, want ErrVoicemailNotFound", tc.account, tc.id, err)
		}
	}
	if err := store.Save(ctx, Voicemail{ID: "../../x", Account: "acme"}, strings.NewReader("")); err == nil {
		t.Error("Save accepted a path as id")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "voicemail", "acme"))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func TestVoicemailHandler(t *testing.T) {
	store, err := NewFileVoicemails(t.TempDir(), Retention{})
	if err != nil {
		t.Fatal(err)
	}
	vm := saveTestVoicemail(t, store, "acme", "00000000000000aa", time.Now())
	h := NewVoicemailHandler(store, func(r *http.Request) (gateway.APICaller, error) {
		switch r.Header.Get("Authorization") {
		case "Bearer acme":
			return gateway.APICaller{Account: "acme"}, nil
		case "Bearer beta":
			return gateway.APICaller{Account: "beta"}, nil
		}
		return gateway.APICaller{}, errors.New("the bearer token is not valid")
	}, nil)

	do := func(method, path, token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		h.ServeHTTP(rec, req)
		return rec
	}
	errorCode := func(rec *httptest.ResponseRecorder) string {
		var body struct {
			Error apiError `json:"error"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return body.Error.Code
	}

	cases := []struct {
		name, method, path, token string
		status                    int
		code                      string
	}{
		{"list without token", "GET", "/v1/voicemails", "", 401, "unauthorized"},
		{"download without token", "GET", "/v1/voicemails/" + vm.ID, "", 401, "unauthorized"},
		{"other account's voicemail", "GET", "/v1/voicemails/" + vm.ID, "beta", 404, "not_found"},
		{"unknown id", "GET", "/v1/voicemails/nope", "acme", 404, "not_found"},
		{"other account's delete", "DELETE", "/v1/voicemails/" + vm.ID, "beta", 404, "not_found"},
		{"put", "PUT", "/v1/voicemails/" + vm.ID, "acme", 405, "method_not_allowed"},
		{"post list", "POST", "/v1/voicemails", "acme", 405, "method_not_allowed"},
		{"download", "GET", "/v1/voicemails/" + vm.ID, "acme", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(tc.method, tc.path, tc.token)
			if rec.Code != tc.status {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tc.status)
			}
			if tc.code != "" && errorCode(rec) != tc.code {
				t.Errorf("error code = %q, want %q", errorCode(rec), tc.code)
			}
		})
	}

	rec := do("GET", "/v1/voicemails", "beta")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"voicemails":[]`) {
		t.Errorf("beta's list = %d %s, want an empty list", rec.Code, rec.Body)
	}

	// Range requests let a player seek in a long message.
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/voicemails/"+vm.ID, nil)
	req.Header.Set("Authorization", "Bearer acme")
	req.Header.Set("Range", "bytes=0-3")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != "RIFF" {
		t.Errorf("range request = %d %q, want 206 RIFF", rec.Code, rec.Body.String())
	}
}
