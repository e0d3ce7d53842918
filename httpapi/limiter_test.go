package httpapi

import (
	"strconv"
	"sync"
	"testing"
	"time"
)

func newTestLimiter(maxKeys int) (*Limiter[string], *fakeClock) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	return NewLimiter[string](maxKeys, clock.Now), clock
}

// A bucket holds perMinute tokens, is spent one per Take, and refills
// evenly: at 2 a minute, the third take waits 30 s, and 15 s later 15 s.
func TestLimiterCapacityAndRefill(t *testing.T) {
	l, clock := newTestLimiter(10)
	for i := range 2 {
		if ok, wait := l.Take("a", 2); !ok || wait != 0 {
			t.Fatalf("take %d: ok=%v wait=%v", i+1, ok, wait)
		}
	}
	if ok, wait := l.Take("a", 2); ok || wait != 30*time.Second {
		t.Fatalf("third take: ok=%v wait=%v, want refused for 30s", ok, wait)
	}
	clock.Add(15 * time.Second)
	if ok, wait := l.Take("a", 2); ok || wait != 15*time.Second {
		t.Fatalf("after 15 s: ok=%v wait=%v, want refused for 15s", ok, wait)
	}
	if got := l.Peek("a", 2); got != 15*time.Second {
		t.Fatalf("Peek = %v, want 15s", got)
	}
	clock.Add(15 * time.Second)
	if ok, _ := l.Take("a", 2); !ok {
		t.Fatal("not refilled after 30 s")
	}
	// Refill stops at capacity: an hour idle still gives only 2.
	clock.Add(time.Hour)
	l.Take("a", 2)
	l.Take("a", 2)
	if ok, _ := l.Take("a", 2); ok {
		t.Fatal("bucket refilled past its capacity")
	}
	// Another key has its own bucket; Peek of an unknown key is 0 and
	// remembers nothing.
	if ok, _ := l.Take("b", 2); !ok {
		t.Fatal("another key refused")
	}
	if l.Peek("zzz", 1) != 0 || l.Len() != 2 {
		t.Fatalf("Peek of an unknown key: Len %d, want 2", l.Len())
	}
}

// A clock that steps back neither refills nor drains a bucket.
func TestLimiterClockStepsBack(t *testing.T) {
	l, clock := newTestLimiter(10)
	l.Take("a", 1)
	clock.Add(-time.Hour)
	if ok, wait := l.Take("a", 1); ok || wait != time.Minute {
		t.Fatalf("after the clock stepped back: ok=%v wait=%v, want refused for 1m", ok, wait)
	}
}

// TakeAll spends from every bucket or from none, and waits for the
// slowest empty one.
func TestLimiterTakeAllIsAllOrNothing(t *testing.T) {
	l, _ := newTestLimiter(10)
	visitor, ceiling := Ask[string]{"w/v", 1}, Ask[string]{"w", 3}
	if ok, _ := l.TakeAll(visitor, ceiling); !ok {
		t.Fatal("first TakeAll refused")
	}
	// The visitor is empty: nothing is spent from the ceiling.
	if ok, wait := l.TakeAll(visitor, ceiling); ok || wait != time.Minute {
		t.Fatalf("second TakeAll: ok=%v wait=%v, want refused for 1m", ok, wait)
	}
	for i := range 2 {
		if ok, _ := l.Take("w", 3); !ok {
			t.Fatalf("ceiling take %d refused: the refused TakeAll spent from it", i+1)
		}
	}
	if ok, wait := l.Take("w", 3); ok || wait != 20*time.Second {
		t.Fatalf("ceiling after 3: ok=%v wait=%v, want 20s", ok, wait)
	}
}

// A lower rate on the next call shrinks the bucket to the new size.
func TestLimiterRateChangeShrinksBucket(t *testing.T) {
	l, _ := newTestLimiter(10)
	l.Take("a", 100)
	if ok, _ := l.Take("a", 1); !ok {
		t.Fatal("first take at the lower rate refused")
	}
	if ok, wait := l.Take("a", 1); ok || wait != time.Minute {
		t.Fatalf("second take at 1 a minute: ok=%v wait=%v", ok, wait)
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	for _, tc := range []struct {
		wait time.Duration
		want int
	}{
		{0, 1}, {time.Nanosecond, 1}, {time.Second, 1}, {time.Second + 1, 2},
		{1200 * time.Millisecond, 2}, {30 * time.Second, 30}, {time.Minute, 60}, {time.Hour, 60},
	} {
		if got := RetryAfterSeconds(tc.wait); got != tc.want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", tc.wait, got, tc.want)
		}
	}
}

