package store

import (
	"errors"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// inRerunBatch runs call so that its batched function runs twice: it joins
// a batch behind a held leader, with a probe before it and a function that
// fails after it, so the shared transaction is rolled back and the probe
// and call run again. It returns call's error and fails the test unless
// the probe really ran twice.
func inRerunBatch(t *testing.T, s *Store, call func() error) error {
	t.Helper()
	release, leaderDone := holdLeader(t, s)
	probeRuns := 0
	probe := make(chan error, 1)
	go func() {
		probe <- s.batch(func(tx *bolt.Tx) error { probeRuns++; return nil })
	}()
	waitQueued(s, 1)
	res := make(chan error, 1)
	go func() { res <- call() }()
	waitQueued(s, 2)
	failed := make(chan error, 1)
	go func() {
		failed <- s.batch(func(tx *bolt.Tx) error { return errors.New("forced failure") })
	}()
	waitQueued(s, 3)
	close(release)
	if err := <-leaderDone; err != nil {
		t.Fatal(err)
	}
	if err := <-failed; err == nil {
		t.Fatal("the failing function succeeded")
	}
	err := <-res
	if err := <-probe; err != nil {
		t.Fatal(err)
	}
	if probeRuns != 2 {
		t.Fatalf("the batch ran %d times, want 2: the test did not force a re-run", probeRuns)
	}
	return err
}

// Every store method that shares commits (batch) leaves the state of one
// run when its function is run twice (BAD_INPUTS E.53).
func TestBatchedWritesAreIdempotentOnRerun(t *testing.T) {
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}

	t.Run("InsertIncoming", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		var res IncomingResult
		err := inRerunBatch(t, s, func() (err error) {
			res, err = s.InsertIncoming(&Message{Platform: "freshchat", ConversationID: "c", UserID: "u",
				Text: "hi", PlatformMessageID: "m1"}, time.Hour)
			return err
		})
		if err != nil || res.Duplicate || res.Message.ID == 0 {
			t.Fatalf("InsertIncoming = %+v, %v; want a new message", res, err)
		}
		msgs, total, err := s.ListMessages(MessageFilter{}, 0, 10)
		if err != nil || total != 1 || msgs[0].ID != res.Message.ID {
			t.Fatalf("stored %d messages (%v), want exactly the one returned", total, err)
		}
		again, err := s.InsertIncoming(&Message{Platform: "freshchat", ConversationID: "c", UserID: "u",
			Text: "hi", PlatformMessageID: "m1"}, time.Hour)
		if err != nil || !again.Duplicate || again.Message.ID != res.Message.ID {
			t.Fatalf("retry = %+v, %v; want the duplicate of %d", again, err, res.Message.ID)
		}
	})

	t.Run("InsertReply", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		in, err := s.InsertIncoming(&Message{Platform: "freshchat", ConversationID: "c", UserID: "u", Text: "q"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		out := &Message{Type: MessageOutgoing, ConfigID: 1, Platform: "freshchat", ConversationID: "c", UserID: "u", Text: "a"}
		if err := inRerunBatch(t, s, func() error { return s.InsertReply(in.Message.ID, out, true) }); err != nil {
			t.Fatal(err)
		}
		_, total, _ := s.ListMessages(MessageFilter{Type: MessageOutgoing}, 0, 10)
		n, _ := s.PendingDeliveries()
		first, _ := s.Message(in.Message.ID)
		if total != 1 || n != 1 || first.ResponseID != out.ID {
			t.Fatalf("outgoing %d, pending jobs %d, response id %d; want 1, 1, %d", total, n, first.ResponseID, out.ID)
		}
	})

	t.Run("AppendTurns", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		var c Conversation
		err := inRerunBatch(t, s, func() (err error) {
			c, err = s.AppendTurns(ConvRef{Platform: "freshchat", ConversationID: "c"}, 0, 0, Turn{Role: RoleUser, Text: "q", Tokens: 1},
				Turn{Role: RoleAssistant, Text: "a", Tokens: 1})
			return err
		})
		stored, _ := s.Conversation(ConvRef{Platform: "freshchat", ConversationID: "c"})
		if err != nil || len(c.Turns) != 2 || c.TotalTurns != 2 || len(stored.Turns) != 2 || stored.TotalTurns != 2 {
			t.Fatalf("returned %d turns (total %d), stored %d (total %d), %v; want 2 each",
				len(c.Turns), c.TotalTurns, len(stored.Turns), stored.TotalTurns, err)
		}
	})

	t.Run("AddOutgoingForDelivery", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		var job DeliveryJob
		err := inRerunBatch(t, s, func() (err error) {
			job, err = s.AddOutgoingForDelivery(&Message{Type: MessageAgentOutgoing, ConfigID: 1,
				Platform: "freshchat", ConversationID: "c", UserID: "u", Text: "agent"})
			return err
		})
		n, _ := s.PendingDeliveries()
		stored, jerr := s.DeliveryJobFor(job.MessageID)
		if err != nil || n != 1 || jerr != nil || stored.WebhookID != job.WebhookID {
			t.Fatalf("job %+v, %v; %d pending, stored %+v %v; want the one returned", job, err, n, stored, jerr)
		}
	})

	t.Run("ClaimDeliveries", func(t *testing.T) {
		// The claim is in memory; it commits only to move a held job, so
		// the job a tripped circuit holds back is what runs in the batch.
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		a := addOutgoing(t, s, 1, "a", "1")
		addOutgoing(t, s, 2, "b", "1")
		later := clock.Now().Add(time.Minute)
		asked := map[uint64]int{}
		var ds []Delivery
		err := inRerunBatch(t, s, func() (err error) {
			ds, err = s.ClaimDeliveries(clock.Now(), 10, func(configID, _ uint64, _ time.Time) time.Time {
				asked[configID]++ // a side effect, like granting a circuit's probe
				if configID == 2 {
					return later
				}
				return time.Time{}
			})
			return err
		})
		var ids []uint64
		for _, d := range ds {
			ids = append(ids, d.Job.MessageID)
		}
		if err != nil || !equalIDs(ids, []uint64{a.MessageID}) {
			t.Fatalf("claimed %v, %v; want %v", ids, err, []uint64{a.MessageID})
		}
		if asked[1] != 1 || asked[2] != 1 {
			t.Fatalf("hold asked %v, want once per job", asked)
		}
		if next, ok, err := s.NextDeliveryDue(); err != nil || !ok || !next.Equal(later.UTC()) {
			t.Fatalf("next due = %v, %v, %v; want the held job at %v", next, ok, err, later)
		}
	})

	t.Run("RecordDeliveryAttempt", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		job := addOutgoing(t, s, 1, "a", "1")
		claimIDs(t, s, clock.Now(), 10)
		var out DeliveryOutcome
		err := inRerunBatch(t, s, func() (err error) {
			out, err = s.RecordDeliveryAttempt(job.MessageID, DeliveryAttempt{StatusCode: 500, Err: "HTTP 500", MaxAttempts: 3}, fixedPolicy)
			return err
		})
		stored, _ := s.DeliveryJobFor(job.MessageID)
		m, _ := s.Message(job.MessageID)
		if err != nil || out.Attempt != 1 || out.Status != StatusPending || stored.Attempt != 1 || m.Attempts != 1 {
			t.Fatalf("outcome %+v, %v; job attempts %d, message attempts %d; want 1 attempt, pending",
				out, err, stored.Attempt, m.Attempts)
		}
	})

	t.Run("RecordHandled", func(t *testing.T) {
		s := openDeliveryStore(t, t.TempDir(), clock.Now)
		in, err := s.InsertIncoming(&Message{Platform: "freshchat", ConversationID: "c", UserID: "u", Text: "q"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := inRerunBatch(t, s, func() error {
			return s.RecordHandled(in.Message.ID, "live_chat_transfer", "live_x", 7)
		}); err != nil {
			t.Fatal(err)
		}
		m, _ := s.Message(in.Message.ID)
		left, _ := s.Unanswered(10)
		if m.ResponseType != "live_chat_transfer" || m.SessionID != "live_x" || len(left) != 0 {
			t.Fatalf("message %+v, unanswered %d; want handled", m, len(left))
		}
	})
}
