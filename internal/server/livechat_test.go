package server

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// TestStartLiveChatStops: shutdown ends the event streams (so HTTP can
// drain) and the timeout loop.
func TestStartLiveChatStops(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	lc, err := newLiveChat(Config{LiveChatTimeout: time.Minute, LiveChatNoAgent: "notify", LiveChatPhrases: "mensch bitte, kundendienst"}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	if reply, ok, err := lc.Route(context.Background(), chat.Request{ConversationID: "c", Text: "Kundendienst!"}); !ok || err != nil || reply.Type != chat.TypeLiveChatTransfer {
		t.Fatalf("configured phrase: %+v %v %v", reply, ok, err)
	}
	srv := &http.Server{}
	stop := startLiveChat(srv, lc, log)
	sub, _, _, _, _ := lc.Hub().Subscribe("", 0)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, open := <-sub.Events(); open {
		t.Fatal("stream still open after stop")
	}
}
