package webhook

import (
	"testing"
	"time"
)

// Wrong tokens from a shared address (a proxy, a NAT) use up that
// address's failures, but the platform's valid token from the same address
// is still answered: only the failing attempts are throttled.
func TestIncomingValidTokenIsNeverThrottled(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{AuthFailuresPerMinute: 50, TrustedProxies: mustPrefixes("127.0.0.1/32")})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	const shared = "203.0.113.9"
	for i := range 50 {
		if res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", shared); res.status != 401 {
			t.Fatalf("wrong token %d: %d %v", i+1, res.status, res.body)
		}
	}
	if res := h.post(t, token, validIncoming, "X-Forwarded-For", shared); res.status != 200 || res.body["success"] != true {
		t.Fatalf("valid token after 50 failures from its address: %d %v", res.status, res.body)
	}
	res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", shared)
	if res.status != 429 || res.header.Get("Retry-After") != "2" ||
		res.body["error"] != "too many failed authentication attempts from your address; retry later" {
		t.Fatalf("51st wrong token: %d Retry-After %q %v", res.status, res.header.Get("Retry-After"), res.body)
	}
	if res := h.post(t, "", validIncoming, "X-Forwarded-For", shared); res.status != 429 {
		t.Fatalf("no token while throttled: %d", res.status)
	}
	if res := h.post(t, token, validIncoming, "X-Forwarded-For", shared); res.status != 200 {
		t.Fatalf("valid token while its address is throttled: %d %v", res.status, res.body)
	}
	h.clock.Add(2 * time.Second)
	if res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", shared); res.status != 401 {
		t.Fatalf("wrong token after Retry-After: %d", res.status)
	}
	if s := h.in.Stats(); s.AuthFailures != 51 || s.RateLimited != 2 || s.Accepted != 2 {
		t.Fatalf("stats = %+v", s)
	}
}

// IPv6 clients are throttled by /64.
func TestIncomingAuthThrottleGroupsIPv6By64(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{AuthFailuresPerMinute: 2, TrustedProxies: mustPrefixes("127.0.0.1/32")})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", ""))
	for _, ip := range []string{"2001:db8:5:6::1", "2001:db8:5:6::2"} {
		if res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", ip); res.status != 401 {
			t.Fatalf("wrong token from %s: %d", ip, res.status)
		}
	}
	if res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", "2001:db8:5:6:ffff::3"); res.status != 429 || res.header.Get("Retry-After") != "30" {
		t.Fatalf("same /64: %d Retry-After %q", res.status, res.header.Get("Retry-After"))
	}
	if res := h.post(t, "cbi_wrong", validIncoming, "X-Forwarded-For", "2001:db8:5:7::1"); res.status != 401 {
		t.Fatalf("another /64: %d", res.status)
	}
	if res := h.post(t, token, validIncoming, "X-Forwarded-For", "2001:db8:5:6::9"); res.status != 200 {
		t.Fatalf("valid token from the throttled /64: %d %v", res.status, res.body)
	}
}
