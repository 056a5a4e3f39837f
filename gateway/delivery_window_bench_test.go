package gateway

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
)

// jitterTarget is a WindowDeliverer whose responses arrive after a random
// delay of up to maxDelay, in any order, as from an ESME that answers
// deliver_sm from several threads. It records when each seq was accepted.
type jitterTarget struct {
	window   int
	maxDelay time.Duration

	mu       sync.Mutex
	accepted map[uint64]time.Time
}

func (j *jitterTarget) Window() int { return j.window }

func (j *jitterTarget) Deliver(ctx context.Context, it Item) error {
	wait, err := j.Send(ctx, it)
	if err != nil {
		return err
	}
	return wait()
}

func (j *jitterTarget) Send(ctx context.Context, it Item) (func() error, error) {
	done := time.After(rand.N(j.maxDelay))
	return func() error {
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		j.mu.Lock()
		j.accepted[it.Seq] = time.Now()
		j.mu.Unlock()
		return nil
	}, nil
}

// ackTimer is a Queue that records when the Ack of each seq returned and
// how many Ack calls were made.
type ackTimer struct {
	Queue
	mu    sync.Mutex
	acked map[uint64]time.Time
	calls int
	done  chan struct{}
	want  int
}

func (a *ackTimer) Ack(ctx context.Context, queue string, seqs ...uint64) error {
	err := a.Queue.Ack(ctx, queue, seqs...)
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	for _, s := range seqs {
		a.acked[s] = now
	}
	if len(a.acked) == a.want {
		close(a.done)
	}
	return err
}

// benchmarkDispatcherWindow delivers b.N queued items through a window of
// 64 whose responses take up to maxDelay each. It reports the mean time from a
// response to the end of its Ack (ack-wait-µs), which is how long a
// delivered item stays queued and would be sent again after a crash, and
// the Ack calls per item.
func benchmarkDispatcherWindow(b *testing.B, q Queue, maxDelay time.Duration) {
	const batch = 5000
	ctx := context.Background()
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		if _, err := q.Enqueue(ctx, mixedItems(n)); err != nil {
			b.Fatal(err)
		}
	}
	target := &jitterTarget{window: 64, maxDelay: maxDelay, accepted: map[uint64]time.Time{}}
	timer := &ackTimer{Queue: q, acked: map[uint64]time.Time{}, done: make(chan struct{}), want: b.N}
	d, err := NewDispatcher(DispatcherConfig{
		Queue: timer, Targets: TargetFunc(func(string) (Deliverer, bool) { return target, true }),
		MinBackoff: 5 * time.Millisecond, MaxBackoff: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	if err := d.Start(ctx, "acme"); err != nil {
		b.Fatal(err)
	}
	select {
	case <-timer.done:
	case <-time.After(5 * time.Minute):
		b.Fatal("items not acknowledged within 5 minutes")
	}
	b.StopTimer()
	if err := d.Stop(ctx); err != nil {
		b.Fatal(err)
	}

	var wait time.Duration
	for seq, at := range target.accepted {
		wait += timer.acked[seq].Sub(at)
	}
	b.ReportMetric(float64(wait.Microseconds())/float64(b.N), "ack-wait-µs")
	b.ReportMetric(float64(timer.calls)/float64(b.N), "acks/item")
}

// responseDelays are the maximum response delays of the window
// benchmarks: an ESME on the same host, and one across a network.
var responseDelays = []time.Duration{2 * time.Millisecond, 20 * time.Millisecond}

func BenchmarkDispatcherWindowBolt(b *testing.B) {
	for _, delay := range responseDelays {
		b.Run(fmt.Sprintf("response=%v", delay), func(b *testing.B) {
			s, err := OpenBoltStore(filepath.Join(b.TempDir(), "gateway.db"), BoltStoreOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchmarkDispatcherWindow(b, s, delay)
		})
	}
}

var redisBenchRuns int

func BenchmarkDispatcherWindowRedis(b *testing.B) {
	srv := testredis.Start(b)
	for _, delay := range responseDelays {
		b.Run(fmt.Sprintf("response=%v", delay), func(b *testing.B) {
			redisBenchRuns++
			s, err := OpenRedisStore(context.Background(), redis.NewClient(&redis.Options{Addr: srv.Addr}),
				RedisStoreOptions{KeyPrefix: fmt.Sprintf("bench%d:", redisBenchRuns), Consumer: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchmarkDispatcherWindow(b, s, delay)
		})
	}
}
