package admin

import (
	"testing"
	"time"
)

// The login lockout, step by step: three free failures, then 1 s, 2 s,
// 4 s ... doubling up to 5 min; the wait counts down with the clock; an
// hour after the last failure the IP starts again; a success clears it.
func TestLoginLimiterLockoutSequence(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	l := newLoginLimiter(c.Now)
	const ip = "203.0.113.7"
	for i := range 3 {
		if d := l.fail(ip); d != 0 {
			t.Fatalf("free failure %d locked out for %v", i+1, d)
		}
		if w := l.wait(ip); w != 0 {
			t.Fatalf("wait after free failure %d: %v", i+1, w)
		}
	}
	want := time.Second
	for i := range 12 {
		if d := l.fail(ip); d != want {
			t.Fatalf("failure %d: lockout %v, want %v", i+4, d, want)
		}
		if w := l.wait(ip); w != want {
			t.Fatalf("failure %d: wait %v, want %v", i+4, w, want)
		}
		want = min(2*want, 5*time.Minute)
	}
	c.Add(2 * time.Minute)
	if w := l.wait(ip); w != 3*time.Minute {
		t.Fatalf("2 min into a 5 min lockout: wait %v, want 3m", w)
	}
	if w := l.wait("203.0.113.8"); w != 0 {
		t.Fatalf("another IP waits %v", w)
	}
	// An hour after the last failure the count starts again.
	c.Add(time.Hour + time.Second)
	if w := l.wait(ip); w != 0 {
		t.Fatalf("after an hour: wait %v", w)
	}
	for i := range 3 {
		if d := l.fail(ip); d != 0 {
			t.Fatalf("after an hour, failure %d locked out for %v", i+1, d)
		}
	}
	if d := l.fail(ip); d != time.Second {
		t.Fatalf("fourth failure after the reset: %v, want 1s", d)
	}
	// A success clears the IP at once.
	l.succeed(ip)
	if w := l.wait(ip); w != 0 {
		t.Fatalf("after a success: wait %v", w)
	}
	if d := l.fail(ip); d != 0 {
		t.Fatalf("first failure after a success locked out for %v", d)
	}
}
