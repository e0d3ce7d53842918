package httpapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/secret"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// throttledServer serves Require over loopback; the loopback peer is a
// trusted proxy, so X-Forwarded-For names the client.
func throttledServer(t *testing.T, perMinute int) (*httptest.Server, *fakeClock, *atomic.Int32) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	auth := NewAuth(AuthOptions{TokenHash: secret.Hash(adminToken), FailuresPerMinute: perMinute, Now: clock.Now,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	srv, passed := authServer(t, auth)
	return srv, clock, passed
}

type throttleResult struct {
	status     int
	retryAfter string
	body       string
}

func getFrom(t *testing.T, srv *httptest.Server, client, authorization string) throttleResult {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", client)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return throttleResult{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
}

// Fifty wrong tokens from one address use its failures up; the admin token
// from that same address still gets in, the next wrong one gets 429 with
// Retry-After, and once that has passed a wrong token is an ordinary 401.
func TestAdminAuthThrottlesOnlyFailures(t *testing.T) {
	srv, clock, passed := throttledServer(t, 50)
	const ip = "203.0.113.9"
	for i := range 50 {
		if res := getFrom(t, srv, ip, "Bearer wrong-token"); res.status != 401 || res.retryAfter != "" {
			t.Fatalf("wrong token %d: %d Retry-After %q", i+1, res.status, res.retryAfter)
		}
	}
	if res := getFrom(t, srv, ip, "Bearer "+adminToken); res.status != 200 || res.body != "inside" || passed.Load() != 1 {
		t.Fatalf("the admin token after 50 failures: %d %q (passed %d)", res.status, res.body, passed.Load())
	}
	res := getFrom(t, srv, ip, "Bearer wrong-token")
	const limited = `{"success":false,"error":"too many failed authentication attempts from your address; retry later"}` + "\n"
	if res.status != 429 || res.retryAfter != "2" || res.body != limited {
		t.Fatalf("51st wrong token: %d Retry-After %q %q", res.status, res.retryAfter, res.body)
	}
	// A request without Authorization guesses nothing: 401, never 429.
	if res := getFrom(t, srv, ip, ""); res.status != 401 {
		t.Fatalf("no Authorization while throttled: %d", res.status)
	}
	if res := getFrom(t, srv, ip, "Bearer "+adminToken); res.status != 200 {
		t.Fatalf("the admin token while throttled: %d", res.status)
	}
	clock.Add(2 * time.Second)
	if res := getFrom(t, srv, ip, "Bearer wrong-token"); res.status != 401 {
		t.Fatalf("wrong token after Retry-After: %d", res.status)
	}
	if res := getFrom(t, srv, "203.0.113.10", "Bearer wrong-token"); res.status != 401 {
		t.Fatalf("wrong token from another address: %d", res.status)
	}
}

// IPv6 clients count by /64: another address of the same /64 shares the
// bucket, an address of the next /64 does not.
func TestAdminAuthThrottleGroupsIPv6By64(t *testing.T) {
	srv, _, _ := throttledServer(t, 3)
	for i := range 3 {
		if res := getFrom(t, srv, "2001:db8:1:2::"+string(rune('a'+i)), "Bearer wrong"); res.status != 401 {
			t.Fatalf("failure %d: %d", i+1, res.status)
		}
	}
	if res := getFrom(t, srv, "2001:db8:1:2:ffff:ffff:ffff:fffe", "Bearer wrong"); res.status != 429 || res.retryAfter != "20" {
		t.Fatalf("same /64: %d Retry-After %q", res.status, res.retryAfter)
	}
	if res := getFrom(t, srv, "2001:db8:1:3::a", "Bearer wrong"); res.status != 401 {
		t.Fatalf("next /64: %d", res.status)
	}
	if res := getFrom(t, srv, "2001:db8:1:2::1", "Bearer "+adminToken); res.status != 200 {
		t.Fatalf("the admin token from the throttled /64: %d", res.status)
	}
}

// The failure table stays bounded however many addresses fail.
func TestFailureThrottleIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	th := NewFailureThrottle(1, clock.Now)
	th.limiter.t.maxKeys = 100
	for i := range 1000 {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if err := th.Fail(a); err != nil {
			t.Fatalf("first failure of %v: %v", a, err)
		}
	}
	if n := th.Len(); n > 100 {
		t.Fatalf("%d buckets, want at most 100", n)
	}
}

func TestThrottleKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9": "2001:db8:1:2::/64",
		"::ffff:198.51.100.1":  "::ffff:198.51.100.1",
		"not an ip":            "not an ip",
	} {
		if got := ThrottleKey(in); got != want {
			t.Errorf("ThrottleKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// Retry-After is whole seconds until the next failure is allowed, 1 to 60.
func TestFailureThrottleRetryAfter(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	ip := netip.MustParseAddr("203.0.113.1")
	retry := func(th *FailureThrottle) int {
		t.Helper()
		for range 10000 {
			if err := th.Fail(ip); err != nil {
				return retryOf(t, err)
			}
		}
		t.Fatal("never throttled")
		return 0
	}
	if got := retry(NewFailureThrottle(1, clock.Now)); got != 60 {
		t.Errorf("1 a minute: Retry-After %d, want 60", got)
	}
	if got := retry(NewFailureThrottle(6000, clock.Now)); got != 1 {
		t.Errorf("6000 a minute: Retry-After %d, want 1", got)
	}
	th := NewFailureThrottle(2, clock.Now)
	if got := retry(th); got != 30 {
		t.Errorf("2 a minute: Retry-After %d, want 30", got)
	}
	clock.Add(15 * time.Second) // half a failure back
	if err := th.Fail(ip); retryOf(t, err) != 15 {
		t.Errorf("after 15 s: %v, want Retry-After 15", err)
	}
	clock.Add(15 * time.Second)
	if err := th.Fail(ip); err != nil {
		t.Errorf("after 30 s: %v, want one failure allowed", err)
	}
	if th.Len() != 1 {
		t.Errorf("Len = %d, want 1", th.Len())
	}
}

func retryOf(t *testing.T, err error) int {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Code != apperr.RateLimited {
		t.Fatalf("error %v, want RateLimited", err)
	}
	return e.RetryAfterSeconds
}

// When the table is full, addresses whose failures have all refilled go
// first: an address that is still throttled stays throttled.
func TestFailureThrottleEvictsRefilledFirst(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	th := NewFailureThrottle(1, clock.Now)
	th.limiter.t.maxKeys = 10
	for i := range 9 {
		_ = th.Fail(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	clock.Add(time.Minute) // those nine have refilled
	limited := netip.MustParseAddr("203.0.113.50")
	_ = th.Fail(limited)
	_ = th.Fail(netip.MustParseAddr("203.0.113.51")) // full: the refilled nine go
	if n := th.Len(); n != 2 {
		t.Fatalf("%d entries, want 2", n)
	}
	if err := th.Fail(limited); err == nil {
		t.Fatal("the throttled address was forgotten")
	}
}
