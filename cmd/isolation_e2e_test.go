package cmd

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Two integrations of one provider through a real serve: the incoming
// webhook, the engine, the live chat, the delivery worker and one receiving
// platform per integration. Issue 13's dedupe crossing and live-chat hijack
// must not cross from one Zendesk brand to the other.

type isoReply struct {
	Duplicate bool   `json:"duplicate"`
	MessageID uint64 `json:"message_id"`
	Response  struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
		UserInfo     struct {
			UserID         string `json:"user_id"`
			Username       string `json:"username"`
			ConversationID string `json:"conversation_id"`
		} `json:"user_info"`
	} `json:"response"`
}

type isoEnv struct {
	e2e
	tokA, tokB string
	gotA, gotB chan e2ePayload
}

func receiver(t *testing.T) (string, chan e2ePayload) {
	got := make(chan e2ePayload, 32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p e2ePayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("platform got a bad body: %v", err)
		}
		got <- p
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

func newIsoEnv(t *testing.T) *isoEnv {
	urlA, gotA := receiver(t)
	urlB, gotB := receiver(t)
	a, _ := startApp(t, config{AdminToken: e2eAdmin, AllowOutgoing: "127.0.0.0/8", Answer: answerConfig{LLM: llmNone}})
	env := &isoEnv{e2e: e2e{t: t, base: "http://" + a.Addr()}, gotA: gotA, gotB: gotB}
	for _, c := range []struct {
		name, url string
		tok       *string
	}{{"Zendesk Brand A", urlA, &env.tokA}, {"Zendesk Brand B", urlB, &env.tokB}} {
		var created struct {
			Config struct {
				IncomingToken string `json:"incoming_token"`
			} `json:"config"`
		}
		if s := env.do("POST", "/api/webhook/config", e2eAdmin, map[string]any{
			"name": c.name, "provider": "zendesk", "outgoing_webhook_url": c.url, "retry_attempts": 3, "timeout_seconds": 5}, &created); s != 201 {
			t.Fatalf("create %s: %d", c.name, s)
		}
		*c.tok = created.Config.IncomingToken
	}
	return env
}

func (e *isoEnv) send(token string, body map[string]any) isoReply {
	e.t.Helper()
	var r isoReply
	if s := e.do("POST", "/api/webhook/incoming", token, body, &r); s != 200 {
		e.t.Fatalf("incoming %v: %d %+v", body, s, r)
	}
	return r
}

// wait takes the next delivery to one platform.
func wait(t *testing.T, ch chan e2ePayload, who string) e2ePayload {
	t.Helper()
	select {
	case p := <-ch:
		return p
	case <-time.After(30 * time.Second):
		t.Fatalf("no delivery to %s in 30s", who)
	}
	return e2ePayload{}
}

func TestIsolationDedupeEndToEnd(t *testing.T) {
	e := newIsoEnv(t)
	victim := e.send(e.tokB, map[string]any{"user_id": "victim", "username": "Vera Victim", "conversation_id": "conv-b",
		"message_id": "zd-1001", "message": "how do I reset my password?"})
	if victim.Duplicate {
		t.Fatalf("victim = %+v", victim)
	}
	if p := wait(t, e.gotB, "B"); p.UserID != "victim" || p.ConversationID != "conv-b" {
		t.Fatalf("B's delivery = %+v", p)
	}
	// A sends B's message id: a new message of A's, answered for A's user.
	probe := e.send(e.tokA, map[string]any{"user_id": "attacker", "conversation_id": "conv-a", "message_id": "zd-1001", "message": "hello"})
	if probe.Duplicate || probe.MessageID == victim.MessageID || probe.Response.UserInfo.UserID != "attacker" ||
		probe.Response.UserInfo.Username != "" || probe.Response.UserInfo.ConversationID != "conv-a" {
		t.Fatalf("A's probe got B's message: %+v", probe)
	}
	if p := wait(t, e.gotA, "A"); p.UserID != "attacker" || p.ConversationID != "conv-a" {
		t.Fatalf("A's delivery = %+v", p)
	}
	// The other way round: A first, then B's real message with the id.
	e.send(e.tokA, map[string]any{"user_id": "attacker", "conversation_id": "conv-a", "message_id": "zd-2002", "message": "first"})
	wait(t, e.gotA, "A")
	real := e.send(e.tokB, map[string]any{"user_id": "victim", "conversation_id": "conv-b", "message_id": "zd-2002", "message": "where is my order?"})
	if real.Duplicate || real.Response.UserInfo.UserID != "victim" {
		t.Fatalf("B's real message was taken for A's: %+v", real)
	}
	if p := wait(t, e.gotB, "B"); p.UserID != "victim" || p.Message != real.Response.Answer {
		t.Fatalf("B's answer delivery = %+v", p)
	}
	var listed struct {
		Messages []struct {
			ConfigID uint64 `json:"config_id"`
			Text     string `json:"message"`
		} `json:"messages"`
	}
	e.do("GET", "/api/webhook/messages?message_type=incoming&conversation_id=conv-b", e2eAdmin, nil, &listed)
	if len(listed.Messages) != 2 || listed.Messages[0].Text != "where is my order?" || listed.Messages[0].ConfigID != 2 {
		t.Fatalf("B's stored messages = %+v", listed.Messages)
	}
}

func TestIsolationLiveChatHijackEndToEnd(t *testing.T) {
	e := newIsoEnv(t)
	e.send(e.tokB, map[string]any{"user_id": "victim", "conversation_id": "conv-victim", "message": "what is my balance?"})
	wait(t, e.gotB, "B")
	// With A's token, the attacker asks for a human in B's conversation.
	hijack := e.send(e.tokA, map[string]any{"user_id": "attacker", "conversation_id": "conv-victim", "message": "I want to talk to a human"})
	if hijack.Response.ResponseType != "live_chat_transfer" {
		t.Fatalf("attacker = %+v", hijack)
	}
	notice := wait(t, e.gotA, "A")
	session := notice.SessionID
	if notice.UserID != "attacker" || notice.SenderType != "system" || !strings.HasPrefix(session, "live_") {
		t.Fatalf("A's notice = %+v", notice)
	}
	// The victim's next message through B goes to the bot, not the session.
	next := e.send(e.tokB, map[string]any{"user_id": "victim", "conversation_id": "conv-victim", "message": "my account number is 12345"})
	if next.Response.ResponseType == "live_chat_message" || next.Response.Answer == "" {
		t.Fatalf("victim's message was routed to the attacker's session: %+v", next)
	}
	if p := wait(t, e.gotB, "B"); p.UserID != "victim" || p.SenderType != "bot" || p.SessionID != "" {
		t.Fatalf("B's delivery = %+v", p)
	}
	// The agent accepts: the transcript holds A's conversation only.
	var acc struct {
		Session struct {
			UserMessages int    `json:"user_messages"`
			UserID       string `json:"user_id"`
		} `json:"session"`
		Transcript []struct {
			Message string `json:"message"`
		} `json:"transcript"`
	}
	if s := e.do("POST", "/api/livechat/sessions/"+session+"/accept", e2eAdmin, map[string]string{"agent": "Sarah"}, &acc); s != 200 {
		t.Fatalf("accept: %d", s)
	}
	for _, m := range acc.Transcript {
		if strings.Contains(m.Message, "balance") || strings.Contains(m.Message, "12345") {
			t.Fatalf("the agent sees the victim's message %q in the attacker's session", m.Message)
		}
	}
	if acc.Session.UserMessages != 0 || acc.Session.UserID != "attacker" {
		t.Fatalf("session = %+v", acc.Session)
	}
	if s := e.do("POST", "/api/livechat/sessions/"+session+"/messages", e2eAdmin, map[string]string{"message": "Hello, Sarah here."}, nil); s != 201 {
		t.Fatalf("agent message: %d", s)
	}
	// Both agent messages go to A, for the attacker; none to B.
	for _, want := range []string{"Agent Sarah is now connected and will help you from here.", "Hello, Sarah here."} {
		if p := wait(t, e.gotA, "A"); p.Message != want || p.UserID != "attacker" || p.SenderType != "agent" {
			t.Fatalf("A's delivery = %+v, want %q", p, want)
		}
	}
	// B's user is still with the bot.
	again := e.send(e.tokB, map[string]any{"user_id": "victim", "conversation_id": "conv-victim", "message": "hello?"})
	if strings.HasPrefix(again.Response.ResponseType, "live_chat") {
		t.Fatalf("victim = %+v", again)
	}
	if p := wait(t, e.gotB, "B"); p.SenderType != "bot" || p.UserID != "victim" {
		t.Fatalf("B got %+v", p)
	}
	select {
	case p := <-e.gotB:
		t.Fatalf("B got an unexpected delivery %+v", p)
	default:
	}
}
