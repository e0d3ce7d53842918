package webhook

import "time"

// The dispatcher's back-off while the store fails: 1 s, doubling to 1 min.
const (
	storeBackoffBase = time.Second
	storeBackoffCap  = time.Minute
)

// storeBackoff spaces the retries of a loop whose storage calls fail, so a
// damaged database costs one log line per step instead of a busy loop. The
// zero value is "not failing".
type storeBackoff struct {
	failures int
	step     time.Duration
	until    time.Time
}

// fail notes a failure at now and returns how long to wait.
func (b *storeBackoff) fail(now time.Time) time.Duration {
	b.failures++
	if b.step == 0 {
		b.step = storeBackoffBase
	} else {
		b.step = min(2*b.step, storeBackoffCap)
	}
	b.until = now.Add(b.step)
	return b.step
}

// remaining is how much of the current wait is left at now (0: try again).
func (b *storeBackoff) remaining(now time.Time) time.Duration {
	if b.failures == 0 {
		return 0
	}
	return max(b.until.Sub(now), 0)
}
