// Package bench measures the chatbot service under load: a load driver for
// HTTP keep-alive users, a receiver that counts outgoing deliveries, the
// floors each stage is compared with (bare HTTP, bbolt puts, brute-force
// retrieval), process statistics from /proc and a generator of synthetic
// knowledge bases. The `chatbot bench` command strings them together.
package bench

import (
	"slices"
	"time"
)

// Latency summarises a set of durations.
type Latency struct {
	Count int
	Mean  time.Duration
	P50   time.Duration
	P95   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize sorts samples in place and returns their percentiles
// (nearest-rank). An empty set summarises to zeros.
func Summarize(samples []time.Duration) Latency {
	if len(samples) == 0 {
		return Latency{}
	}
	slices.Sort(samples)
	var sum time.Duration
	for _, d := range samples {
		sum += d
	}
	return Latency{
		Count: len(samples),
		Mean:  sum / time.Duration(len(samples)),
		P50:   percentile(samples, 50),
		P95:   percentile(samples, 95),
		P99:   percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// percentile is the nearest-rank percentile of sorted samples.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// ms formats a duration as milliseconds with two decimals.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
