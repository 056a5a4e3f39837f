package consent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
)

// TestApplyScriptResentWrite runs the compare-and-set script the way
// go-redis resends a command after a lost reply: the second run must report
// the write as done and write nothing, even after another writer changed
// the record in between.
func TestApplyScriptResentWrite(t *testing.T) {
	srv := testredis.Start(t, recommendedDirectives...)
	s := openBenchRedis(t, srv, 1000)
	ctx := context.Background()
	pair := s.layout.locate("acct-1", "+12015550101", 3)
	keys := []string{pair.records, pair.audit}
	run := func(current, rec, entry string, index int) any {
		t.Helper()
		res, err := applyScript.Run(ctx, s.client, keys, pair.field, current, rec, entry, index).Result()
		if err != nil {
			t.Fatalf("apply script: %v", err)
		}
		return res
	}

	if got := run("", "r1", "e1", 0); got != int64(1) {
		t.Fatalf("first write returned %v, want 1", got)
	}
	if got := run("", "r1", "e1", 0); got != int64(2) {
		t.Errorf("resent first write returned %v, want 2 (already written)", got)
	}
	if got := run("r1", "r2", "e2", 1); got != int64(1) {
		t.Fatalf("second write returned %v, want 1", got)
	}
	if got := run("", "r1", "e1", 0); got != int64(2) {
		t.Errorf("first write resent after a second write returned %v, want 2", got)
	}
	if got := run("", "r1", "e-other", 0); got != "r2" {
		t.Errorf("stale write returned %v, want the current record r2", got)
	}

	entries, err := s.client.LRange(ctx, pair.audit, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(entries) != "[e1 e2]" {
		t.Errorf("audit list %v, want [e1 e2]", entries)
	}
	rec, err := s.client.HGet(ctx, pair.records, pair.field).Result()
	if err != nil || rec != "r2" {
		t.Errorf("record %q (%v), want r2", rec, err)
	}
}

func TestRedisCorruptRecordReported(t *testing.T) {
	srv := testredis.Start(t, recommendedDirectives...)
	s := openBenchRedis(t, srv, 1000)
	ctx := context.Background()
	ev := Event{Kind: EventStop, Account: "acct-1", Number: "+12015550101", Time: time.Now()}
	if _, err := s.Apply(ctx, ev); err != nil {
		t.Fatal(err)
	}
	buckets, _ := s.cachedBuckets("acct-1")
	pair := s.layout.locate("acct-1", "+12015550101", buckets)
	if err := s.client.HSet(ctx, pair.records, pair.field, "\x00\x99").Err(); err != nil {
		t.Fatal(err)
	}

	if _, err := s.Get(ctx, "acct-1", "+12015550101"); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("Get of a corrupt record: %v, want ErrCorruptRecord", err)
	}
	keys := []Key{{Account: "acct-1", Number: "+12015550101"}}
	if _, err := s.GetMany(ctx, keys); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("GetMany of a corrupt record: %v, want ErrCorruptRecord", err)
	}
	if _, err := s.Apply(ctx, ev); !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("Apply to a corrupt record: %v, want ErrCorruptRecord", err)
	}
	err := s.Records(ctx, "acct-1", func(string, Record) error { return nil })
	if !errors.Is(err, ErrCorruptRecord) {
		t.Errorf("Records over a corrupt record: %v, want ErrCorruptRecord", err)
	}
}

// serverError is an error reply from Redis, as go-redis reports it.
type serverError string

func (e serverError) Error() string { return string(e) }
func (e serverError) RedisError()   {}

func TestClassifyRedisError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want redisErrorClass
	}{
		{nil, redisDone},
		{errConflict, redisConflict},
		{fmt.Errorf("attempt: %w", errConflict), redisConflict},
		{serverError("LOADING Redis is loading the dataset in memory"), redisBusy},
		{serverError("READONLY You can't write against a read only replica."), redisBusy},
		{serverError("TRYAGAIN Multiple keys request during rehashing of slot"), redisBusy},
		{serverError("CLUSTERDOWN The cluster is down"), redisBusy},
		{serverError("MASTERDOWN Link with MASTER is down"), redisBusy},
		{serverError("BUSY Redis is busy running a script."), redisBusy},
		{serverError("OOM command not allowed when used memory > 'maxmemory'."), redisFailed},
		{serverError("NOPERM this user has no permissions"), redisFailed},
		{context.DeadlineExceeded, redisFailed},
		{fmt.Errorf("read: %w", errors.New("connection reset by peer")), redisFailed},
		{ErrCorruptRecord, redisFailed},
	} {
		if got := classifyRedisError(tc.err); got != tc.want {
			t.Errorf("classifyRedisError(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

// TestRedisApplyWaitsOutBusyServer runs a long Lua script, during which
// Redis rejects other scripts with BUSY, and checks that Apply retries
// until the server is free.
func TestRedisApplyWaitsOutBusyServer(t *testing.T) {
	srv := testredis.Start(t, append([]string{"busy-reply-threshold 10"}, recommendedDirectives...)...)
	s, err := OpenRedis(context.Background(), RedisOptions{URL: srv.URL(), Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	ev := Event{Kind: EventHelp, Account: "acct-1", Number: "+12015550101", Time: time.Now()}
	if _, err := s.Apply(ctx, ev); err != nil {
		t.Fatal(err)
	}

	blocker := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = blocker.Close() })
	done := make(chan error, 1)
	go func() {
		done <- blocker.Eval(ctx, "local n = 0 for i = 1, 50000000 do n = n + 1 end return n", nil).Err()
	}()
	// Wait until the script runs: from then on scripts get BUSY.
	for {
		err := s.client.Eval(ctx, "return 1", nil).Err()
		if err != nil && strings.HasPrefix(err.Error(), "BUSY ") {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("long script ended before any BUSY reply was seen: %v", err)
		default:
		}
	}

	if _, err := s.Apply(ctx, ev); err != nil {
		t.Errorf("Apply while redis was busy: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("long script: %v", err)
	}
	h, err := s.History(ctx, "acct-1", "+12015550101")
	if err != nil || len(h) != 2 {
		t.Errorf("history has %d entries (%v), want 2", len(h), err)
	}
}
