package consent

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
)

// BenchmarkRedisApplySentinel measures Apply on a Sentinel master with
// and without waiting for the replica, which shows the cost of WAIT 1.
// Master and replica run on the same host, so the replica's round trip
// is a loopback one and the cost on a network is higher.
func BenchmarkRedisApplySentinel(b *testing.B) {
	g := testredis.StartSentinel(b, recommendedDirectives...)
	numbers := sparseNumbers(rand.New(rand.NewPCG(9, 10)), 10_000)
	now := time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
	help := func(i int64) Event {
		return Event{Kind: EventHelp, Account: "acct-1", Number: numbers[i%int64(len(numbers))],
			TollFree: "+18885550100", Text: "HELP", Source: SourceSMPP, Time: now}
	}
	for _, wait := range []int{0, 1} {
		s, err := OpenRedis(context.Background(), RedisOptions{
			Universal:       &redis.UniversalOptions{Addrs: g.Addrs(), MasterName: g.MasterName},
			ExpectedRecords: len(numbers),
			KeyPrefix:       fmt.Sprintf("bench%d:", wait),
			WaitReplicas:    wait,
		})
		if err != nil {
			b.Fatalf("open redis store: %v", err)
		}
		b.Cleanup(func() { _ = s.Close() })
		ctx := context.Background()

		b.Run(fmt.Sprintf("Wait%d/Sequential", wait), func(b *testing.B) {
			var i int64
			for b.Loop() {
				if _, err := s.Apply(ctx, help(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("Wait%d/Parallel", wait), func(b *testing.B) {
			var next atomic.Int64
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Apply(ctx, help(next.Add(1))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
