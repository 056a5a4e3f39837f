package consent_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/optgate/optgate/consent"
)

// benchNumbers returns n distinct test numbers of the form +1 AAA 555 01xx,
// varying the area code, which gives up to 79,000 numbers.
func benchNumbers(n int) []string {
	out := make([]string, 0, n)
	for area := 201; area <= 999 && len(out) < n; area++ {
		if area%100 == 11 || area/100 == 8 && area%111 == 0 {
			continue // N11 service codes and 800, 888 toll-free codes
		}
		for line := 100; line <= 199 && len(out) < n; line++ {
			out = append(out, fmt.Sprintf("+1%d5550%d", area, line))
		}
	}
	return out
}

// benchEngine returns an engine over an embedded store holding an opt-in
// for each number, loaded with ApplyBatch.
func benchEngine(b *testing.B, numbers []string) (*consent.Engine, *consent.BoltStore) {
	b.Helper()
	s, err := consent.OpenBolt(filepath.Join(b.TempDir(), "bench.db"), consent.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for start := 0; start < len(numbers); start += 1000 {
		end := min(start+1000, len(numbers))
		events := make([]consent.Event, 0, end-start)
		for _, n := range numbers[start:end] {
			events = append(events, consent.Event{Kind: consent.EventImport, Import: consent.StateOptedIn,
				Account: acme, Number: n, Source: consent.SourceImport, Time: at})
		}
		if _, err := s.ApplyBatch(context.Background(), events); err != nil {
			b.Fatal(err)
		}
	}
	set, err := consent.NewAccountSet(testAccounts()...)
	if err != nil {
		b.Fatal(err)
	}
	e, err := consent.NewEngine(s, set, consent.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return e, s
}

const benchRecords = 50_000

// cpuMeter reports the process CPU time per decision as "cpu-ns/decision"
// and its inverse, "decisions/cpu-s".
type cpuMeter struct {
	start time.Duration
	ok    bool
}

func startCPU() cpuMeter {
	d, ok := processCPU()
	return cpuMeter{start: d, ok: ok}
}

func (m cpuMeter) report(b *testing.B, decisions int) {
	end, ok := processCPU()
	if !m.ok || !ok || decisions == 0 {
		return
	}
	perDecision := float64(end-m.start) / float64(decisions)
	b.ReportMetric(perDecision, "cpu-ns/decision")
	b.ReportMetric(1e9/perDecision, "decisions/cpu-s")
}

func benchMTs(numbers []string) []consent.MT {
	mts := make([]consent.MT, len(numbers))
	for i, n := range numbers {
		mts[i] = consent.MT{Account: acme, From: tfAcme, To: n}
	}
	return mts
}

// BenchmarkCheckMTEmbedded measures one MT decision on the embedded store
// with 50,000 opted-in numbers. Run it with -cpu 1 for the per-core rate,
// and see BenchmarkCheckMTEmbeddedParallel for all cores. On a shared
// machine, cpu-ns/decision is the figure to read: ns/op includes the time
// other processes held the core.
func BenchmarkCheckMTEmbedded(b *testing.B) {
	numbers := benchNumbers(benchRecords)
	e, _ := benchEngine(b, numbers)
	mts := benchMTs(numbers)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		if d := e.CheckMT(ctx, mts[i%len(mts)]); !d.Allowed {
			b.Fatalf("blocked: %+v", d)
		}
		i++
	}
	cpu.report(b, b.N)
}

func BenchmarkCheckMTEmbeddedParallel(b *testing.B) {
	numbers := benchNumbers(benchRecords)
	e, _ := benchEngine(b, numbers)
	mts := benchMTs(numbers)
	ctx := context.Background()
	var worker atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine starts at its own place in the numbers.
		i := int(worker.Add(1)) * 7919
		for pb.Next() {
			if d := e.CheckMT(ctx, mts[i%len(mts)]); !d.Allowed {
				b.Errorf("blocked: %+v", d)
				return
			}
			i++
		}
	})
	cpu.report(b, b.N)
}

// BenchmarkCheckMTBatchEmbedded measures batches of 100 MTs; ns/op is per
// batch.
func BenchmarkCheckMTBatchEmbedded(b *testing.B) {
	numbers := benchNumbers(benchRecords)
	e, _ := benchEngine(b, numbers)
	mts := benchMTs(numbers)
	ctx := context.Background()
	const size = 100
	i := 0
	b.ReportAllocs()
	cpu := startCPU()
	for b.Loop() {
		start := (i * size) % (len(mts) - size)
		for _, d := range e.CheckMTBatch(ctx, mts[start:start+size]) {
			if !d.Allowed {
				b.Fatalf("blocked: %+v", d)
			}
		}
		i++
	}
	cpu.report(b, b.N*size)
}

// BenchmarkHandleMOEmbedded measures a HELP MO, which writes a record and
// an audit entry and waits for the fsync.
func BenchmarkHandleMOEmbedded(b *testing.B) {
	numbers := benchNumbers(1000)
	e, _ := benchEngine(b, numbers)
	ctx := context.Background()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		_, err := e.HandleMO(ctx, consent.MO{From: numbers[i%len(numbers)], To: tfAcme, Text: "HELP"})
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkRecordMarshal(b *testing.B) {
	r := consent.Record{State: consent.StateOptedIn, Requests: 2,
		RequestFrom: [2]string{tfAcme, tfAcme2}, RequestSeq: [2]uint32{1, 2}, Seq: 3, Updated: time.Now()}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = r.AppendBinary(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecordUnmarshal(b *testing.B) {
	enc, _ := consent.Record{State: consent.StateOptedIn, Requests: 2,
		RequestFrom: [2]string{tfAcme, tfAcme2}, RequestSeq: [2]uint32{1, 2}, Seq: 3, Updated: time.Now()}.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		var r consent.Record
		if err := r.UnmarshalBinary(enc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandleMOEmbeddedParallel measures HELP MOs from many goroutines
// at once (8 per core), as when a campaign draws many replies.
func BenchmarkHandleMOEmbeddedParallel(b *testing.B) {
	numbers := benchNumbers(1000)
	e, _ := benchEngine(b, numbers)
	ctx := context.Background()
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := numbers[int(next.Add(1))%len(numbers)]
			if _, err := e.HandleMO(ctx, consent.MO{From: n, To: tfAcme, Text: "HELP"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkOpenBolt measures opening a store of 50,000 records, which loads
// every record into memory, and reports the heap the loaded records use.
func BenchmarkOpenBolt(b *testing.B) {
	numbers := benchNumbers(benchRecords)
	_, s := benchEngine(b, numbers)
	path := filepath.Join(b.TempDir(), "copy.db")
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	src, err := os.ReadFile(s.Path())
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(path, src, 0o600); err != nil {
		b.Fatal(err)
	}
	var heap uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		s, err := consent.OpenBolt(path, consent.BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = after.HeapAlloc - before.HeapAlloc
		s.Close()
	}
	b.ReportMetric(float64(heap)/benchRecords, "heap-B/record")
}
