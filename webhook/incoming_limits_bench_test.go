package webhook

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkIncomingRateTake is the incoming path's rate check: one take per
// request, over a thousand integrations.
func BenchmarkIncomingRateTake(b *testing.B) {
	l := newRateLimiter(1<<30, maxLimiterKeys, time.Now)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		l.take(strconv.FormatUint(uint64(i%1000+1), 10))
	}
}
