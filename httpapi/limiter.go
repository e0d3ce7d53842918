package httpapi

import (
	"math"
	"time"
)

// Limiter is the one keyed token bucket of the server: every key has a
// bucket of perMinute tokens refilled evenly over a minute, perMinute given
// per call so that one table can hold keys of different rates (a widget's
// visitors and its ceiling). It is safe for concurrent use.
//
// Memory is bounded: the buckets live in a Table of at most maxKeys, where
// buckets that have refilled go first (they hold no information: a new key
// starts full anyway), so a throttled key is forgotten only under a flood
// of keys that are themselves throttled.
type Limiter[K comparable] struct {
	t *Table[K, limiterBucket]
}

type limiterBucket struct {
	tokens, perMinute float64
	last              time.Time
}

// Ask is one bucket a TakeAll spends from: its key and its rate.
type Ask[K comparable] struct {
	Key       K
	PerMinute int
}

// NewLimiter returns a Limiter of at most maxKeys buckets (at least 1);
// now is the clock (time.Now when nil).
func NewLimiter[K comparable](maxKeys int, now func() time.Time) *Limiter[K] {
	return &Limiter[K]{t: NewTable[K, limiterBucket](maxKeys, now, (*limiterBucket).full)}
}

// Take spends one token of key, whose bucket holds perMinute (at least 1).
// When the bucket is empty it spends nothing and returns false and how
// long until it holds a token.
func (l *Limiter[K]) Take(key K, perMinute int) (ok bool, wait time.Duration) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	b := l.bucketLocked(key, perMinute, l.t.now())
	if w := b.wait(); w > 0 {
		return false, w
	}
	b.tokens--
	return true, 0
}

// TakeAll spends one token of every asked bucket, or none of them: when
// any is empty it returns false and the longest wait among the empty ones.
func (l *Limiter[K]) TakeAll(asks ...Ask[K]) (ok bool, wait time.Duration) {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	now := l.t.now()
	missing := 0
	for _, a := range asks {
		if l.t.m[a.Key] == nil {
			missing++
		}
	}
	l.t.makeRoomLocked(missing, now) // so that adding one cannot evict another
	bs := make([]*limiterBucket, len(asks))
	for i, a := range asks {
		bs[i] = l.bucketLocked(a.Key, a.PerMinute, now)
		wait = max(wait, bs[i].wait())
	}
	if wait > 0 {
		return false, wait
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// Peek reports how long until key's bucket of perMinute holds a token (0:
// it holds one now) without spending or remembering anything.
func (l *Limiter[K]) Peek(key K, perMinute int) time.Duration {
	l.t.mu.Lock()
	defer l.t.mu.Unlock()
	b := l.t.m[key]
	if b == nil {
		return 0
	}
	c := *b
	c.refill(float64(max(perMinute, 1)), l.t.now())
	return c.wait()
}

// Forget drops every bucket whose key matches (a widget's buckets after its
// settings change).
func (l *Limiter[K]) Forget(match func(K) bool) { l.t.DeleteFunc(match) }

// Len is the number of buckets held.
func (l *Limiter[K]) Len() int { return l.t.Len() }

// bucketLocked returns key's bucket brought up to now at rate perMinute; a
// new key gets a full one.
func (l *Limiter[K]) bucketLocked(key K, perMinute int, now time.Time) *limiterBucket {
	rate := float64(max(perMinute, 1))
	b, created := l.t.entryLocked(key, now)
	if created {
		*b = limiterBucket{tokens: rate, perMinute: rate, last: now}
		return b
	}
	b.refill(rate, now)
	return b
}

// refill adds the tokens earned since b.last at rate, up to rate. A clock
// that steps back earns nothing (and takes nothing away).
func (b *limiterBucket) refill(rate float64, now time.Time) {
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens += dt.Minutes() * rate
		b.last = now
	}
	b.tokens = min(b.tokens, rate) // full, or shrunk to a lowered rate
	b.perMinute = rate
}

// wait is how long until b holds a token (0: it holds one), rounded up to
// the nanosecond so that waiting exactly that long is always enough.
func (b *limiterBucket) wait() time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.tokens) * float64(time.Minute) / b.perMinute))
}

// full reports whether b has refilled by now: it holds no information (a
// new key starts full), so it is the first to go when the table is full.
func (b *limiterBucket) full(now time.Time) bool {
	return b.tokens+now.Sub(b.last).Minutes()*b.perMinute >= b.perMinute
}

// RetryAfterSeconds is a wait in whole seconds for a Retry-After header:
// rounded up, at least 1 and at most 60 (a bucket of at least one token a
// minute never needs longer).
func RetryAfterSeconds(wait time.Duration) int {
	secs := int((wait + time.Second - 1) / time.Second)
	return min(max(secs, 1), 60)
}
