package admin

import (
	"net/http"
	"time"

	"github.com/chatbot/chatbot/httpapi"
)

// loginLimiter slows down repeated failed logins per client IP: a few
// failures are free, then each further one locks the IP out for twice as
// long as the last, up to a cap. A doubling lockout is no token bucket (a
// bucket would give a failure back every so often), so the policy stays
// here; the bounded per-client table under it is the shared httpapi.Table.
type loginLimiter struct {
	failures *httpapi.Table[string, loginFailures]
	free     int
	base     time.Duration
	cap      time.Duration
}

type loginFailures struct {
	count int
	until time.Time // locked out before this
	last  time.Time
}

// loginForget is how long an IP's failures are remembered after the last one.
const loginForget = time.Hour

// maxLoginClients bounds the table; past it, IPs whose failures are
// forgotten go first, then arbitrary ones.
const maxLoginClients = 10000

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{failures: httpapi.NewTable[string, loginFailures](maxLoginClients, now, (*loginFailures).forgotten),
		free: 3, base: time.Second, cap: 5 * time.Minute}
}

// forgotten reports whether f's last failure is too old to count.
func (f *loginFailures) forgotten(now time.Time) bool { return now.Sub(f.last) > loginForget }

// wait returns how long ip must wait before its next attempt (0: go ahead).
func (l *loginLimiter) wait(ip string) time.Duration {
	var d time.Duration
	l.failures.View(ip, func(f *loginFailures, now time.Time) bool {
		if f.forgotten(now) {
			return false
		}
		d = max(f.until.Sub(now), 0)
		return true
	})
	return d
}

// fail records a failed attempt and returns the lockout it starts (0 if none).
func (l *loginLimiter) fail(ip string) time.Duration {
	var d time.Duration
	l.failures.Update(ip, func(f *loginFailures, now time.Time) bool {
		f.count++
		f.last = now
		if f.count <= l.free {
			return true
		}
		d = l.base << min(f.count-l.free-1, 20)
		if d > l.cap || d <= 0 {
			d = l.cap
		}
		f.until = now.Add(d)
		return true
	})
	return d
}

func (l *loginLimiter) succeed(ip string) { l.failures.Delete(ip) }

// retryAfter rounds a wait up to whole seconds for the Retry-After header.
func retryAfter(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// forwardedHTTPS reports whether a trusted proxy says the client used HTTPS.
func (h *Handler) forwardedHTTPS(r *http.Request) bool {
	return httpapi.ForwardedHTTPS(r, h.opts.TrustedProxies)
}