// The table never exceeds maxKeys; refilled buckets are evicted before
// any spent one, so a throttled key stays throttled.
func TestLimiterBoundAndEvictionOrder(t *testing.T) {
	l, clock := newTestLimiter(10)
	for i := range 9 {
		l.Take("old"+strconv.Itoa(i), 1)
	}
	clock.Add(time.Minute) // those nine have refilled
	l.Take("limited", 1)
	l.Take("new", 1) // full: the refilled nine go
	if n := l.Len(); n != 2 {
		t.Fatalf("%d buckets, want 2", n)
	}
	if ok, _ := l.Take("limited", 1); ok {
		t.Fatal("the throttled key was forgotten")
	}
	// With nothing refilled, arbitrary buckets go, down to 90 %.
	for i := range 1000 {
		l.Take("k"+strconv.Itoa(i), 1)
		if n := l.Len(); n > 10 {
			t.Fatalf("%d buckets after %d keys, want at most 10", n, i+1)
		}
	}
}

func TestLimiterForget(t *testing.T) {
	l, _ := newTestLimiter(10)
	for _, k := range []string{"1/a", "1/b", "2/a"} {
		l.Take(k, 1)
	}
	l.Forget(func(k string) bool { return k[0] == '1' })
	if n := l.Len(); n != 1 {
		t.Fatalf("%d buckets after Forget, want 1", n)
	}
	if ok, _ := l.Take("1/a", 1); !ok {
		t.Fatal("a forgotten key is still empty")
	}
}

// Under concurrent takes exactly capacity succeed: no token is spent
// twice or lost (run with -race).
func TestLimiterConcurrentTakes(t *testing.T) {
	l, _ := newTestLimiter(100)
	const capacity, goroutines, each = 500, 8, 100
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for range each {
				if ok, _ := l.Take("shared", capacity); ok {
					n++
				}
				l.Peek("shared", capacity)
			}
			mu.Lock()
			granted += n
			mu.Unlock()
		}()
	}
	wg.Wait()
	if granted != capacity {
		t.Fatalf("%d takes granted, want exactly %d", granted, capacity)
	}
}

// Property: with a fixed clock, a fresh key of rate r grants exactly r
// takes, and the wait after them is the time one token takes to refill.
func FuzzLimiterGrantsCapacity(f *testing.F) {
	for _, r := range []int{1, 2, 3, 7, 50, 6000} {
		f.Add(r, uint16(0))
	}
	f.Fuzz(func(t *testing.T, rate int, elapsedMs uint16) {
		rate = rate%10000 + 1
		if rate <= 0 {
			rate += 10000
		}
		l, clock := newTestLimiter(4)
		granted := 0
		for range rate + 5 {
			if ok, _ := l.Take("k", rate); ok {
				granted++
			}
		}
		if granted != rate {
			t.Fatalf("rate %d: %d granted", rate, granted)
		}
		want := time.Minute / time.Duration(rate)
		if time.Minute%time.Duration(rate) != 0 {
			want++
		}
		if got := l.Peek("k", rate); got < want-1 || got > want+1 {
			t.Fatalf("rate %d: wait %v, want about %v", rate, got, want)
		}
		// Waiting the returned time is always enough.
		clock.Add(time.Duration(elapsedMs) * time.Millisecond)
		wait := l.Peek("k", rate)
		clock.Add(wait)
		if ok, _ := l.Take("k", rate); !ok {
			t.Fatalf("rate %d: refused after waiting the %v it asked for", rate, wait)
		}
	})
}

// When TakeAll adds two new keys to a full table, adding the second must
// not evict the first (a new, full bucket is the first candidate): both
// are spent and remembered.
func TestLimiterTakeAllKeepsItsNewBuckets(t *testing.T) {
	l, _ := newTestLimiter(2)
	l.Take("x", 1) // spent: not evictable first
	if ok, _ := l.TakeAll(Ask[string]{"a", 1}, Ask[string]{"b", 1}); !ok {
		t.Fatal("TakeAll refused")
	}
	for _, k := range []string{"a", "b"} {
		if w := l.Peek(k, 1); w != time.Minute {
			t.Fatalf("Peek(%s) = %v, want 1m: its spent bucket was evicted", k, w)
		}
	}
	if n := l.Len(); n != 2 {
		t.Fatalf("Len %d, want 2", n)
	}
}
