package llm

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

func newTestPool(t *testing.T, n int, probe func(context.Context, int) error) *Pool {
	t.Helper()
	urls := make([]string, n)
	for i := range urls {
		urls[i] = "http://host" + string(rune('a'+i))
	}
	p, err := New(Config{URLs: urls, Limit: 2, QueueSize: 1, FailureThreshold: 2, RecheckInterval: time.Hour, Probe: probe})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// Each slot goes to the host with the fewest generations in flight.
func TestAcquireSpreadsByInFlight(t *testing.T) {
	p := newTestPool(t, 2, nil)
	ctx := context.Background()
	var got []int
	for range 4 {
		i, err := p.Acquire(ctx, -1)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, i)
	}
	if want := []int{0, 1, 0, 1}; !equal(got, want) {
		t.Fatalf("hosts = %v, want %v", got, want)
	}
	p.Release(1, Outcome{Latency: time.Second})
	if i, _ := p.Acquire(ctx, -1); i != 1 {
		t.Fatalf("after host 1 freed a slot, got host %d", i)
	}
	st := p.Stats()
	if st[0].InFlight != 2 || st[1].InFlight != 2 || st[1].Calls != 3 || st[1].LatencyCount != 1 || st[1].MeanLatencyMS != 1000 {
		t.Fatalf("stats = %+v", st)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A failing host is taken out; the other takes every call; a probe brings
// it back and it gets calls again.
func TestFailingHostTakenOutAndBack(t *testing.T) {
	var mu sync.Mutex
	healthy := false
	p := newTestPool(t, 2, func(_ context.Context, i int) error {
		mu.Lock()
		defer mu.Unlock()
		if i == 0 && !healthy {
			return errors.New("connection refused")
		}
		return nil
	})
	ctx := context.Background()
	i, _ := p.Acquire(ctx, -1)
	if i != 0 {
		t.Fatalf("first call on host %d", i)
	}
	p.Release(0, Outcome{Err: errors.New("refused"), Down: true, Reason: "connection refused"})
	for range 3 {
		i, err := p.Acquire(ctx, -1)
		if err != nil || i != 1 {
			t.Fatalf("with host 0 down: host %d, %v", i, err)
		}
		p.Release(i, Outcome{})
	}
	if st := p.Stats()[0]; st.State != "down" || st.Reason != "connection refused" || st.Errors != 1 {
		t.Fatalf("host 0 = %+v", st)
	}
	p.Recheck()
	if p.Stats()[0].State != "down" {
		t.Fatal("a failed probe closed the breaker")
	}
	mu.Lock()
	healthy = true
	mu.Unlock()
	p.Recheck()
	if i, _ := p.Acquire(ctx, -1); i != 0 || p.Stats()[0].State != "ok" {
		t.Fatalf("after recovery: host %d, %+v", i, p.Stats()[0])
	}
	// Half-open: one failure opens it again.
	p.Release(0, Outcome{Err: errors.New("500"), Reason: "HTTP 500"})
	if p.Stats()[0].State != "down" {
		t.Fatal("a failure right after recovery did not reopen the breaker")
	}
}

func TestAcquireExcludeAndDown(t *testing.T) {
	p := newTestPool(t, 2, func(context.Context, int) error { return errors.New("no") })
	if _, err := p.Acquire(context.Background(), -1); err != nil {
		t.Fatal(err)
	}
	p.MarkDown(1, "test")
	if !p.Healthy(1) || p.Healthy(0) {
		t.Fatalf("Healthy(except 1) = %v, Healthy(except 0) = %v", p.Healthy(1), p.Healthy(0))
	}
	if _, err := p.Acquire(context.Background(), 0); !errors.Is(err, ErrDown) {
		t.Fatalf("excluding the only healthy host: err = %v", err)
	}
	p.MarkDown(-1, "all")
	if p.Ready() {
		t.Fatal("ready with every host down")
	}
	if _, err := p.Acquire(context.Background(), -1); !errors.Is(err, ErrDown) {
		t.Fatalf("err = %v", err)
	}
}

// A 429 rests the host for Retry-After without opening its breaker.
func TestRetryAfterRestsTheHost(t *testing.T) {
	now := time.Unix(1000, 0)
	p, _ := New(Config{URLs: []string{"a", "b"}, Limit: 1, Now: func() time.Time { return now }})
	i, _ := p.Acquire(context.Background(), -1)
	p.Release(i, Outcome{Err: errors.New("429"), RetryAfter: 30 * time.Second})
	for range 2 {
		j, err := p.Acquire(context.Background(), -1)
		if err != nil || j == i {
			t.Fatalf("rested host %d chosen (%d, %v)", i, j, err)
		}
		p.Release(j, Outcome{})
	}
	if st := p.Stats()[i]; st.State != "limited" || st.Errors != 0 {
		t.Fatalf("rested host = %+v", st)
	}
	p.MarkDown(1-i, "x")
	if _, err := p.Acquire(context.Background(), -1); !errors.Is(err, ErrBusy) {
		t.Fatalf("only a rested host left: err = %v, want ErrBusy", err)
	}
	now = now.Add(31 * time.Second)
	if j, err := p.Acquire(context.Background(), -1); err != nil || j != i {
		t.Fatalf("after Retry-After: %d, %v", j, err)
	}
}

// Callers past every slot wait in a bounded queue and get a slot when one
// frees; past the queue they are refused at once.
func TestQueue(t *testing.T) {
	p := newTestPool(t, 1, nil)
	ctx := context.Background()
	p.Acquire(ctx, -1)
	p.Acquire(ctx, -1)
	got := make(chan int)
	go func() { i, _ := p.Acquire(ctx, -1); got <- i }()
	for p.Queued() != 1 {
		runtime.Gosched()
	}
	if _, err := p.Acquire(ctx, -1); !errors.Is(err, ErrBusy) {
		t.Fatalf("err = %v", err)
	}
	p.Release(0, Outcome{})
	if i := <-got; i != 0 {
		t.Fatalf("queued caller got host %d", i)
	}
}

// Without a probe, an open host is tried again by a caller after the
// recheck interval.
func TestLazyRetryWithoutProbe(t *testing.T) {
	now := time.Unix(1000, 0)
	p, _ := New(Config{URLs: []string{"a"}, RecheckInterval: 5 * time.Second, Now: func() time.Time { return now }})
	i, _ := p.Pick(-1)
	p.Done(i, Outcome{Err: errors.New("refused"), Down: true, Reason: "refused"})
	if _, err := p.Pick(-1); !errors.Is(err, ErrDown) || p.Ready() {
		t.Fatalf("err = %v ready = %v", err, p.Ready())
	}
	now = now.Add(6 * time.Second)
	i, err := p.Pick(-1)
	if err != nil {
		t.Fatal(err)
	}
	p.Done(i, Outcome{})
	if p.Stats()[0].State != "ok" {
		t.Fatalf("%+v", p.Stats()[0])
	}
}
