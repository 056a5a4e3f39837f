package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// redisLogInterval is the least time between two go-redis log lines. A
// Redis outage makes the client log every failed dial of every pool
// connection, and one line per interval carries the same information.
const redisLogInterval = 5 * time.Second

// RouteRedisLogs sends the log lines of the go-redis client, which it
// otherwise writes to stderr, to logger at Warn level, at most one per
// 5 s. go-redis keeps one logger for the whole process, so the last call
// wins; the daemon calls it when it opens a Redis store.
func RouteRedisLogs(logger *zap.Logger) {
	redis.SetLogger(newRedisLogger(logger, redisLogInterval, time.Now))
}

// redisLogger implements go-redis's logging interface (Printf) on zap.
// Lines that come within the interval of the last one written are
// dropped and counted; the next line written carries the count.
type redisLogger struct {
	log   *zap.Logger
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	next    time.Time // when the next line may be written
	dropped int
}

func newRedisLogger(logger *zap.Logger, every time.Duration, now func() time.Time) *redisLogger {
	return &redisLogger{log: logger, every: every, now: now}
}

// Printf writes one go-redis log line, unless one was written less than
// the interval ago.
func (l *redisLogger) Printf(_ context.Context, format string, v ...any) {
	l.mu.Lock()
	now := l.now()
	if now.Before(l.next) {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.next = now.Add(l.every)
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()

	// go-redis starts its lines with "redis: "; the logger's name says it.
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	fields := []zap.Field{zap.String("detail", msg)}
	if dropped > 0 {
		fields = append(fields, zap.Int("lines_dropped", dropped))
	}
	l.log.Warn("redis client", fields...)
}
