package server

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// Through the served wiring (the live-chat probe, the platform steps'
// probe) a synchronous webhook message the bot answers is one commit; a
// request for a human is stored before live chat writes its notice, as
// before, and the session it opens takes the next message.
func TestServedSyncTurnIsOneCommit(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	cfg := Config{AdminToken: admin, Embedder: "builtin"}
	cfg.Answer.LLM = "none"
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	status, body := apiCall(t, http.MethodPost, base+"/api/webhook/config", admin, `{"name":"Chatwoot","provider":"chatwoot"}`)
	if status != http.StatusCreated {
		t.Fatalf("create config: %d %s", status, body)
	}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	send := func(id, text string) map[string]any {
		t.Helper()
		status, out := apiJSON(t, http.MethodPost, base+"/api/webhook/incoming", created.Config.IncomingToken,
			`{"user_id":"u1","message":"`+text+`","platform":"chatwoot","conversation_id":"c1","message_id":"`+id+`"}`)
		if status != http.StatusOK {
			t.Fatalf("incoming %s: %d %v", id, status, out)
		}
		return out
	}
	before := a.store.Commits()
	send("m1", "when do orders ship?")
	if got := a.store.Commits() - before; got != 1 {
		t.Fatalf("commits for a sync webhook turn = %d, want 1", got)
	}
	out := send("m2", "I want to talk to a human")
	resp, _ := out["response"].(map[string]any)
	if resp["response_type"] != "live_chat_transfer" {
		t.Fatalf("hand-off answer = %v", out)
	}
	msgs, _, err := a.store.ListMessages(store.MessageFilter{}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var incoming, notice uint64
	for _, m := range msgs {
		switch {
		case m.Type == store.MessageIncoming && m.PlatformMessageID == "m2":
			incoming = m.ID
		case m.ResponseType == "live_chat_transfer" && m.Type != store.MessageIncoming:
			notice = m.ID
		}
	}
	if incoming == 0 || notice == 0 || incoming > notice {
		t.Fatalf("message %d, live chat's notice %d; want the message stored first", incoming, notice)
	}
	// The session is open: the probe says so and the next message, with
	// no request for a human in it, goes to live chat, not to the bot.
	out = send("m3", "thanks")
	if resp, _ := out["response"].(map[string]any); resp["response_type"] != "live_chat_message" {
		t.Fatalf("message in an open session = %v; want it routed to the agent", out)
	}
}
