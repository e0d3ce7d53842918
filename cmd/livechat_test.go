package cmd

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

func TestServeRejectsBadLiveChatFlags(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--livechat-no-agent", "wait"}, nil, "--livechat-no-agent must be notify or close"},
		{nil, map[string]string{"CHATBOT_LIVECHAT_NO_AGENT": "ignore"}, "--livechat-no-agent"},
		{[]string{"--livechat-timeout", "-1s"}, nil, "--livechat-timeout must not be negative"},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...)
		_, _, err := run(t, mapEnv(c.env), args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v env %v: error %v, want it to mention %q", c.args, c.env, err, c.want)
		}
	}
}

// nopOutbox accepts every message; the lifecycle test needs no delivery.
type nopOutbox struct{}

func (nopOutbox) AddOutgoingForDelivery(m *store.Message) (store.DeliveryJob, error) {
	return store.DeliveryJob{MessageID: 1}, nil
}

// TestStartLiveChatStops: shutdown ends the event streams (so HTTP can
// drain) and the timeout loop.
func TestStartLiveChatStops(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.DiscardHandler)
	lc, err := newLiveChat(config{LiveChatTimeout: time.Minute, LiveChatNoAgent: "notify", LiveChatPhrases: "mensch bitte, kundendienst"}, st, nopOutbox{}, nil, log)
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
