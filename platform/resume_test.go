package platform

import (
	"context"
	"testing"

	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// A message acknowledged but not answered before a stop is answered and
// delivered through the platform at the next start.
func TestClaimAnswersMessagesLeftUnansweredByTheLastStop(t *testing.T) {
	hs := newHarness(t, nil)
	a, err := hs.turns.Accept(context.Background(), conversation.Inbound{Channel: conversation.Webhook, ConfigID: hs.cfg.ID,
		Platform: "chatwoot", ConversationID: "58", UserID: "311", Text: "left over", PlatformMessageID: "8001",
		Mode: store.ResponseAsync, Deliver: true})
	if err != nil {
		t.Fatal(err)
	}
	hs.turns.Release(a) // the process stopped here
	start, err := hs.h.Claim()
	if err != nil {
		t.Fatal(err)
	}
	if n := start(); n != 1 {
		t.Fatalf("started %d answers, want 1", n)
	}
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	if got.Path != messagesPath("58") || got.Body["content"] != "Answer: left over" {
		t.Fatalf("delivered %+v", got)
	}
	if n := len(hs.cw.recorded()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}
