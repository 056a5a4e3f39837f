package consent_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/consent/storetest"
)

func openBolt(t *testing.T) *consent.BoltStore {
	t.Helper()
	s, err := consent.OpenBolt(filepath.Join(t.TempDir(), "consent.db"), consent.BoltOptions{})
	if err != nil {
		t.Fatalf("open bolt store: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) consent.Store { return openBolt(t) })
}

func TestOpenBoltLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consent.db")
	first, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatalf("first open: %v", err)
	}
	defer first.Close()
	_, err = consent.OpenBolt(path, consent.BoltOptions{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, consent.ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
}

func TestBoltReopenKeepsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consent.db")
	s, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	for i, kind := range []consent.EventKind{consent.EventRequest, consent.EventYes, consent.EventStop} {
		ev := consent.Event{Kind: kind, Account: "acme", Number: "+12015550101", TollFree: "+18885550100",
			Text: kind.String(), Time: at.Add(time.Duration(i) * time.Minute)}
		if _, err := s.Apply(ctx, ev); err != nil {
			t.Fatalf("apply %s: %v", kind, err)
		}
	}
	want, _ := s.Get(ctx, "acme", "+12015550101")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	got, err := s.Get(ctx, "acme", "+12015550101")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != consent.StateOptedOut || got.Prior != consent.StateOptedIn || got.Seq != 3 || !got.Updated.Equal(want.Updated) {
		t.Errorf("record after reopen = %+v, want %+v", got, want)
	}
	h, err := s.History(ctx, "acme", "+12015550101")
	if err != nil || len(h) != 3 {
		t.Errorf("history after reopen: %d entries, %v", len(h), err)
	}
}

func TestOpenBoltRejectsNonStoreFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "not-a-db")
	if err := os.WriteFile(path, []byte("this is not a bbolt file, just some text long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := consent.OpenBolt(path, consent.BoltOptions{}); err == nil {
		t.Error("OpenBolt accepted a text file")
	}
}
