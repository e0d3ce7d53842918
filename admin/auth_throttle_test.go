package admin

import (
	"net/netip"
	"testing"
	"time"
)

// proxiedEnv trusts the loopback peer as a proxy, so X-Forwarded-For names
// the client and one test can speak for many addresses.
func proxiedEnv(t *testing.T) *env {
	return newEnv(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
}

// The admin API's bearer token has the failure throttle, with the client
// found behind the trusted proxies: 20 wrong tokens a minute per address,
// then 429; the admin token itself is never refused.
func TestAdminAPIBearerFailuresAreThrottled(t *testing.T) {
	e := proxiedEnv(t)
	from := func(ip, token string) resp {
		return e.do(nil, "GET", "/api/other", nil, map[string]string{"Authorization": "Bearer " + token, "X-Forwarded-For": ip})
	}
	for i := range 20 {
		if r := from("198.51.100.20", "wrong-admin-token"); r.status != 401 {
			t.Fatalf("wrong token %d: %d", i+1, r.status)
		}
	}
	if r := from("198.51.100.20", "wrong-admin-token"); r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("21st wrong token: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	if r := from("198.51.100.20", testToken); r.status != 200 {
		t.Fatalf("admin token from the throttled address: %d %s", r.status, r.raw)
	}
	if r := from("198.51.100.21", "wrong-admin-token"); r.status != 401 {
		t.Fatalf("wrong token from another address: %d", r.status)
	}
	e.clock.Add(3 * time.Second)
	if r := from("198.51.100.20", "wrong-admin-token"); r.status != 401 {
		t.Fatalf("after Retry-After: %d", r.status)
	}
}
