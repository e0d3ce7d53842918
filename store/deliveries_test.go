package store

import (
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	bolt "go.etcd.io/bbolt"
)

// testClock is a settable clock for the store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openDeliveryStore(t *testing.T, dir string, now func() time.Time) *Store {
	t.Helper()
	s, err := Open(dir, Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		s.Close()
	})
	return s
}

func addOutgoing(t *testing.T, s *Store, configID uint64, conv, text string) DeliveryJob {
	t.Helper()
	job, err := s.AddOutgoingForDelivery(&Message{Type: MessageOutgoing, ConfigID: configID,
		Platform: "freshchat", ConversationID: conv, UserID: "u1", Text: text})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func claimIDs(t *testing.T, s *Store, now time.Time, limit int) []uint64 {
	t.Helper()
	ds, err := s.ClaimDeliveries(now, limit, nil)
	if err != nil {
		t.Fatal(err)
	}
	ids := []uint64{}
	for _, d := range ds {
		ids = append(ids, d.Job.MessageID)
	}
	return ids
}

func equalIDs(a, b []uint64) bool {
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

var fixedPolicy = RetryPolicy{Base: time.Second, Cap: 10 * time.Second, Jitter: func(n int64) int64 { return n }}

func TestRetryPolicyDelay(t *testing.T) {
	zero := func(int64) int64 { return 0 }
	tests := []struct {
		name       string
		p          RetryPolicy
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{"first retry at most base", fixedPolicy, 1, 0, time.Second},
		{"doubles", fixedPolicy, 2, 0, 2 * time.Second},
		{"doubles again", fixedPolicy, 4, 0, 8 * time.Second},
		{"capped", fixedPolicy, 5, 0, 10 * time.Second},
		{"capped far out without overflow", fixedPolicy, 200, 0, 10 * time.Second},
		{"full jitter can be zero", RetryPolicy{Base: time.Second, Cap: time.Minute, Jitter: zero}, 3, 0, 0},
		{"retry-after raises the delay", RetryPolicy{Base: time.Second, Cap: time.Minute, Jitter: zero}, 1, 2 * time.Second, 2 * time.Second},
		{"retry-after below backoff keeps backoff", fixedPolicy, 4, 2 * time.Second, 8 * time.Second},
		{"retry-after capped at 1h", RetryPolicy{Base: time.Second, Cap: time.Minute, Jitter: zero}, 1, 5 * time.Hour, time.Hour},
		{"retry-after custom cap", RetryPolicy{Base: time.Second, Cap: time.Minute, MaxRetryAfter: time.Minute, Jitter: zero}, 1, time.Hour, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.attempt, tt.retryAfter); got != tt.want {
				t.Errorf("Delay(%d, %v) = %v, want %v", tt.attempt, tt.retryAfter, got, tt.want)
			}
		})
	}
	// The real jitter stays within [0, step].
	p := RetryPolicy{Base: 100 * time.Millisecond, Cap: time.Second}
	for i := 0; i < 1000; i++ {
		if d := p.Delay(3, 0); d < 0 || d > 400*time.Millisecond {
			t.Fatalf("Delay(3) = %v, outside [0, 400ms]", d)
		}
	}
}

