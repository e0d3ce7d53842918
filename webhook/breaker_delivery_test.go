package webhook

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// Issue 13: 20 deliveries in flight when a receiver is briefly down. The
// breaker opens with its first cooldown, which the retry cap (2 s) bounds,
// and stays there although 15 more failures follow the 5th; once the
// receiver is back, all 20 are delivered after that one cooldown (the
// probe, then the jobs it held back). Before, each failure doubled the
// cooldown to its 10-minute cap: 0 of 20 delivered in 170 s.
func TestBreakerBurstOfFailuresThenRecovery(t *testing.T) {
	checkNoLeak(t)
	const n = 20
	var up atomic.Bool
	allIn := make(chan struct{})
	var closeOnce sync.Once
	rc := newReceiver(t, func(i int, w http.ResponseWriter, _ *http.Request) {
		if up.Load() {
			w.WriteHeader(http.StatusOK)
			return
		}
		// Hold every failure until all 20 are in flight at once.
		if i == n {
			closeOnce.Do(func() { close(allIn) })
		}
		<-allIn
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	clock := &manualClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	t0 := clock.Now()
	h := newHarness(t, rc.srv.URL, harnessOptions{clock: clock, worker: WorkerOptions{
		Workers: n, CircuitThreshold: 5, CircuitCooldown: 30 * time.Second,
		// Every retry 1 s later, so the test knows when they fall due.
		Retry: store.RetryPolicy{Base: time.Second, Cap: 2 * time.Second, Jitter: func(n int64) int64 { return n }},
	}})
	var jobs []store.DeliveryJob
	for i := range n {
		jobs = append(jobs, h.add(fmt.Sprint("conv", i), "answer"))
	}
	h.start()
	for range n {
		if r := <-h.attempts; r.Outcome.Status != store.StatusPending || r.Result.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("attempt during the outage = %+v", r)
		}
	}
	got, err := h.worker.Breakers()
	if err != nil {
		t.Fatal(err)
	}
	want := []BreakerStatus{{ConfigID: h.cfg.ID, State: BreakerOpen, ConsecutiveFailures: n,
		CooldownSeconds: 2, NextAttemptAt: t0.Add(2 * time.Second)}}
	if !slices.Equal(got, want) {
		t.Fatalf("breakers after the burst = %+v, want %+v (the first cooldown, capped by the retry cap)", got, want)
	}

	up.Store(true)
	clock.Add(2 * time.Second) // one cooldown; the clock stays there
	h.worker.Notify()
	for _, j := range jobs {
		reports := h.waitFinal(j.MessageID)
		if last := reports[len(reports)-1]; last.Outcome.Status != store.StatusSent || last.Outcome.Attempt != 2 {
			t.Fatalf("message %d after the receiver came back = %+v, want sent at attempt 2", j.MessageID, reports)
		}
	}
	if got := len(rc.requests()); got != 2*n {
		t.Errorf("receiver got %d requests, want %d (each message failed once, then delivered)", got, 2*n)
	}
	got, err = h.worker.Breakers()
	if err != nil || !slices.Equal(got, []BreakerStatus{{ConfigID: h.cfg.ID, State: BreakerClosed}}) {
		t.Fatalf("breakers after recovery = %+v, %v; want closed", got, err)
	}
}
