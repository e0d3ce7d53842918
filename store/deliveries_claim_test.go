package store

import (
	"testing"
	"time"
)

// Claiming is a read: the job in flight stays due in the store, hidden by
// the in-memory claim from the next claims and from NextDeliveryDue, until
// its attempt is recorded. A delivery then costs one commit (the result),
// not two (claim and result).
func TestClaimIsInMemoryAndCostsNoCommit(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	a := addOutgoing(t, s, 1, "a", "1")
	b := addOutgoing(t, s, 1, "b", "1")
	before := s.Commits()
	if got := claimIDs(t, s, clock.Now(), 1); !equalIDs(got, []uint64{a.MessageID}) {
		t.Fatalf("first claim = %v, want a", got)
	}
	if got := s.Commits() - before; got != 0 {
		t.Fatalf("a claim committed %d times, want 0", got)
	}
	if next, ok, err := s.NextDeliveryDue(); err != nil || !ok || !next.Equal(b.NextAttemptAt) {
		t.Fatalf("next due = %v %v %v; want b's time (a is in flight)", next, ok, err)
	}
	if got := claimIDs(t, s, clock.Now(), 10); !equalIDs(got, []uint64{b.MessageID}) {
		t.Fatalf("second claim = %v, want only b (a is in flight)", got)
	}
	if _, ok, err := s.NextDeliveryDue(); err != nil || ok {
		t.Fatalf("next due with both in flight: ok %v, %v; want nothing waiting", ok, err)
	}
	before = s.Commits()
	out, err := s.RecordDeliveryAttempt(a.MessageID, DeliveryAttempt{StatusCode: 500, Err: "HTTP 500", MaxAttempts: 3}, fixedPolicy)
	if err != nil || out.Status != StatusPending {
		t.Fatalf("record = %+v, %v", out, err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Fatalf("recording an attempt committed %d times, want 1", got)
	}
	if got := claimIDs(t, s, clock.Now(), 10); len(got) != 0 {
		t.Fatalf("claim before the retry is due = %v, want nothing", got)
	}
	clock.t = out.NextAttemptAt
	if got := claimIDs(t, s, clock.Now(), 10); !equalIDs(got, []uint64{a.MessageID}) {
		t.Fatalf("claim at the retry time = %v, want a again", got)
	}
	if _, err := s.RecordDeliveryAttempt(b.MessageID, DeliveryAttempt{OK: true, StatusCode: 200}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PendingDeliveries(); err != nil || n != 1 {
		t.Fatalf("pending = %d, %v; want a only", n, err)
	}
}
