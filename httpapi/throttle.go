package httpapi

import (
	"math"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

// DefaultAuthFailuresPerMinute is how many failed authentications a client
// (an IPv4 address or an IPv6 /64) may make per minute before further
// failures get 429.
const DefaultAuthFailuresPerMinute = 20

// maxThrottleKeys bounds the failure table; past it refilled entries (which
// hold no information) go first, then arbitrary ones.
const maxThrottleKeys = 10000

// FailureThrottle slows down guessing: it counts only failed
// authentications, per client, in a token bucket of perMinute failures
// refilled evenly over a minute. It is consulted only once a request has
// failed, so a valid credential is never refused because of other
// callers' failures from the same address (a shared proxy, a NAT).
type FailureThrottle struct {
	mu        sync.Mutex
	perMinute float64
	maxKeys   int
	now       func() time.Time
	buckets   map[string]*failureBucket
}

type failureBucket struct {
	tokens float64
	last   time.Time
}

// NewFailureThrottle allows perMinute failures per client per minute (the
// default when <= 0); now is the clock (time.Now when nil).
func NewFailureThrottle(perMinute int, now func() time.Time) *FailureThrottle {
	if perMinute <= 0 {
		perMinute = DefaultAuthFailuresPerMinute
	}
	if now == nil {
		now = time.Now
	}
	return &FailureThrottle{perMinute: float64(perMinute), maxKeys: maxThrottleKeys, now: now, buckets: map[string]*failureBucket{}}
}

// Fail records one failed attempt of ip. When ip has no failure left it
// records nothing and returns a RateLimited error (429 with Retry-After)
// to answer instead of the failure; otherwise nil.
func (t *FailureThrottle) Fail(ip netip.Addr) error {
	key := ThrottleKey(ip.String())
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	b := t.bucketLocked(key, now)
	if b.tokens < 1 {
		secs := int(math.Ceil((1 - b.tokens) * 60 / t.perMinute))
		return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: min(max(secs, 1), 60),
			Message: "too many failed authentication attempts from your address; retry later"}
	}
	b.tokens--
	return nil
}

// bucketLocked returns key's bucket brought up to date; a new key gets a
// full one.
func (t *FailureThrottle) bucketLocked(key string, now time.Time) *failureBucket {
	b := t.buckets[key]
	if b == nil {
		if len(t.buckets) >= t.maxKeys {
			t.evictLocked(now)
		}
		b = &failureBucket{tokens: t.perMinute, last: now}
		t.buckets[key] = b
		return b
	}
	if dt := now.Sub(b.last); dt > 0 {
		b.tokens = math.Min(t.perMinute, b.tokens+dt.Minutes()*t.perMinute)
		b.last = now
	}
	return b
}

func (t *FailureThrottle) evictLocked(now time.Time) {
	for k, b := range t.buckets {
		if b.tokens+now.Sub(b.last).Minutes()*t.perMinute >= t.perMinute {
			delete(t.buckets, k)
		}
	}
	for k := range t.buckets { // map order is random: an arbitrary tenth goes
		if len(t.buckets) < t.maxKeys*9/10 {
			break
		}
		delete(t.buckets, k)
	}
}

// Len is the number of clients with failures remembered.
func (t *FailureThrottle) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.buckets)
}

// RemoteIP is the request's peer address, for callers without trusted proxies.
func RemoteIP(r *http.Request) netip.Addr { return ClientIP(r, nil) }
