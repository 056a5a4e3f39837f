package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestHistogramEmpty(t *testing.T) {
	var h Histogram
	if h.Count() != 0 || h.Quantile(0.5) != 0 || h.Max() != 0 || h.Mean() != 0 {
		t.Errorf("empty histogram: count %d p50 %v max %v mean %v, want all 0",
			h.Count(), h.Quantile(0.5), h.Max(), h.Mean())
	}
}

func TestHistogramSmallValuesExact(t *testing.T) {
	var h Histogram
	for v := range 100 {
		h.Record(time.Duration(v + 1)) // 1ns to 100ns, each in its own bucket
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{
		{0, 1}, {0.01, 1}, {0.5, 50}, {0.9, 90}, {0.99, 99}, {0.999, 100}, {1, 100},
	}
	for _, tt := range tests {
		if got := h.Quantile(tt.q); got != tt.want {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if h.Min() != 1 || h.Max() != 100 {
		t.Errorf("min %v max %v, want 1ns and 100ns", h.Min(), h.Max())
	}
	if h.Mean() != 50 { // 50.5 truncated
		t.Errorf("mean %v, want 50ns", h.Mean())
	}
}

func TestHistogramNegativeCountsAsZero(t *testing.T) {
	var h Histogram
	h.Record(-time.Second)
	if h.Count() != 1 || h.Max() != 0 || h.Quantile(1) != 0 {
		t.Errorf("count %d max %v p100 %v, want 1, 0 and 0", h.Count(), h.Max(), h.Quantile(1))
	}
}

func TestHistogramLargestValue(t *testing.T) {
	var h Histogram
	h.Record(time.Duration(math.MaxInt64))
	if got := h.Quantile(0.5); got != time.Duration(math.MaxInt64) {
		t.Errorf("p50 of the int64 maximum: got %d", got)
	}
}

// TestHistogramBucketsContiguous checks that every bucket starts one past
// the end of the previous one, so no value falls between buckets.
func TestHistogramBucketsContiguous(t *testing.T) {
	for i := 1; i < histBuckets; i++ {
		lower := histUpper(i-1) + 1
		if got := histIndex(lower); got != i {
			t.Fatalf("value %d, one past bucket %d, is in bucket %d, want %d", lower, i-1, got, i)
		}
		if got := histIndex(histUpper(i)); got != i {
			t.Fatalf("the upper bound %d of bucket %d is in bucket %d", histUpper(i), i, got)
		}
	}
	if histUpper(histBuckets-1) != math.MaxInt64 {
		t.Errorf("the last bucket ends at %d, want the int64 maximum", histUpper(histBuckets-1))
	}
}

// TestHistogramQuantileError compares the quantiles with the exact ones
// of the sorted values: each is at or above the exact value and less than
// 1/128 above it.
func TestHistogramQuantileError(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		values := rapid.SliceOfN(rapid.Int64Range(0, int64(time.Hour)), 1, 500).Draw(t, "values")
		q := rapid.Float64Range(0, 1).Draw(t, "q")
		var h Histogram
		for _, v := range values {
			h.Record(time.Duration(v))
		}
		sorted := slices.Clone(values)
		slices.Sort(sorted)
		rank := max(int(math.Ceil(q*float64(len(sorted)))), 1)
		exact := sorted[rank-1]
		got := int64(h.Quantile(q))
		if got < exact {
			t.Fatalf("Quantile(%v) = %d, below the exact %d", q, got, exact)
		}
		if float64(got-exact) > float64(exact)/128 {
			t.Fatalf("Quantile(%v) = %d, more than 1/128 above the exact %d", q, got, exact)
		}
		if h.Max() != time.Duration(sorted[len(sorted)-1]) {
			t.Fatalf("Max = %d, want %d", h.Max(), sorted[len(sorted)-1])
		}
	})
}

func TestHistogramMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b, all Histogram
	for i := range 2000 {
		d := time.Duration(rng.Int64N(int64(50 * time.Millisecond)))
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	var merged Histogram
	merged.Merge(&a)
	merged.Merge(&b)
	merged.Merge(&Histogram{}) // an empty one changes nothing
	if merged.Count() != all.Count() || merged.Max() != all.Max() || merged.Min() != all.Min() {
		t.Errorf("merged count %d max %v min %v, want %d %v %v",
			merged.Count(), merged.Max(), merged.Min(), all.Count(), all.Max(), all.Min())
	}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		if merged.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged Quantile(%v) = %v, want %v", q, merged.Quantile(q), all.Quantile(q))
		}
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := time.Duration(0)
	for b.Loop() {
		h.Record(d)
		d += 997
	}
}