func TestClaimKeepsConversationOrder(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	a1 := addOutgoing(t, s, 1, "conv_a", "a1")
	a2 := addOutgoing(t, s, 1, "conv_a", "a2")
	b1 := addOutgoing(t, s, 1, "conv_b", "b1")
	a3 := addOutgoing(t, s, 1, "conv_a", "a3")
	other := addOutgoing(t, s, 2, "conv_a", "same conversation id, other config")

	now := clock.Now()
	if got, want := claimIDs(t, s, now, 10), []uint64{a1.MessageID, b1.MessageID, other.MessageID}; !equalIDs(got, want) {
		t.Fatalf("first claim = %v, want the heads %v", got, want)
	}
	if got := claimIDs(t, s, now, 10); len(got) != 0 {
		t.Fatalf("second claim = %v, want nothing while heads are in flight", got)
	}
	// a1 fails once: a2 must wait behind it, b1's success does not free a2.
	out, err := s.RecordDeliveryAttempt(a1.MessageID, DeliveryAttempt{StatusCode: 500, Err: "HTTP 500", MaxAttempts: 4}, fixedPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != StatusPending || !out.NextAttemptAt.Equal(now.Add(time.Second)) || out.Attempt != 1 {
		t.Fatalf("outcome = %+v, want pending retry at +1s, attempt 1", out)
	}
	if _, err := s.RecordDeliveryAttempt(b1.MessageID, DeliveryAttempt{OK: true, StatusCode: 200, MaxAttempts: 4}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	if got := claimIDs(t, s, now, 10); len(got) != 0 {
		t.Fatalf("claim before a1's retry = %v, want nothing (a2 waits behind a1)", got)
	}
	clock.Add(time.Second)
	if got, want := claimIDs(t, s, clock.Now(), 10), []uint64{a1.MessageID}; !equalIDs(got, want) {
		t.Fatalf("claim at retry time = %v, want %v", got, want)
	}
	if _, err := s.RecordDeliveryAttempt(a1.MessageID, DeliveryAttempt{OK: true, StatusCode: 204, MaxAttempts: 4}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	if got, want := claimIDs(t, s, clock.Now(), 10), []uint64{a2.MessageID}; !equalIDs(got, want) {
		t.Fatalf("claim after a1 = %v, want %v", got, want)
	}
	if _, err := s.RecordDeliveryAttempt(a2.MessageID, DeliveryAttempt{OK: true, StatusCode: 200, MaxAttempts: 4}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	if got, want := claimIDs(t, s, clock.Now(), 10), []uint64{a3.MessageID}; !equalIDs(got, want) {
		t.Fatalf("claim after a2 = %v, want %v", got, want)
	}
	m, err := s.OutgoingMessage(a1.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusSent || m.Attempts != 2 || m.LastHTTPStatus != 204 || m.LastError != "" || !m.DeliveredAt.Equal(clock.Now()) {
		t.Errorf("a1 = status %s attempts %d http %d err %q delivered %v; want sent, 2, 204, no error, now",
			m.Status, m.Attempts, m.LastHTTPStatus, m.LastError, m.DeliveredAt)
	}
}

func TestFailedAfterMaxAttemptsThenRedeliver(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	job := addOutgoing(t, s, 1, "c", "hello")
	next := addOutgoing(t, s, 1, "c", "after")
	fail := DeliveryAttempt{StatusCode: 500, Err: "HTTP 500: boom", Latency: 12 * time.Millisecond, MaxAttempts: 2}

	claimIDs(t, s, clock.Now(), 1)
	if out, err := s.RecordDeliveryAttempt(job.MessageID, fail, fixedPolicy); err != nil || out.Status != StatusPending {
		t.Fatalf("first failure: %+v, %v; want pending", out, err)
	}
	clock.Add(time.Second)
	if got := claimIDs(t, s, clock.Now(), 5); !equalIDs(got, []uint64{job.MessageID}) {
		t.Fatalf("claim = %v, want the retry of %d", got, job.MessageID)
	}
	out, err := s.RecordDeliveryAttempt(job.MessageID, fail, fixedPolicy)
	if err != nil || out.Status != StatusFailed || out.Attempt != 2 {
		t.Fatalf("second failure: %+v, %v; want failed after 2 attempts", out, err)
	}
	if _, err := s.DeliveryJobFor(job.MessageID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job after failure: %v, want ErrNotFound", err)
	}
	m, _ := s.OutgoingMessage(job.MessageID)
	if m.Status != StatusFailed || m.Attempts != 2 || m.LastHTTPStatus != 500 || m.LastError != "HTTP 500: boom" || m.DeliveryLatencyMS != 12 {
		t.Fatalf("message = %+v", m)
	}
	// The failure releases the conversation.
	if got := claimIDs(t, s, clock.Now(), 5); !equalIDs(got, []uint64{next.MessageID}) {
		t.Fatalf("claim = %v, want %d", got, next.MessageID)
	}

	re, err := s.RedeliverMessage(job.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if re.WebhookID != job.WebhookID || re.Attempt != 0 {
		t.Fatalf("redelivery job = %+v, want webhook id %q and no attempts", re, job.WebhookID)
	}
	if _, err := s.RedeliverMessage(job.MessageID); !errors.Is(err, ErrConflict) {
		t.Fatalf("second redeliver: %v, want ErrConflict", err)
	}
	if _, err := s.RedeliverMessage(next.MessageID); !errors.Is(err, ErrConflict) {
		t.Fatalf("redeliver of a pending message: %v, want ErrConflict", err)
	}
	if _, err := s.RedeliverMessage(999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("redeliver of a missing message: %v, want ErrNotFound", err)
	}
	// Queued behind next, which is still in flight.
	if got := claimIDs(t, s, clock.Now(), 5); len(got) != 0 {
		t.Fatalf("claim = %v, want nothing: the redelivery waits behind %d", got, next.MessageID)
	}
	if _, err := s.RecordDeliveryAttempt(next.MessageID, DeliveryAttempt{OK: true, StatusCode: 200, MaxAttempts: 2}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimDeliveries(clock.Now(), 5, nil)
	if err != nil || len(ds) != 1 || ds[0].Job.WebhookID != job.WebhookID || ds[0].Message.Text != "hello" {
		t.Fatalf("claim redelivery = %+v, %v", ds, err)
	}
	m, _ = s.OutgoingMessage(job.MessageID)
	if m.Status != StatusPending {
		t.Fatalf("status after redeliver = %s, want pending", m.Status)
	}
}

func TestPermanentFailureStopsRetries(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	job := addOutgoing(t, s, 1, "c", "x")
	claimIDs(t, s, clock.Now(), 1)
	out, err := s.RecordDeliveryAttempt(job.MessageID, DeliveryAttempt{StatusCode: 410, Err: "HTTP 410 Gone", Permanent: true, MaxAttempts: 5}, fixedPolicy)
	if err != nil || out.Status != StatusFailed || out.Attempt != 1 {
		t.Fatalf("outcome = %+v, %v; want failed at once", out, err)
	}
	if n, _ := s.PendingDeliveries(); n != 0 {
		t.Fatalf("pending = %d, want 0", n)
	}
}

func TestRecoverRequeuesInFlightJobs(t *testing.T) {
	dir := t.TempDir()
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s, err := Open(dir, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	a := addOutgoing(t, s, 1, "a", "1")
	addOutgoing(t, s, 1, "a", "2")
	b := addOutgoing(t, s, 1, "b", "1")
	if got := claimIDs(t, s, clock.Now(), 10); !equalIDs(got, []uint64{a.MessageID, b.MessageID}) {
		t.Fatalf("claim = %v", got)
	}
	s.Close() // a crash: both in flight, nothing recorded

	// The claims lived in the crashed process: both jobs are due again.
	s = openDeliveryStore(t, dir, clock.Now)
	n, err := s.RecoverDeliveries()
	if err != nil || n != 3 {
		t.Fatalf("recover = %d, %v; want 3 queued", n, err)
	}
	ds, err := s.ClaimDeliveries(clock.Now(), 10, nil)
	if err != nil || len(ds) != 2 || ds[0].Job.WebhookID != a.WebhookID || ds[1].Job.WebhookID != b.WebhookID {
		t.Fatalf("claim after recovery = %+v, %v; want a and b with their webhook ids", ds, err)
	}
}

func TestClaimHoldsAConfig(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s := openDeliveryStore(t, t.TempDir(), clock.Now)
	held := addOutgoing(t, s, 1, "a", "1")
	free := addOutgoing(t, s, 2, "a", "1")
	now := clock.Now()
	until := now.Add(time.Minute)
	ds, err := s.ClaimDeliveries(now, 10, func(configID, _ uint64, _ time.Time) time.Time {
		if configID == 1 {
			return until
		}
		return time.Time{}
	})
	if err != nil || len(ds) != 1 || ds[0].Job.MessageID != free.MessageID {
		t.Fatalf("claim = %+v, %v; want only config 2's job", ds, err)
	}
	if next, ok, _ := s.NextDeliveryDue(); !ok || !next.Equal(until) {
		t.Fatalf("next due = %v %v, want %v", next, ok, until)
	}
	job, _ := s.DeliveryJobFor(held.MessageID)
	if job.Attempt != 0 {
		t.Fatalf("held job attempts = %d, want 0 (holding is not an attempt)", job.Attempt)
	}
	if got := claimIDs(t, s, until, 10); !equalIDs(got, []uint64{held.MessageID}) {
		t.Fatalf("claim after hold = %v", got)
	}
}

// The next attempt time is in bbolt: after a restart the retry happens on
// schedule, not earlier and not lost. synctest's clock makes the hour pass
// at once.
func TestRetryScheduleSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		job := addOutgoing(t, s, 1, "c", "x")
		claimIDs(t, s, time.Now(), 1)
		start := time.Now()
		out, err := s.RecordDeliveryAttempt(job.MessageID, DeliveryAttempt{StatusCode: 429, RetryAfter: 2 * time.Hour, MaxAttempts: 3},
			RetryPolicy{Base: time.Second, Cap: time.Minute, Jitter: func(int64) int64 { return 0 }})
		if err != nil {
			t.Fatal(err)
		}
		if want := start.Add(time.Hour); !out.NextAttemptAt.Equal(want) {
			t.Fatalf("next attempt %v, want %v (Retry-After capped at 1h)", out.NextAttemptAt, want)
		}
		s.Close()

		time.Sleep(59 * time.Minute)
		s = openDeliveryStore(t, dir, nil)
		if _, err := s.RecoverDeliveries(); err != nil {
			t.Fatal(err)
		}
		if got := claimIDs(t, s, time.Now(), 1); len(got) != 0 {
			t.Fatalf("claim after 59 min = %v, want nothing yet", got)
		}
		time.Sleep(time.Minute)
		if got := claimIDs(t, s, time.Now(), 1); !equalIDs(got, []uint64{job.MessageID}) {
			t.Fatalf("claim after 60 min = %v, want %d", got, job.MessageID)
		}
	})
}

func TestOnDeliveryQueuedFiresAfterCommit(t *testing.T) {
	s := openDeliveryStore(t, t.TempDir(), nil)
	var calls int
	s.OnDeliveryQueued(func() { calls++ })
	job := addOutgoing(t, s, 1, "c", "x")
	if calls != 1 {
		t.Fatalf("calls after queuing = %d, want 1", calls)
	}
	if err := s.SetAdminTokenHash("h"); err != nil {
		t.Fatal(err)
	}
	claimIDs(t, s, s.Now(), 1)
	if _, err := s.RecordDeliveryAttempt(job.MessageID, DeliveryAttempt{StatusCode: 500, MaxAttempts: 1}, fixedPolicy); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Fatalf("calls after other writes = %d, want still 1", calls)
	}
	if _, err := s.RedeliverMessage(job.MessageID); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Fatalf("calls after redelivery = %d, want 2", calls)
	}
	// A transaction that fails after queuing does not notify.
	err := s.update(func(tx *bolt.Tx) error {
		if err := putDeliveryJobTx(tx, DeliveryJob{MessageID: 99, ConfigID: 1, ConversationID: "z"}); err != nil {
			return err
		}
		return errors.New("rolled back")
	})
	if err == nil || calls != 2 {
		t.Fatalf("rolled back: err %v, calls %d; want an error and still 2", err, calls)
	}
}
