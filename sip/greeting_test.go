package sip

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/gateway"
)

func TestGreetingStore(t *testing.T) {
	dir := t.TempDir()
	g, err := NewGreetingStore(filepath.Join(dir, "greetings"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Uploaded(tfReady); ok {
		t.Fatal("Uploaded reports a greeting before any upload")
	}
	wav := append(wavHeader(1600), tonePCM(100*time.Millisecond, 440, 8000)...)
	if err := g.Save(tfReady, wav); err != nil {
		t.Fatalf("Save: %v", err)
	}
	path, ok := g.Uploaded(tfReady)
	if !ok || filepath.Base(path) != "18885550100.wav" {
		t.Fatalf("Uploaded = %q, %v; want 18885550100.wav", path, ok)
	}
	if data, err := os.ReadFile(path); err != nil || !bytes.Equal(data, wav) {
		t.Errorf("stored greeting differs from the upload: %v", err)
	}

	var ge *GreetingError
	if err := g.Save(tfReady, []byte("not audio")); !errors.As(err, &ge) ||
		!strings.Contains(err.Error(), "not a WAV file") || strings.Contains(err.Error(), dir) {
		t.Errorf("Save of text = %v, want a GreetingError naming the problem without a path", err)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, wav) {
		t.Error("a rejected upload replaced the stored greeting")
	}
	// RIFF and data sizes claiming about 2 GiB, with 100 bytes of samples.
	forged := append(wavHeader(0x7fffffff-36), make([]byte, 100)...)
	if err := g.Save(tfReady, forged); !errors.As(err, &ge) || !strings.Contains(err.Error(), "exceeds") {
		t.Errorf("Save of a header claiming 2 GiB = %v, want a GreetingError naming the size", err)
	}
	if data, _ := os.ReadFile(path); !bytes.Equal(data, wav) {
		t.Error("a forged upload replaced the stored greeting")
	}
	if err := g.Save("../x", wav); err == nil {
		t.Error("Save accepted a path as number")
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "greetings"))
	if len(entries) != 1 {
		t.Errorf("greeting directory holds %d files, want 1 (no temporary files left)", len(entries))
	}

	off, _ := NewGreetingStore("")
	if err := off.Save(tfReady, wav); !errors.Is(err, ErrGreetingsOff) {
		t.Errorf("Save without a directory = %v, want ErrGreetingsOff", err)
	}
}

func TestVoicemailRetention(t *testing.T) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	store, err := NewFileVoicemails(t.TempDir(), Retention{MaxAge: 24 * time.Hour, MaxCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	store.now = func() time.Time { return t0.Add(30 * time.Hour) }
	saveTestVoicemail(t, store, "acme", "00000000000000a1", t0)
	saveTestVoicemail(t, store, "acme", "00000000000000a2", t0.Add(10*time.Hour))
	// The third one deletes the oldest, over the count.
	saveTestVoicemail(t, store, "acme", "00000000000000a3", t0.Add(20*time.Hour))
	saveTestVoicemail(t, store, "beta", "00000000000000b1", t0.Add(time.Hour))
	if got := ids(t, store, "acme"); got != "00000000000000a3 00000000000000a2" {
		t.Errorf("acme after Save = %s, want a3 a2", got)
	}

	// At 30 h, the age limit of 24 h deletes what came before 6 h.
	n, err := store.Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v; want 1 deleted", n, err)
	}
	if got := ids(t, store, "beta"); got != "" {
		t.Errorf("beta after Prune = %q, want none", got)
	}
	if got := ids(t, store, "acme"); got != "00000000000000a3 00000000000000a2" {
		t.Errorf("acme after Prune = %s, want a3 a2", got)
	}

	if err := store.Delete(ctx, "acme", "00000000000000a2"); err != nil {
		t.Fatal(err)
	}
	if err := store.Delete(ctx, "acme", "00000000000000a2"); !errors.Is(err, ErrVoicemailNotFound) {
		t.Errorf("second Delete = %v, want ErrVoicemailNotFound", err)
	}
	if _, err := NewFileVoicemails(t.TempDir(), Retention{MaxCount: -1}); err == nil {
		t.Error("a negative count was accepted")
	}
}

// ids returns the ids of the account's voicemails, newest first.
func ids(t *testing.T, store *FileVoicemails, account string) string {
	t.Helper()
	vms, err := store.List(context.Background(), account)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, vm := range vms {
		out = append(out, vm.ID)
	}
	return strings.Join(out, " ")
}

func TestVoicemailHandlerOperator(t *testing.T) {
	store, err := NewFileVoicemails(t.TempDir(), Retention{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	acme := saveTestVoicemail(t, store, "acme", "00000000000000aa", now)
	beta := saveTestVoicemail(t, store, "beta", "00000000000000bb", now.Add(time.Minute))
	h := NewVoicemailHandler(store, func(*http.Request) (gateway.APICaller, error) {
		return gateway.APICaller{Operator: true}, nil
	}, nil)
	do := func(method, path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
		return rec
	}
	rec := do("GET", "/v1/voicemails")
	body := rec.Body.String()
	if rec.Code != 200 || strings.Index(body, beta.ID) < 0 || strings.Index(body, beta.ID) > strings.Index(body, acme.ID) {
		t.Errorf("operator's list = %d %s, want beta's then acme's", rec.Code, body)
	}
	if rec := do("GET", "/v1/voicemails/"+acme.ID); rec.Code != 200 {
		t.Errorf("operator's download = %d, want 200", rec.Code)
	}
	if rec := do("DELETE", "/v1/voicemails/"+beta.ID); rec.Code != http.StatusNoContent {
		t.Errorf("operator's delete = %d %s, want 204", rec.Code, rec.Body)
	}
	if got := ids(t, store, "beta"); got != "" {
		t.Errorf("beta after the delete = %q, want none", got)
	}
	if rec := do("PUT", "/v1/numbers/"+tfReady+"/greeting"); rec.Code != http.StatusNotImplemented {
		t.Errorf("greeting upload without a greeting store = %d, want 501", rec.Code)
	}
}
