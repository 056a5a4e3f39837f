package consent_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/optgate/optgate/consent"
	"github.com/optgate/optgate/internal/testredis"
)

// assertNoFullNumber fails when text contains the digits of number after
// its country code. where names the text in the failure.
func assertNoFullNumber(t *testing.T, where, text, number string) {
	t.Helper()
	if strings.Contains(text, strings.TrimPrefix(number, "+1")) {
		t.Errorf("%s contains the full number %s: %s", where, number, text)
	}
}

// TestRedisStoreErrorsMaskNumbers stops Redis under an engine and checks
// that the errors it returns and logs name the record by account and
// masked number only.
func TestRedisStoreErrorsMaskNumbers(t *testing.T) {
	srv := testredis.Start(t, redisDirectives...)
	store := openRedis(t, srv, consent.RedisOptions{})
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	clock := &testClock{now: noon}
	e, err := consent.NewEngine(store, set, consent.Options{Now: clock.Now, Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	ctx := context.Background()
	if d := e.CheckMT(ctx, consent.MT{Account: acme, From: tfAcme, To: subscriber}); d.Reason != consent.ReasonStoreUnavailable {
		t.Fatalf("CheckMT with Redis stopped: reason %v, want store unavailable", d.Reason)
	}
	_, err = e.HandleMO(ctx, consent.MO{From: subscriber2, To: tfAcme, Text: "STOP",
		MessageIDs: []string{"m1"}, Source: consent.SourceSMPP})
	if err == nil {
		t.Fatal("STOP with Redis stopped succeeded")
	}
	assertNoFullNumber(t, "the STOP error", err.Error(), subscriber2)
	if want := "apply stop to acme/+1201555****"; !strings.Contains(err.Error(), want) {
		t.Errorf("STOP error = %q, want it to name the record as %q", err, want)
	}

	if logs.Len() == 0 {
		t.Fatal("the engine logged no store failure")
	}
	for _, entry := range logs.All() {
		line := fmt.Sprintf("%s %v", entry.Message, entry.ContextMap())
		assertNoFullNumber(t, "a log entry", line, subscriber)
		assertNoFullNumber(t, "a log entry", line, subscriber2)
	}
	if line := fmt.Sprint(logs.All()[0].ContextMap()); !strings.Contains(line, "acme/+1201555****") {
		t.Errorf("store failure log = %s, want the masked record acme/+1201555****", line)
	}
}

// TestBoltStoreErrorsMaskNumbers corrupts a stored record and checks that
// the error of reopening the store masks the record's number.
func TestBoltStoreErrorsMaskNumbers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "consent.db")
	s, err := consent.OpenBolt(path, consent.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		t.Fatal(err)
	}
	e, err := consent.NewEngine(s, set, consent.Options{Now: (&testClock{now: noon}).Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.HandleMO(context.Background(), consent.MO{From: subscriber, To: tfAcme, Text: "STOP",
		MessageIDs: []string{"m1"}, Source: consent.SourceSMPP}); err != nil {
		t.Fatalf("STOP: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("records")).Put([]byte(acme+"\x00"+subscriber), []byte{0xff})
	})
	if cerr := db.Close(); err != nil || cerr != nil {
		t.Fatalf("corrupt the record: %v, close: %v", err, cerr)
	}

	s, err = consent.OpenBolt(path, consent.BoltOptions{})
	if err == nil {
		_ = s.Close()
		t.Fatal("opening a store with a corrupt record succeeded")
	}
	assertNoFullNumber(t, "the open error", err.Error(), subscriber)
	if want := "record acme/+1201555****"; !strings.Contains(err.Error(), want) {
		t.Errorf("open error = %q, want it to name the record as %q", err, want)
	}
}
