package webhook

import (
	"slices"
	"testing"
	"time"
)

// The breaker's rules: it opens at the threshold with the first cooldown;
// failures of deliveries already in flight change nothing; one probe per
// cooldown; only a failed probe doubles it (up to the cap); a success
// closes it and releases the jobs it held.
func TestCircuit(t *testing.T) {
	c := newCircuit(2, time.Minute, 3*time.Minute)
	now := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	if opened, _ := c.record(1, 101, false, now); opened || !c.hold(1, 110, now).IsZero() {
		t.Fatal("one failure opened the circuit")
	}
	if opened, _ := c.record(1, 102, false, now); !opened {
		t.Fatal("second failure did not open the circuit")
	}
	// 18 more deliveries that were in flight fail: the cooldown stays.
	for id := uint64(103); id <= 120; id++ {
		if opened, _ := c.record(1, id, false, now.Add(time.Second)); opened {
			t.Fatalf("failure of in-flight message %d re-opened the circuit", id)
		}
	}
	if got := c.hold(1, 130, now); !got.Equal(now.Add(time.Minute)) {
		t.Fatalf("hold after 20 failures = %v, want +1m (the first step)", got)
	}
	if got := c.status(now); !slices.Equal(got, []BreakerStatus{{ConfigID: 1, State: BreakerOpen,
		ConsecutiveFailures: 20, CooldownSeconds: 60, NextAttemptAt: now.Add(time.Minute)}}) {
		t.Fatalf("status = %+v", got)
	}
	if !c.hold(2, 200, now).IsZero() {
		t.Fatal("another config is held")
	}
	later := now.Add(time.Minute)
	if !c.hold(1, 131, later).IsZero() {
		t.Fatal("no probe after the cooldown")
	}
	if got := c.hold(1, 132, later); !got.Equal(later.Add(time.Minute)) {
		t.Fatalf("second job during the probe: hold = %v", got)
	}
	if st := c.status(later); st[0].State != BreakerHalfOpen {
		t.Fatalf("state with a probe in flight = %s, want half-open", st[0].State)
	}
	c.record(1, 121, false, later) // a straggler, not the probe
	if got := c.hold(1, 133, later); !got.Equal(later.Add(time.Minute)) {
		t.Fatalf("after a straggler's failure hold = %v, want unchanged", got)
	}
	c.record(1, 131, false, later) // the probe
	if got := c.hold(1, 134, later); !got.Equal(later.Add(2 * time.Minute)) {
		t.Fatalf("after a failed probe hold = %v, want cooldown doubled", got)
	}
	for i, probe := range []uint64{135, 136} {
		at := later.Add(time.Duration(2+3*i) * time.Minute)
		if !c.hold(1, probe, at).IsZero() {
			t.Fatalf("no probe at %v", at)
		}
		c.record(1, probe, false, at)
		if got := c.hold(1, 140, at); !got.Equal(at.Add(3 * time.Minute)) {
			t.Fatalf("hold = %v, want capped at 3m", got)
		}
	}
	opened, released := c.record(1, 137, true, later)
	if opened || !slices.Equal(released, []uint64{130, 132, 133, 134, 140}) {
		t.Fatalf("success: opened %v, released %v; want the held jobs", opened, released)
	}
	if !c.hold(1, 141, later).IsZero() || len(c.status(later)) != 0 {
		t.Fatal("success did not close the circuit")
	}
}
