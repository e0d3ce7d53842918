package store

import (
	"errors"
	"testing"
	"time"
)

// Deleting a config fails its queued deliveries at once, in the same
// transaction: the head of a conversation, the job behind it, one in
// flight; another config's job stays queued. Before, they stayed pending
// until the next start.
func TestDeleteConfigFailsItsQueuedDeliveries(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	gone, kept := newConfig("Gone"), newConfig("Kept")
	for _, c := range []*WebhookConfig{gone, kept} {
		if err := s.CreateConfig(c); err != nil {
			t.Fatal(err)
		}
	}
	inflight := addOutgoing(t, s, gone.ID, "a", "1")
	if got := claimIDs(t, s, clock.Now(), 1); !equalIDs(got, []uint64{inflight.MessageID}) {
		t.Fatalf("claim = %v", got)
	}
	behind := addOutgoing(t, s, gone.ID, "a", "2")
	head := addOutgoing(t, s, gone.ID, "b", "1")
	other := addOutgoing(t, s, kept.ID, "a", "1")
	clock.Add(time.Second)
	if err := s.DeleteConfig(gone.ID); err != nil {
		t.Fatal(err)
	}
	for _, j := range []DeliveryJob{inflight, behind, head} {
		m, err := s.OutgoingMessage(j.MessageID)
		if err != nil {
			t.Fatal(err)
		}
		if m.Status != StatusFailed || m.LastError != "integration deleted" || !m.UpdatedAt.Equal(clock.Now()) {
			t.Errorf("message %d = status %s, last_error %q, updated %v; want failed, %q, %v",
				j.MessageID, m.Status, m.LastError, m.UpdatedAt, "integration deleted", clock.Now())
		}
		if _, err := s.DeliveryJobFor(j.MessageID); !errors.Is(err, ErrNotFound) {
			t.Errorf("message %d job: %v, want ErrNotFound", j.MessageID, err)
		}
	}
	if n, err := s.PendingDeliveries(); err != nil || n != 1 {
		t.Fatalf("pending deliveries = %d, %v; want 1 (the other config's)", n, err)
	}
	if got := claimIDs(t, s, clock.Now(), 10); !equalIDs(got, []uint64{other.MessageID}) {
		t.Fatalf("claim after delete = %v, want only %d", got, other.MessageID)
	}
	// The attempt that was in flight finds no job: nothing is recorded
	// over the failure.
	_, err := s.RecordDeliveryAttempt(inflight.MessageID, DeliveryAttempt{OK: true, MaxAttempts: 4}, RetryPolicy{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("record after delete = %v, want ErrNotFound", err)
	}
	if m, _ := s.OutgoingMessage(inflight.MessageID); m.Status != StatusFailed {
		t.Fatalf("in-flight message after its late result = %s, want failed", m.Status)
	}
	st, err := s.MessageStats(clock.Now().Add(-time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if st.Outgoing[StatusFailed] != 3 || st.Outgoing[StatusPending] != 1 {
		t.Fatalf("outgoing counts = %v, want 3 failed and 1 pending (the other config's)", st.Outgoing)
	}
}
