package webhook

import (
	"sort"
	"sync"
	"time"
)

// Circuit breaker states, as /metrics and the admin API show them.
const (
	BreakerClosed   = "closed"    // deliveries flow
	BreakerOpen     = "open"      // held until NextAttemptAt
	BreakerHalfOpen = "half-open" // one probe in flight; the rest wait for its result
)

// BreakerStatus is one integration's circuit breaker.
type BreakerStatus struct {
	ConfigID            uint64    `json:"config_id"`
	State               string    `json:"state"`
	ConsecutiveFailures int       `json:"consecutive_failures"`
	CooldownSeconds     float64   `json:"cooldown_seconds"`
	NextAttemptAt       time.Time `json:"next_attempt_at,omitzero"` // zero when closed
}

// circuit holds back a config whose deliveries keep failing: after
// threshold failures in a row it opens for a cooldown, then lets one probe
// through. Only a failed probe lengthens the cooldown. Failures of
// deliveries that were already in flight when it opened are counted but
// change nothing: with 20 in flight, each of the 15 after the 5th used to
// double the cooldown, straight to its cap.
type circuit struct {
	mu        sync.Mutex
	threshold int
	base, cap time.Duration
	configs   map[uint64]*breaker
}

type breaker struct {
	failures  int
	open      bool
	probe     uint64 // message id of the probe in flight; 0 when none
	cooldown  time.Duration
	openUntil time.Time
	held      map[uint64]struct{} // jobs held back, released when the circuit closes
}

func newCircuit(threshold int, base, cap time.Duration) *circuit {
	return &circuit{threshold: threshold, base: base, cap: max(cap, base), configs: map[uint64]*breaker{}}
}

// hold returns when message messageID of configID may next be attempted,
// or the zero time when it may go now. While the circuit is open, the
// first job asked about after the cooldown is the probe; the others wait
// one more cooldown, or less if the probe succeeds (record releases them).
func (c *circuit) hold(configID, messageID uint64, now time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.configs[configID]
	if b == nil || !b.open {
		return time.Time{}
	}
	if now.Before(b.openUntil) {
		if b.held == nil {
			b.held = map[uint64]struct{}{}
		}
		b.held[messageID] = struct{}{}
		return b.openUntil
	}
	// A probe lost on the way (its message was no longer pending) is
	// replaced once the cooldown is over again.
	b.probe = messageID
	b.openUntil = now.Add(b.cooldown)
	delete(b.held, messageID)
	return time.Time{}
}

// record notes the result of an attempt of message messageID. It reports
// whether the circuit just opened, and, when a success closed it, the
// jobs it had held back.
func (c *circuit) record(configID, messageID uint64, ok bool, now time.Time) (opened bool, released []uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.configs[configID]
	if ok {
		if b == nil {
			return false, nil
		}
		delete(c.configs, configID)
		for id := range b.held {
			released = append(released, id)
		}
		sort.Slice(released, func(i, j int) bool { return released[i] < released[j] })
		return false, released
	}
	if b == nil {
		b = &breaker{}
		c.configs[configID] = b
	}
	b.failures++
	switch {
	case !b.open && b.failures >= c.threshold:
		b.open, b.cooldown = true, c.base
		b.openUntil = now.Add(b.cooldown)
		return true, nil
	case b.open && b.probe != 0 && messageID == b.probe:
		b.probe = 0
		b.cooldown = min(2*b.cooldown, c.cap)
		b.openUntil = now.Add(b.cooldown)
	}
	return false, nil
}

// status lists the configs whose deliveries failed last, by config id; a
// config missing from it is closed with no failures.
func (c *circuit) status(now time.Time) []BreakerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]BreakerStatus, 0, len(c.configs))
	for id, b := range c.configs {
		s := BreakerStatus{ConfigID: id, State: BreakerClosed, ConsecutiveFailures: b.failures}
		if b.open {
			s.State, s.NextAttemptAt = BreakerOpen, b.openUntil.UTC()
			s.CooldownSeconds = b.cooldown.Seconds()
			if b.probe != 0 && now.Before(b.openUntil) {
				s.State = BreakerHalfOpen
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ConfigID < out[j].ConfigID })
	return out
}

// forget drops a deleted config's breaker.
func (c *circuit) forget(configID uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.configs, configID)
}
