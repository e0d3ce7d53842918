package httpapi

import (
	"net/http"
	"net/netip"
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
// authentications, per client, in a Limiter bucket of perMinute failures
// refilled evenly over a minute. It is consulted only once a request has
// failed, so a valid credential is never refused because of other
// callers' failures from the same address (a shared proxy, a NAT).
type FailureThrottle struct {
	perMinute int
	limiter   *Limiter[string]
}

// NewFailureThrottle allows perMinute failures per client per minute (the
// default when <= 0); now is the clock (time.Now when nil).
func NewFailureThrottle(perMinute int, now func() time.Time) *FailureThrottle {
	if perMinute <= 0 {
		perMinute = DefaultAuthFailuresPerMinute
	}
	return &FailureThrottle{perMinute: perMinute, limiter: NewLimiter[string](maxThrottleKeys, now)}
}

// Fail records one failed attempt of ip. When ip has no failure left it
// records nothing and returns a RateLimited error (429 with Retry-After)
// to answer instead of the failure; otherwise nil.
func (t *FailureThrottle) Fail(ip netip.Addr) error {
	if ok, wait := t.limiter.Take(ThrottleKey(ip.String()), t.perMinute); !ok {
		return &apperr.Error{Code: apperr.RateLimited, RetryAfterSeconds: RetryAfterSeconds(wait),
			Message: "too many failed authentication attempts from your address; retry later"}
	}
	return nil
}

// Len is the number of clients with failures remembered.
func (t *FailureThrottle) Len() int { return t.limiter.Len() }

// RemoteIP is the request's peer address, for callers without trusted proxies.
func RemoteIP(r *http.Request) netip.Addr { return ClientIP(r, nil) }
