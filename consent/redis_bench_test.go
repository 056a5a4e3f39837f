package consent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/optgate/optgate/internal/testredis"
)

// recommendedDirectives are the redis-server settings the store documents.
var recommendedDirectives = []string{
	fmt.Sprintf("hash-max-listpack-entries %d", RedisListpackEntries),
	fmt.Sprintf("hash-max-listpack-value %d", RedisListpackValue),
}

// loadBatch is how many bucket hashes one pipeline fills during a bulk
// load.
const loadBatch = 256

// loadRedisRecords writes rec(i) for numbers[i] straight into the bucket
// hashes of the account: one HSET per bucket, loadBatch buckets per
// pipeline. It writes no audit entries, so it is only for measuring
// records and for benchmarks.
func loadRedisRecords(ctx context.Context, s *RedisStore, account string, numbers []string, rec func(i int) Record) error {
	buckets, err := s.claimBuckets(ctx, account)
	if err != nil {
		return err
	}
	values := make([][]any, buckets)
	for i, n := range numbers {
		pair := s.layout.locate(account, n, buckets)
		b, err := appendRedisRecord(nil, rec(i))
		if err != nil {
			return err
		}
		values[pair.bucket] = append(values[pair.bucket], pair.field, b)
	}
	pipe := s.client.Pipeline()
	for bucket, fieldValues := range values {
		if len(fieldValues) > 0 {
			pipe.HSet(ctx, s.layout.recordsKey(account, uint32(bucket)), fieldValues...)
		}
		if pipe.Len() == loadBatch || bucket == len(values)-1 {
			if _, err := pipe.Exec(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

func openBenchRedis(tb testing.TB, srv *testredis.Server, expected int) *RedisStore {
	tb.Helper()
	s, err := OpenRedis(context.Background(), RedisOptions{URL: srv.URL(), ExpectedRecords: expected})
	if err != nil {
		tb.Fatalf("open redis store: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// usedMemory returns used_memory from INFO memory.
func usedMemory(tb testing.TB, s *RedisStore) int64 {
	tb.Helper()
	info, err := s.client.Info(context.Background(), "memory").Result()
	if err != nil {
		tb.Fatalf("INFO memory: %v", err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				tb.Fatalf("used_memory %q: %v", v, err)
			}
			return n
		}
	}
	tb.Fatalf("INFO memory has no used_memory line")
	return 0
}

// denseNumbers returns count consecutive numbers from +12015550000 on.
func denseNumbers(count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = "+1201" + strconv.Itoa(5550000+i)
	}
	return out
}

// ukMobileNumbers returns count distinct random UK mobile numbers, which
// have 12 digits.
func ukMobileNumbers(rng *rand.Rand, count int) []string {
	seen := make(map[string]bool, count)
	out := make([]string, 0, count)
	for len(out) < count {
		n := fmt.Sprintf("+447%09d", rng.IntN(1_000_000_000))
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// TestRedisMemoryPerRecord loads a million records per case and reports
// the Redis memory each costs, from used_memory before and after. It runs
// only with OPTGATE_REDIS_MEMORY=1 because it loads eight million records
// and takes minutes. OPTGATE_REDIS_MEMORY_RECORDS sets another count per
// case, such as 10000000 to check that the cost per record stays flat.
func TestRedisMemoryPerRecord(t *testing.T) {
	if os.Getenv("OPTGATE_REDIS_MEMORY") != "1" {
		t.Skip("set OPTGATE_REDIS_MEMORY=1 to measure Redis memory per record")
	}
	count := 1_000_000
	if v := os.Getenv("OPTGATE_REDIS_MEMORY_RECORDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			t.Fatalf("OPTGATE_REDIS_MEMORY_RECORDS is %q; want a whole number of at least 1000", v)
		}
		count = n
	}
	const budget = 32.0
	rng := rand.New(rand.NewPCG(3, 4))
	sparse := sparseNumbers(rng, count)
	dense := denseNumbers(count)
	uk := ukMobileNumbers(rng, count)
	records := commonRecords(t)
	srv := testredis.Start(t, recommendedDirectives...)

	cases := []struct {
		name     string
		numbers  []string
		state    string
		expected int
		budget   bool
	}{
		{"sparse US/requested once", sparse, "requested once", count, true},
		{"sparse US/opted in, one request", sparse, "opted in, one request", count, true},
		{"sparse US/opted in, two requests", sparse, "opted in, two requests", count, true},
		{"sparse US/opted out, no request", sparse, "opted out, no request", count, true},
		{"dense US/opted in, one request", dense, "opted in, one request", count, true},
		{"sparse UK/opted in, one request", uk, "opted in, one request", count, true},
		{"sparse US, load 128/opted in, one request", sparse, "opted in, one request", count / 2, false},
		{"sparse US, load 32/opted in, one request", sparse, "opted in, one request", count * 2, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openBenchRedis(t, srv, tc.expected)
			ctx := context.Background()
			if err := s.client.FlushAll(ctx).Err(); err != nil {
				t.Fatal(err)
			}
			if err := s.checkFormat(ctx); err != nil {
				t.Fatal(err)
			}
			rec := records[tc.state]
			before := usedMemory(t, s)
			start := time.Now()
			if err := loadRedisRecords(ctx, s, "acct-1", tc.numbers, func(int) Record { return rec }); err != nil {
				t.Fatalf("load: %v", err)
			}
			loadTime := time.Since(start)
			perRecord := float64(usedMemory(t, s)-before) / float64(count)
			buckets, _ := s.cachedBuckets("acct-1")
			converted := convertedBuckets(t, s, "acct-1", buckets)
			encoded, _ := appendRedisRecord(nil, rec)
			fullest := slices.Max(bucketLoads(tc.numbers, buckets))
			t.Logf("%.1f bytes per record (value %d bytes, %d buckets, fullest %d, %d not listpack, loaded in %s)",
				perRecord, len(encoded), buckets, fullest, converted, loadTime.Round(time.Millisecond))
			if tc.budget && perRecord > budget {
				t.Errorf("%.1f bytes per record, above the %.0f-byte budget", perRecord, budget)
			}
			if converted != 0 {
				t.Errorf("%d buckets left the listpack encoding", converted)
			}
		})
	}

	t.Run("audit entries", func(t *testing.T) {
		s := openBenchRedis(t, srv, count)
		ctx := context.Background()
		if err := s.client.FlushAll(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.checkFormat(ctx); err != nil {
			t.Fatal(err)
		}
		const numbers = 10_000
		before := usedMemory(t, s)
		now := time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
		for i, n := range sparse[:numbers] {
			for _, kind := range []EventKind{EventRequest, EventYes} {
				ev := Event{Kind: kind, Account: "acct-1", Number: n, TollFree: "+18885550100",
					Text:       "Acme Dental: reply YES to get appointment reminders, STOP to opt out. Msg&data rates may apply.",
					ReplyText:  "Acme Dental: you are subscribed. Reply HELP for help, STOP to opt out.",
					MessageIDs: []string{fmt.Sprintf("msg-%d-%d", i, kind)}, Source: SourceSMPP, Time: now}
				if kind == EventYes {
					ev.Text = "YES"
				}
				if _, err := s.Apply(ctx, ev); err != nil {
					t.Fatalf("apply: %v", err)
				}
			}
		}
		perNumber := float64(usedMemory(t, s)-before) / numbers
		t.Logf("request + YES with audit entries: %.0f bytes per number (record and two audit entries)", perNumber)
	})
}

// convertedBuckets counts the account's bucket hashes that Redis no longer
// keeps as a listpack.
func convertedBuckets(t *testing.T, s *RedisStore, account string, buckets uint32) int {
	t.Helper()
	ctx := context.Background()
	pipe := s.client.Pipeline()
	for b := range buckets {
		pipe.ObjectEncoding(ctx, s.layout.recordsKey(account, b))
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil && !errors.Is(err, redis.Nil) {
		t.Fatalf("OBJECT ENCODING: %v", err)
	}
	converted := 0
	for _, c := range cmds {
		if v, _ := c.(interface{ Val() string }); v != nil && v.Val() != "listpack" {
			converted++
		}
	}
	return converted
}

// benchRedisRecords is how many opted-in records the decision benchmarks
// load.
const benchRedisRecords = 100_000

// BenchmarkRedisDecisions measures MT decision reads against a local
// redis-server holding benchRedisRecords records. Each sub-benchmark
// reports decisions/s: records read per second of wall time.
func BenchmarkRedisDecisions(b *testing.B) {
	srv := testredis.Start(b, recommendedDirectives...)
	s := openBenchRedis(b, srv, benchRedisRecords)
	numbers := sparseNumbers(rand.New(rand.NewPCG(5, 6)), benchRedisRecords)
	optedIn := commonRecords(b)["opted in, one request"]
	ctx := context.Background()
	if err := loadRedisRecords(ctx, s, "acct-1", numbers, func(int) Record { return optedIn }); err != nil {
		b.Fatalf("load: %v", err)
	}
	check := func(b *testing.B, r Record) {
		if r.State != StateOptedIn {
			b.Fatalf("read state %s, want opted_in", r.State)
		}
	}

	b.Run("Get", func(b *testing.B) {
		i := 0
		cpu := startCPUMeter(b, s)
		for b.Loop() {
			r, err := s.Get(ctx, "acct-1", numbers[i%len(numbers)])
			if err != nil {
				b.Fatal(err)
			}
			check(b, r)
			i++
		}
		reportDecisions(b, 1)
		cpu.report(b, b.N)
	})
	b.Run("GetParallel", func(b *testing.B) {
		var next atomic.Int64
		b.SetParallelism(16)
		cpu := startCPUMeter(b, s)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				r, err := s.Get(ctx, "acct-1", numbers[next.Add(1)%int64(len(numbers))])
				if err != nil {
					b.Error(err)
					return
				}
				check(b, r)
			}
		})
		reportDecisions(b, 1)
		cpu.report(b, b.N)
	})
	for _, batch := range []int{10, 100, 1000} {
		keys := make([]Key, batch)
		b.Run(fmt.Sprintf("GetMany/batch=%d", batch), func(b *testing.B) {
			i := 0
			cpu := startCPUMeter(b, s)
			for b.Loop() {
				for j := range keys {
					keys[j] = Key{Account: "acct-1", Number: numbers[(i+j)%len(numbers)]}
				}
				recs, err := s.GetMany(ctx, keys)
				if err != nil {
					b.Fatal(err)
				}
				check(b, recs[batch-1])
				i += batch
			}
			reportDecisions(b, batch)
			cpu.report(b, b.N*batch)
		})
	}
	b.Run("GetManyParallel/batch=100", func(b *testing.B) {
		const batch = 100
		var next atomic.Int64
		b.SetParallelism(4)
		cpu := startCPUMeter(b, s)
		b.RunParallel(func(pb *testing.PB) {
			keys := make([]Key, batch)
			for pb.Next() {
				first := int(next.Add(batch))
				for j := range keys {
					keys[j] = Key{Account: "acct-1", Number: numbers[(first+j)%len(numbers)]}
				}
				recs, err := s.GetMany(ctx, keys)
				if err != nil {
					b.Error(err)
					return
				}
				check(b, recs[0])
			}
		})
		reportDecisions(b, batch)
		cpu.report(b, b.N*batch)
	})
}

func reportDecisions(b *testing.B, perOp int) {
	b.ReportMetric(float64(b.N*perOp)/b.Elapsed().Seconds(), "decisions/s")
}

// cpuMeter measures the CPU time the benchmark process and redis-server
// spend, so that a benchmark can report the cost per decision, which on a
// busy machine is steadier than wall-clock throughput.
type cpuMeter struct {
	s              *RedisStore
	client, server time.Duration
}

func startCPUMeter(b *testing.B, s *RedisStore) cpuMeter {
	b.Helper()
	return cpuMeter{s: s, client: processCPU(b), server: serverCPU(b, s)}
}

// report adds client-cpu-ns/decision and server-cpu-ns/decision to the
// benchmark's output. On a machine with one core for each, the larger of
// the two bounds the throughput at 1e9 / ns decisions per second.
func (m cpuMeter) report(b *testing.B, decisions int) {
	b.Helper()
	client := processCPU(b) - m.client
	server := serverCPU(b, m.s) - m.server
	b.ReportMetric(float64(client.Nanoseconds())/float64(decisions), "client-cpu-ns/decision")
	b.ReportMetric(float64(server.Nanoseconds())/float64(decisions), "server-cpu-ns/decision")
}

// processCPU returns the user and system CPU time of this process.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverCPU returns used_cpu_user + used_cpu_sys from INFO cpu.
func serverCPU(b *testing.B, s *RedisStore) time.Duration {
	info, err := s.client.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatalf("INFO cpu: %v", err)
	}
	var total float64
	for line := range strings.SplitSeq(info, "\r\n") {
		name, v, _ := strings.Cut(line, ":")
		if name == "used_cpu_user" || name == "used_cpu_sys" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatalf("INFO cpu %s %q: %v", name, v, err)
			}
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkRedisApply measures Apply (read, Step, compare-and-set script)
// of HELP events, which append an audit entry each, spread over many
// numbers.
func BenchmarkRedisApply(b *testing.B) {
	srv := testredis.Start(b, recommendedDirectives...)
	s := openBenchRedis(b, srv, benchRedisRecords)
	numbers := sparseNumbers(rand.New(rand.NewPCG(7, 8)), 10_000)
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC)
	help := func(i int64) Event {
		return Event{Kind: EventHelp, Account: "acct-1", Number: numbers[i%int64(len(numbers))],
			TollFree: "+18885550100", Text: "HELP", Source: SourceSMPP, Time: now}
	}
	b.Run("Sequential", func(b *testing.B) {
		var i int64
		for b.Loop() {
			if _, err := s.Apply(ctx, help(i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("Parallel", func(b *testing.B) {
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

func BenchmarkRedisRecordEncode(b *testing.B) {
	r := commonRecords(b)["opted in, two requests"]
	buf := make([]byte, 0, maxRedisRecordBytes)
	for b.Loop() {
		var err error
		if buf, err = appendRedisRecord(buf[:0], r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRedisRecordDecode(b *testing.B) {
	enc, err := appendRedisRecord(nil, commonRecords(b)["opted in, two requests"])
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := decodeRedisRecord(enc); err != nil {
			b.Fatal(err)
		}
	}
}
