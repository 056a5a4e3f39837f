package gateway

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestRedisLoggerRateLimited(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	l := newRedisLogger(zap.New(core), 5*time.Second, func() time.Time { return now })

	for i := range 3 {
		l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts", i+1)
		now = now.Add(time.Second)
	}
	now = now.Add(3 * time.Second)
	l.Printf(context.Background(), "redis: connection pool: failed to dial after %d attempts", 4)

	entries := logs.All()
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2 (the first line, then one after 5 s)", len(entries))
	}
	for _, e := range entries {
		if e.Level != zapcore.WarnLevel {
			t.Errorf("entry %q at %v, want warn", e.Message, e.Level)
		}
	}
	first, second := entries[0].ContextMap(), entries[1].ContextMap()
	if first["detail"] != "connection pool: failed to dial after 1 attempts" {
		t.Errorf("first detail %q, want the line without its redis: prefix", first["detail"])
	}
	if _, ok := first["lines_dropped"]; ok {
		t.Errorf("first entry has lines_dropped %v, want none", first["lines_dropped"])
	}
	if second["detail"] != "connection pool: failed to dial after 4 attempts" || second["lines_dropped"] != int64(2) {
		t.Errorf("second entry %v, want attempt 4 with lines_dropped 2", second)
	}
}

// TestRedisDialFailureLoggedThroughZap makes the go-redis client fail to
// dial a closed loopback port and checks that its log line reaches zap.
func TestRedisDialFailureLoggedThroughZap(t *testing.T) {
	core, logs := observer.New(zap.DebugLevel)
	RouteRedisLogs(zap.New(core).Named("redis"))
	t.Cleanup(func() { RouteRedisLogs(zap.NewNop()) })

	// A port just closed has no listener.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	rdb := redis.NewClient(&redis.Options{Addr: addr,
		DialerRetries: 1, MaxRetries: -1, DialTimeout: time.Second})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}

	var found bool
	for _, e := range logs.All() {
		detail, _ := e.ContextMap()["detail"].(string)
		if e.LoggerName == "redis" && e.Level == zapcore.WarnLevel && strings.Contains(detail, "failed to dial") {
			found = true
		}
	}
	if !found {
		t.Errorf("no warn entry from logger redis with the dial failure; entries: %v", logs.All())
	}
}
