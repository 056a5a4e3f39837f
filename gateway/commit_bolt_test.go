package gateway

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openCommitTestDB(t *testing.T) (*bolt.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "commit.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return db, path
}

func putKey(key string) func(*bolt.Tx) error {
	return func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put([]byte(key), []byte("v")) }
}

// waitForWaiting polls until a commit runs and n writes wait behind it.
func waitForWaiting(t *testing.T, g *groupCommit, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g.mu.Lock()
		waiting, leading := len(g.waiting), g.leading
		g.mu.Unlock()
		if leading && waiting == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes waiting after 5s, want %d", waiting, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestGroupCommitWritesDurable(t *testing.T) {
	db, path := openCommitTestDB(t)
	g := &groupCommit{db: db}
	const writers = 50
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := range writers {
		wg.Go(func() { errs <- g.run(putKey(fmt.Sprintf("k%02d", i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("write failed: %v", err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	reopened, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	err = reopened.View(func(tx *bolt.Tx) error {
		for i := range writers {
			if tx.Bucket([]byte("b")).Get(fmt.Appendf(nil, "k%02d", i)) == nil {
				t.Errorf("key k%02d missing after reopening", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGroupCommitWaitingWritesShareCommit(t *testing.T) {
	db, _ := openCommitTestDB(t)
	g := &groupCommit{db: db}
	release := make(chan struct{})
	var mu sync.Mutex
	txOf := map[string]int{}
	record := func(key string, block bool) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error {
			if block {
				<-release
			}
			mu.Lock()
			txOf[key] = tx.ID()
			mu.Unlock()
			return putKey(key)(tx)
		}
	}

	var wg sync.WaitGroup
	wg.Go(func() {
		if err := g.run(record("first", true)); err != nil {
			t.Errorf("first write: %v", err)
		}
	})
	waitForWaiting(t, g, 0)
	const later = 5
	for i := range later {
		wg.Go(func() {
			if err := g.run(record(fmt.Sprintf("later%d", i), false)); err != nil {
				t.Errorf("later write %d: %v", i, err)
			}
		})
	}
	waitForWaiting(t, g, later)
	close(release)
	wg.Wait()

	if len(txOf) != later+1 {
		t.Fatalf("%d writes ran, want %d", len(txOf), later+1)
	}
	for i := range later {
		key := fmt.Sprintf("later%d", i)
		if txOf[key] == txOf["first"] {
			t.Errorf("%s ran in the transaction of the write it waited for", key)
		}
		if txOf[key] != txOf["later0"] {
			t.Errorf("%s ran in transaction %d, later0 in %d: waiting writes should share one", key,
				txOf[key], txOf["later0"])
		}
	}
}

func TestGroupCommitFailedWriteAlone(t *testing.T) {
	db, _ := openCommitTestDB(t)
	g := &groupCommit{db: db}
	release := make(chan struct{})
	errBad := errors.New("bad write")
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = g.run(func(tx *bolt.Tx) error {
			<-release
			return putKey("first")(tx)
		})
	})
	waitForWaiting(t, g, 0)

	results := make([]error, 4)
	writes := []func(*bolt.Tx) error{
		putKey("a"),
		func(tx *bolt.Tx) error {
			if err := putKey("bad")(tx); err != nil {
				return err
			}
			return errBad
		},
		func(*bolt.Tx) error { panic("broken write") },
		putKey("c"),
	}
	for i, fn := range writes {
		wg.Go(func() { results[i] = g.run(fn) })
		waitForWaiting(t, g, i+1)
	}
	close(release)
	wg.Wait()

	if results[0] != nil || results[3] != nil {
		t.Errorf("good writes failed: %v, %v", results[0], results[3])
	}
	if !errors.Is(results[1], errBad) {
		t.Errorf("failing write returned %v, want %v", results[1], errBad)
	}
	if results[2] == nil {
		t.Error("panicking write returned no error")
	}
	err := db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("b"))
		for _, key := range []string{"first", "a", "c"} {
			if b.Get([]byte(key)) == nil {
				t.Errorf("key %s of a good write missing", key)
			}
		}
		if b.Get([]byte("bad")) != nil {
			t.Error("key of the failed write was committed")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestGroupCommitClosedDB(t *testing.T) {
	db, _ := openCommitTestDB(t)
	g := &groupCommit{db: db}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.run(putKey("k")); err == nil {
		t.Fatal("write to a closed file returned no error")
	}
	// The failed group must not leave the lead taken.
	if g.leading {
		t.Error("group commit still marked as committing after the write returned")
	}
}

// BenchmarkGroupCommit measures fsynced writes of one small key from 32
// goroutines, which share commits.
func BenchmarkGroupCommit(b *testing.B) {
	path := filepath.Join(b.TempDir(), "commit.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("b"))
		return err
	}); err != nil {
		b.Fatal(err)
	}
	g := &groupCommit{db: db}
	var next atomic.Uint64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := binary.BigEndian.AppendUint64(nil, next.Add(1))
			if err := g.run(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(key, key) }); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
