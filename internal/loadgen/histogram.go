package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// The histogram is log-linear, as HDR histograms are: values below
// 2*histHalf each have their own bucket, and every power-of-two range above
// that is cut into histHalf equal buckets. A bucket's width is therefore at
// most 1/histHalf of its lower bound, so a reported percentile is at most
// 0.8% above the recorded value it stands for.
const (
	histSubBits = 8
	histSub     = 1 << histSubBits // exact buckets below this value
	histHalf    = histSub / 2      // buckets per power of two above it
	// histBuckets covers every non-negative int64: the largest has 63
	// bits, so the largest shift in histIndex is 63 - histSubBits.
	histBuckets = histSub + (63-histSubBits)*histHalf
)

// Histogram counts durations in log-linear buckets with a relative error
// below 1/128 (0.8%). The zero value is empty and ready to use. A
// Histogram is not safe for concurrent use: give each goroutine its own and
// Merge them.
type Histogram struct {
	counts   []uint64 // allocated on the first Record
	total    uint64
	sum      float64 // nanoseconds, for the mean
	min, max int64
}

// histIndex returns the bucket of v, which must not be negative.
func histIndex(v int64) int {
	if v < histSub {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - histSubBits
	top := int(v >> shift) // in [histHalf, histSub)
	return histSub + (shift-1)*histHalf + top - histHalf
}

// histUpper returns the largest value bucket i holds.
func histUpper(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	shift := (i-histSub)/histHalf + 1
	top := uint64((i-histSub)%histHalf + histHalf)
	upper := (top+1)<<shift - 1
	if upper > math.MaxInt64 { // the last bucket ends at the int64 maximum
		return math.MaxInt64
	}
	return int64(upper)
}

// Record adds one duration. A negative duration counts as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	h.counts[histIndex(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

// Merge adds every value recorded in o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.total == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, histBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.total += o.total
	h.sum += o.sum
}

// Count returns the number of values recorded.
func (h *Histogram) Count() uint64 { return h.total }

// Max returns the largest value recorded, exactly, or 0 when empty.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest value recorded, exactly, or 0 when empty.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the exact mean of the values recorded, or 0 when empty.
func (h *Histogram) Mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}

// Quantile returns the value below or at which a fraction q of the
// recorded values lie, for q between 0 and 1: the upper bound of the
// bucket holding the value of rank ceil(q*count), capped at Max. It
// returns 0 when the histogram is empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := uint64(math.Ceil(q * float64(h.total)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return time.Duration(min(max(histUpper(i), h.min), h.max))
		}
	}
	return time.Duration(h.max)
}
