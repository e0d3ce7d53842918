package bench

import (
	"context"
	"time"
)

// clock is the pacer's time source: the real one, or a fake in tests so that
// the send times of a schedule can be checked exactly without sleeping.
type clock interface {
	Now() time.Time
	// After delivers once d has passed.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Schedule is an open loop's plan: request n is due n/Rate seconds after the
// start, evenly spaced, while that is before Duration (when positive) and n
// is below Count (when positive). The send times come from the plan alone,
// never from earlier answers, so slow answers do not slow the offer.
type Schedule struct {
	Rate     float64 // requests per second; must be positive
	Duration time.Duration
	Count    int
	// Slack is how late a request may start and still count as on time.
	Slack time.Duration
}

// Due is when request n is due, from the start of the schedule.
func (s Schedule) Due(n int) time.Duration {
	return time.Duration(float64(n) * float64(time.Second) / s.Rate)
}

// PaceStats is what the pacer did with the schedule.
type PaceStats struct {
	Offered int // requests the schedule called for before it ended
	Started int // of them, started (on time or late)
	// Late were started more than Slack after their due time (the tool
	// itself fell behind); MaxLate is the worst delay.
	Late    int
	MaxLate time.Duration
	// NotSent were due while every in-flight slot was busy: dropped, not
	// queued, so the tool's memory and the offer stay bounded.
	NotSent int
}

// defaultSlack is how late a paced request may start and still be on time:
// well under the 1 s the lag goal allows, above the scheduler's jitter on a
// busy machine.
const defaultSlack = 10 * time.Millisecond

// pace walks the schedule on c. At each request's due time it calls
// start(n, due), which starts the request without waiting for it and
// returns false when it could not (no free in-flight slot). It returns when
// the schedule ends or ctx does. A pacer that wakes up late starts every
// request already due at once: the offer catches up instead of shrinking.
func pace(ctx context.Context, c clock, s Schedule, start func(n int, due time.Time) bool) PaceStats {
	var st PaceStats
	if s.Rate <= 0 {
		return st
	}
	t0 := c.Now()
	for n := 0; s.Count <= 0 || n < s.Count; n++ {
		off := s.Due(n)
		if s.Duration > 0 && off >= s.Duration {
			break
		}
		due := t0.Add(off)
		if wait := due.Sub(c.Now()); wait > 0 {
			select {
			case <-ctx.Done():
				return st
			case <-c.After(wait):
			}
		} else if ctx.Err() != nil {
			return st
		}
		st.Offered++
		late := c.Now().Sub(due)
		if !start(n, due) {
			st.NotSent++
			continue
		}
		st.Started++
		if late > s.Slack {
			st.Late++
		}
		st.MaxLate = max(st.MaxLate, late)
	}
	return st
}
