package store

import (
	"testing"
	"time"
)

// Jobs a circuit held back become due at once when it closes; a job due
// earlier keeps its time and an unknown id is ignored.
func TestReleaseDeliveriesMakesHeldJobsDue(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	a := addOutgoing(t, s, 1, "a", "1")
	b := addOutgoing(t, s, 1, "b", "1")
	now := clock.Now()
	until := now.Add(time.Hour)
	ds, err := s.ClaimDeliveries(now, 10, func(uint64, uint64, time.Time) time.Time { return until })
	if err != nil || len(ds) != 0 {
		t.Fatalf("claim while held = %+v, %v; want nothing", ds, err)
	}
	clock.Add(time.Second)
	n, err := s.ReleaseDeliveries([]uint64{a.MessageID, b.MessageID, 999}, clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("release = %d, %v; want 2", n, err)
	}
	if next, ok, _ := s.NextDeliveryDue(); !ok || !next.Equal(clock.Now()) {
		t.Fatalf("next due = %v %v, want %v", next, ok, clock.Now())
	}
	if got := claimIDs(t, s, clock.Now(), 10); !equalIDs(got, []uint64{a.MessageID, b.MessageID}) {
		t.Fatalf("claim after release = %v", got)
	}
	if n, err := s.ReleaseDeliveries([]uint64{a.MessageID}, clock.Now()); err != nil || n != 0 {
		t.Fatalf("release of a job in flight = %d, %v; want 0", n, err)
	}
}
