package webhook

import (
	"context"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
)

// rateLimiter is the per-integration incoming rate: perMinute requests per
// key, refilled evenly over a minute, in the shared httpapi.Limiter (which
// bounds the keys and evicts refilled buckets first). It only fixes the
// rate and answers Retry-After in whole seconds.
type rateLimiter struct {
	perMinute int
	limiter   *httpapi.Limiter[string]
}

func newRateLimiter(perMinute, maxKeys int, now func() time.Time) *rateLimiter {
	return &rateLimiter{perMinute: perMinute, limiter: httpapi.NewLimiter[string](maxKeys, now)}
}

// take spends a token of key; when there is none it returns false and the
// Retry-After seconds (1 to 60).
func (l *rateLimiter) take(key string) (bool, int) {
	if ok, wait := l.limiter.Take(key, l.perMinute); !ok {
		return false, httpapi.RetryAfterSeconds(wait)
	}
	return true, 0
}

func (l *rateLimiter) size() int { return l.limiter.Len() }

// gate caps concurrent answers at slots, with room for queue more waiting;
// past that, enter refuses at once (503) instead of piling up goroutines.
type gate struct {
	slots    chan struct{}
	admitted atomic.Int64
	limit    int64
}

func newGate(slots, queue int) *gate {
	return &gate{slots: make(chan struct{}, slots), limit: int64(slots + queue)}
}

// enter admits one answer (running or waiting) or returns false.
func (g *gate) enter() bool {
	if g.admitted.Add(1) > g.limit {
		g.admitted.Add(-1)
		return false
	}
	return true
}

// acquire waits for a running slot; call leave after release, or after a
// failed acquire.
func (g *gate) acquire(ctx context.Context) error {
	select {
	case g.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) release() { <-g.slots }
func (g *gate) leave()   { g.admitted.Add(-1) }

// parseAllowedIPs validates a config's allowed_ips (IPs or CIDRs) and
// returns them in canonical form.
func parseAllowedIPs(list []string) ([]string, error) {
	if len(list) > 100 {
		return nil, apperr.Invalidf("allowed_ips", "allowed_ips may hold at most 100 entries")
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		p, err := parseIPOrPrefix(strings.TrimSpace(s))
		if err != nil {
			return nil, apperr.Invalidf("allowed_ips", "allowed_ips: %q is not an IP address or CIDR such as 203.0.113.0/24", s)
		}
		out = append(out, p.String())
	}
	return out, nil
}

func parseIPOrPrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// ipAllowed reports whether addr is in the allowlist (stored canonical;
// an entry that no longer parses allows nothing).
func ipAllowed(addr netip.Addr, allowed []string) bool {
	for _, s := range allowed {
		if p, err := parseIPOrPrefix(s); err == nil && p.Contains(addr) {
			return true
		}
	}
	return false
}

// IncomingStats counts the incoming endpoint's outcomes since start, for
// logs and metrics.
type IncomingStats struct {
	Accepted     uint64 `json:"accepted"`
	Duplicates   uint64 `json:"duplicates"`
	TooLarge     uint64 `json:"too_large"`
	RateLimited  uint64 `json:"rate_limited"`
	AuthFailures uint64 `json:"auth_failures"`
	Forbidden    uint64 `json:"forbidden"`
	Overloaded   uint64 `json:"overloaded"`
}

type incomingCounters struct {
	accepted, duplicates, tooLarge, rateLimited, authFailures, forbidden, overloaded atomic.Uint64
}

func (c *incomingCounters) snapshot() IncomingStats {
	return IncomingStats{
		Accepted: c.accepted.Load(), Duplicates: c.duplicates.Load(), TooLarge: c.tooLarge.Load(),
		RateLimited: c.rateLimited.Load(), AuthFailures: c.authFailures.Load(), Forbidden: c.forbidden.Load(),
		Overloaded: c.overloaded.Load(),
	}
}
