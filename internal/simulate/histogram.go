package simulate

import (
	"math"
	"sync"
	"time"
)

// Histogram counts durations in logarithmic buckets 2% wide, from a
// microsecond to an hour and a half: its memory is fixed whatever the
// number of samples, and a percentile is exact to within 2%.
type Histogram struct {
	mu     sync.Mutex
	counts [histBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

const (
	histGrowth  = 1.02
	histBuckets = 1200 // 1.02^1200 µs ≈ 5.2e10 µs ≈ 14 h
)

var histLogGrowth = math.Log(histGrowth)

func bucketOf(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	i := int(math.Log(us)/histLogGrowth) + 1
	return min(i, histBuckets-1)
}

// bucketTop is the upper bound of bucket i.
func bucketTop(i int) time.Duration {
	return time.Duration(math.Pow(histGrowth, float64(i)) * float64(time.Microsecond))
}

// Add records one sample; a negative one (clocks of two machines) counts
// as zero.
func (h *Histogram) Add(d time.Duration) {
	d = max(d, 0)
	h.mu.Lock()
	h.counts[bucketOf(d)]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
	h.mu.Unlock()
}

// Count returns the number of samples.
func (h *Histogram) Count() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// Quantile returns the duration below which a share q (0 to 1) of the
// samples fall, or 0 without samples.
func (h *Histogram) Quantile(q float64) time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.quantile(q)
}

func (h *Histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketTop(i), h.max)
		}
	}
	return h.max
}

// Stats are a histogram's figures.
type Stats struct {
	Count              uint64
	Mean               time.Duration
	P50, P90, P99, Max time.Duration
}

// Stats returns the histogram's figures.
func (h *Histogram) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := Stats{Count: h.n, Max: h.max, P50: h.quantile(0.5), P90: h.quantile(0.9), P99: h.quantile(0.99)}
	if h.n > 0 {
		s.Mean = h.sum / time.Duration(h.n)
	}
	return s
}
