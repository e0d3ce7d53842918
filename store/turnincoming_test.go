package store

import (
	"testing"
	"time"
)

func newIncomingMsg(id, text string) *Message {
	return &Message{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1", UserID: "u1", Text: text, PlatformMessageID: id}
}

func replyMsg(text string) *Message {
	return &Message{Type: MessageOutgoing, ConfigID: 1, Platform: "chatwoot", ConversationID: "c1", UserID: "u1", Text: text,
		ResponseType: "extractive"}
}

// A synchronous turn's message, dedupe key, reply, delivery job and
// memory are one commit; the message is answered, not left unanswered,
// and comes before its reply.
func TestNewIncomingIsStoredWithItsReplyInOneCommit(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	in := &NewIncoming{Message: newIncomingMsg("m1", "how long?"), Retention: time.Hour}
	out := replyMsg("Five days.")
	mem := MemoryAppend{Ref: ref, Turns: []Turn{{Role: RoleUser, Text: "how long?"}, {Role: RoleAssistant, Text: "Five days."}}}
	before := s.Commits()
	if err := s.InsertReply(0, out, true, in, mem); err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Fatalf("commits = %d, want 1", got)
	}
	m := in.Result.Message
	if in.AnsweredBefore || in.Result.Duplicate || m.ID == 0 || m.ID >= out.ID || m.ResponseID != out.ID || m.Type != MessageIncoming ||
		m.Status != StatusReceived || out.ReplyTo != m.ID || out.Status != StatusPending {
		t.Fatalf("result %+v, message %+v, reply %+v", in, m, out)
	}
	if u, err := s.Unanswered(10); err != nil || len(u) != 0 {
		t.Fatalf("unanswered = %+v, %v", u, err)
	}
	if c, err := s.Conversation(ref); err != nil || len(c.Turns) != 2 {
		t.Fatalf("memory = %+v, %v", c.Turns, err)
	}
	if job, err := s.DeliveryJobFor(out.ID); err != nil || job.MessageID != out.ID {
		t.Fatalf("delivery job = %+v, %v", job, err)
	}
	dup, err := s.InsertIncoming(newIncomingMsg("m1", "how long?"), time.Hour)
	if err != nil || !dup.Duplicate || dup.Message.ID != m.ID || dup.Response == nil || dup.Response.ID != out.ID {
		t.Fatalf("the same message id again = %+v, %v; want the stored message and its answer", dup, err)
	}
}

// The message id stored alone first (an async retry, or the turn's own
// failure path) gets this reply; one already answered gets nothing of
// this turn written.
func TestNewIncomingFindsTheMessageIDStoredBefore(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	alone, err := s.InsertIncoming(newIncomingMsg("m1", "how long?"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in := &NewIncoming{Message: newIncomingMsg("m1", "how long?"), Retention: time.Hour}
	out := replyMsg("Five days.")
	if err := s.InsertReply(0, out, false, in); err != nil {
		t.Fatal(err)
	}
	if !in.Result.Duplicate || in.AnsweredBefore || in.Result.Message.ID != alone.Message.ID || in.Result.Message.ResponseID != out.ID || out.ReplyTo != alone.Message.ID {
		t.Fatalf("result %+v (message %+v); want the reply on message %d", in, in.Result.Message, alone.Message.ID)
	}
	if u, err := s.Unanswered(10); err != nil || len(u) != 0 {
		t.Fatalf("unanswered = %+v, %v", u, err)
	}

	again := &NewIncoming{Message: newIncomingMsg("m1", "how long?"), Retention: time.Hour}
	second := replyMsg("Six days.")
	mem := MemoryAppend{Ref: ref, Turns: []Turn{{Role: RoleUser, Text: "how long?"}}}
	if err := s.InsertReply(0, second, false, again, mem); err != nil {
		t.Fatal(err)
	}
	if !again.AnsweredBefore || again.Result.Message.ID != alone.Message.ID || again.Result.Response == nil || again.Result.Response.ID != out.ID {
		t.Fatalf("answered before = %+v; want the first answer", again)
	}
	if list, total, err := s.ListMessages(MessageFilter{}, 0, 10); err != nil || total != 2 {
		t.Fatalf("messages = %+v (%d), %v; want the message and its first reply only", list, total, err)
	}
	if c, err := s.Conversation(ref); err == nil {
		t.Fatalf("memory written for a turn answered before: %+v", c.Turns)
	}
}

// InsertReply takes the incoming message's id or the message, exactly
// one; RecordHandled does not store messages.
func TestNewIncomingMisuse(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	alone, err := s.InsertIncoming(newIncomingMsg("m1", "hi"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertReply(0, replyMsg("x"), false); err == nil {
		t.Error("a reply to no message was stored")
	}
	if err := s.InsertReply(alone.Message.ID, replyMsg("x"), false, &NewIncoming{Message: newIncomingMsg("m2", "hi")}); err == nil {
		t.Error("a reply to two messages was stored")
	}
	if err := s.RecordHandled(alone.Message.ID, "paused", "", 0, &NewIncoming{Message: newIncomingMsg("m2", "hi")}); err == nil {
		t.Error("RecordHandled stored a message")
	}
	if list, total, err := s.ListMessages(MessageFilter{}, 0, 10); err != nil || total != 1 {
		t.Fatalf("messages = %+v (%d), %v; want the first only", list, total, err)
	}
}
