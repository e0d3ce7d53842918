package widget

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// proxiedEnv trusts the loopback peer as a proxy, so X-Forwarded-For names
// the visitor and one test can speak for many addresses.
func proxiedEnv(t *testing.T) *env {
	return newEnv(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
}

func (e *env) chatFrom(w *store.Widget, ip string, body any) resp {
	e.t.Helper()
	return e.do(nil, "POST", "/api/chat?key="+w.Key, body, map[string]string{"Origin": "https://site.example", "X-Forwarded-For": ip})
}

func (e *env) engineCalls() int {
	e.engine.mu.Lock()
	defer e.engine.mu.Unlock()
	return len(e.engine.reqs)
}

// Thirty requests with a forged (allowed) Origin and an invalid body spend
// nothing: visitors, on the same address or another, are still answered.
func TestWidgetInvalidRequestsSpendNoRate(t *testing.T) {
	e := proxiedEnv(t)
	w := createWidget(t, e, []string{"https://site.example"}, 5)
	for i := range 30 {
		if r := e.chatFrom(w, "198.51.100.66", []byte(`{"message": 42}`)); r.status != 400 || r.body["field"] != "message" {
			t.Fatalf("invalid request %d: %d %s", i+1, r.status, r.raw)
		}
	}
	for _, ip := range []string{"203.0.113.5", "198.51.100.66"} {
		if r := e.chatFrom(w, ip, map[string]any{"message": "How do I reset my password?"}); r.status != 200 || r.body["answer"] != "Reset it under Settings." {
			t.Fatalf("visitor %s after the invalid flood: %d %s", ip, r.status, r.raw)
		}
	}
}

// One address flooding valid messages is limited at the widget's rate;
// another address is still served.
func TestWidgetRateIsPerVisitor(t *testing.T) {
	e := proxiedEnv(t)
	w := createWidget(t, e, []string{"https://site.example"}, 5)
	for i := range 5 {
		if r := e.chatFrom(w, "198.51.100.7", map[string]any{"message": "hi"}); r.status != 200 {
			t.Fatalf("message %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := e.chatFrom(w, "198.51.100.7", map[string]any{"message": "hi"})
	if r.status != 429 || r.header.Get("Retry-After") != "12" {
		t.Fatalf("6th message: %d Retry-After %q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	// Another address of the flooder's IPv6 /64 shares its bucket; others don't.
	for i := range 5 {
		if r := e.chatFrom(w, "2001:db8:9:9::"+strconv.Itoa(i+1), map[string]any{"message": "hi"}); r.status != 200 {
			t.Fatalf("IPv6 message %d: %d", i+1, r.status)
		}
	}
	if r := e.chatFrom(w, "2001:db8:9:9::ff", map[string]any{"message": "hi"}); r.status != 429 {
		t.Fatalf("same /64: %d", r.status)
	}
	if r := e.chatFrom(w, "203.0.113.8", map[string]any{"message": "hi"}); r.status != 200 {
		t.Fatalf("another visitor while one is limited: %d %s", r.status, r.raw)
	}
	if n := e.engineCalls(); n != 11 {
		t.Fatalf("engine answered %d messages, want 11", n)
	}
}

// All visitors together get at most widgetCeiling times the rate.
func TestWidgetCeiling(t *testing.T) {
	e := proxiedEnv(t)
	w := createWidget(t, e, []string{"https://site.example"}, 1)
	for i := range widgetCeiling {
		if r := e.chatFrom(w, "198.51.100."+strconv.Itoa(i+1), map[string]any{"message": "hi"}); r.status != 200 {
			t.Fatalf("visitor %d: %d %s", i+1, r.status, r.raw)
		}
	}
	r := e.chatFrom(w, "203.0.113.200", map[string]any{"message": "hi"})
	if r.status != 429 || r.header.Get("Retry-After") != "3" {
		t.Fatalf("visitor past the ceiling: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	e.clock.Add(3 * time.Second)
	if r := e.chatFrom(w, "203.0.113.200", map[string]any{"message": "hi"}); r.status != 200 {
		t.Fatalf("after Retry-After: %d", r.status)
	}
}

// Messages the webhook refuses are refused by the widget the same way:
// NUL and other control characters, and bytes that are not UTF-8 (which
// JSON decoding would have turned into U+FFFD). Nothing is stored.
func TestWidgetRefusesNULAndInvalidUTF8(t *testing.T) {
	e := proxiedEnv(t)
	w := createWidget(t, e, []string{"https://site.example"}, 100)
	for name, tc := range map[string]struct {
		body, msg string
	}{
		"NUL escape":       {`{"message": "hi\u0000there"}`, "message must not contain NUL or other control characters"},
		"escape char":      {`{"message": "hi\u001b[31m"}`, "message must not contain NUL or other control characters"},
		"raw invalid byte": {"{\"message\": \"caf\xe9\"}", "request body must be valid UTF-8"},
	} {
		r := e.chatFrom(w, "198.51.100.1", []byte(tc.body))
		if r.status != 400 || r.body["error"] != tc.msg {
			t.Errorf("%s: %d %s", name, r.status, r.raw)
		}
	}
	if r := e.chatFrom(w, "198.51.100.1", []byte("{\"message\": \"line one\\nline\\ttwo\"}")); r.status != 200 {
		t.Errorf("line breaks and tabs: %d %s", r.status, r.raw)
	}
	if _, total, err := e.st.ListMessages(store.MessageFilter{Platform: Platform}, 0, 10); err != nil || total != 2 {
		t.Fatalf("stored %d messages (%v), want the one valid message and its answer", total, err)
	}
}

// The limiter's table stays bounded however many visitors come.
func TestWidgetLimiterIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	l := newLimiter(c.Now)
	l.buckets = httpapi.NewLimiter[bucketKey](100, c.Now)
	for i := range 2000 {
		l.take(1, netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)}).String(), 1000)
		if n := l.size(); n > 100 {
			t.Fatalf("%d buckets after %d visitors, want at most 100", n, i+1)
		}
	}
}
