package store

import (
	"bytes"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// seedUser stores what a conversation of user leaves behind: two messages
// with platform ids (dedupe keys), a queued answer, an agent's reply, the
// memory, a live-chat session, a rating, an outcome and a gap question.
func seedUser(t *testing.T, s *Store, user, conv, secret string) (answerID uint64) {
	t.Helper()
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: conv}
	var first uint64
	for i, text := range []string{"my address is " + secret, "and my phone is " + secret} {
		res, err := s.InsertIncoming(&Message{ConfigID: 1, Platform: "chatwoot", ConversationID: conv, UserID: user,
			Text: text, PlatformMessageID: conv + "-pm-" + string(rune('a'+i))}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.Message.ID
		}
	}
	out := &Message{ConfigID: 1, Platform: "chatwoot", ConversationID: conv, UserID: user, Text: "We ship to " + secret,
		ResponseType: "extractive", SenderType: "bot", Sender: "Assistant", Sources: []MessageSource{{Title: "Shipping", Source: "ship.md", Score: 0.5}}}
	if err := s.InsertReply(first, out, true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOutgoingForDelivery(&Message{Type: MessageAgentOutgoing, ConfigID: 1, Platform: "chatwoot", ConversationID: conv,
		UserID: user, Text: "Agent here about " + secret, SenderType: "agent", Sender: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendTurns(ref, 1000, 10, Turn{Role: RoleUser, Text: "address " + secret, Tokens: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_" + conv, ConfigID: 1, Platform: "chatwoot", ConversationID: conv, UserID: user}); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordTurn(TurnEvent{Ref: ref, UserID: user, Kind: TurnAnswered, At: s.Now(),
		Gap: &GapQuestion{QuestionID: first, ConfigID: 1, ConversationID: conv, UserID: user, Question: "address " + secret, Reason: "low_confidence", At: s.Now()}},
		DefaultQuietPeriod); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.PutFeedback(Feedback{MessageID: out.ID, Rating: RatingNotHelpful, Comment: "about " + secret, Rater: user, RaterKind: RaterUser}, DefaultQuietPeriod); err != nil {
		t.Fatal(err)
	}
	return out.ID
}

// traces walks every bucket of the file, nested ones too, and returns the
// bucket names where a key or value contains one of needles.
func traces(t *testing.T, s *Store, needles ...string) []string {
	t.Helper()
	var found []string
	var walk func(name []byte, b *bolt.Bucket)
	walk = func(name []byte, b *bolt.Bucket) {
		b.ForEachBucket(func(k []byte) error { walk(append(append(clone(name), '/'), k...), b.Bucket(k)); return nil })
		b.ForEach(func(k, v []byte) error {
			for _, n := range needles {
				if bytes.Contains(k, []byte(n)) || bytes.Contains(v, []byte(n)) {
					found = append(found, string(name)+": "+n)
				}
			}
			return nil
		})
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error { walk(name, b); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func TestPurgeUserLeavesNoTraceInAnyBucket(t *testing.T) {
	s := openTest(t, Options{})
	seedUser(t, s, "user-erase", "conv-erase", "12 Elm Street")
	kept := seedUser(t, s, "user-keep", "conv-keep", "7 Oak Road")
	if got := traces(t, s, "user-erase", "conv-erase", "Elm Street"); len(got) == 0 {
		t.Fatal("the seed left nothing to find: the check would prove nothing")
	}

	rep, err := s.PurgeUser("user-erase")
	if err != nil {
		t.Fatal(err)
	}
	want := PurgeReport{UserID: "user-erase", Conversations: 1, Messages: 4, Memories: 1, Feedback: 1, LiveChatSessions: 1,
		Deliveries: 2, DedupeKeys: 2, Outcomes: 1, GapQuestions: 1}
	if rep != want {
		t.Fatalf("report: %+v\nwant     %+v", rep, want)
	}
	if got := traces(t, s, "user-erase", "conv-erase", "Elm Street", "conv-erase-pm-"); len(got) != 0 {
		t.Fatalf("traces of the purged user: %v", got)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("the file after the purge: %v", err)
	}

	// The other user's conversation is whole, and the listings agree.
	msgs, total, err := s.ListMessages(MessageFilter{}, 0, 100)
	if err != nil || total != 4 || len(msgs) != 4 {
		t.Fatalf("messages left: %d of total %d, %v; want the other user's 4", len(msgs), total, err)
	}
	for _, m := range msgs {
		if m.UserID != "user-keep" {
			t.Fatalf("a message of another user is left: %+v", m)
		}
	}
	if n, _ := s.PendingDeliveries(); n != 2 {
		t.Fatalf("pending deliveries: %d, want the other user's 2", n)
	}
	if fb, _ := s.FeedbackOn(kept); len(fb) != 1 {
		t.Fatalf("the other user's rating: %+v", fb)
	}
	if got := traces(t, s, "user-keep", "Oak Road"); len(got) == 0 {
		t.Fatal("the other user's data is gone too")
	}
	// The anonymous day counts stay.
	days, err := s.OutcomeDays(s.Now(), s.Now(), Scope{}, s.Now(), DefaultQuietPeriod)
	if err != nil || days[Day(s.Now())].Conversations != 2 {
		t.Fatalf("day counts: %+v, %v; want both conversations counted", days, err)
	}

	again, err := s.PurgeUser("user-erase")
	if err != nil || again != (PurgeReport{UserID: "user-erase"}) {
		t.Fatalf("a second purge: %+v, %v; want nothing removed", again, err)
	}
}
