package cmd

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const e2eAdmin = "e2e-admin-token-0123456789"

// e2ePayload is the outgoing delivery body, every field.
type e2ePayload struct {
	UserID         string `json:"user_id"`
	ConversationID string `json:"conversation_id"`
	Platform       string `json:"platform"`
	Message        string `json:"message"`
	ResponseType   string `json:"response_type"`
	Sender         string `json:"sender"`
	SenderType     string `json:"sender_type"`
	MessageID      uint64 `json:"message_id"`
	Timestamp      string `json:"timestamp"`
	SessionID      string `json:"session_id"`
}

type e2e struct {
	t        *testing.T
	base     string
	incoming string // the config's incoming token
	received chan e2ePayload
}

func (e *e2e) do(method, path, token string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	rq, _ := http.NewRequest(method, e.base+path, rd)
	rq.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		rq.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode
}

type incomingResponse struct {
	Success  bool `json:"success"`
	Response struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
	} `json:"response"`
	MessageID  uint64 `json:"message_id"`
	ResponseID uint64 `json:"response_id"`
}

func (e *e2e) say(text string) incomingResponse {
	e.t.Helper()
	var r incomingResponse
	status := e.do("POST", "/api/webhook/incoming", e.incoming, map[string]any{
		"user_id": "external_user_123", "username": "John Doe", "conversation_id": "conv_456",
		"platform": "freshchat", "message": text}, &r)
	if status != 200 || !r.Success {
		e.t.Fatalf("incoming %q: %d %+v", text, status, r)
	}
	return r
}

// next waits for the receiver's next payload.
func (e *e2e) next() e2ePayload {
	e.t.Helper()
	select {
	case p := <-e.received:
		return p
	case <-time.After(10 * time.Second):
		e.t.Fatal("no delivery in 10s")
	}
	return e2ePayload{}
}

func (e *e2e) check(got e2ePayload, msgType, sender, senderType, text, session string) {
	e.t.Helper()
	if got.UserID != "external_user_123" || got.ConversationID != "conv_456" || got.Platform != "freshchat" ||
		got.ResponseType != msgType || got.Sender != sender || got.SenderType != senderType ||
		got.SessionID != session || got.MessageID == 0 {
		e.t.Fatalf("payload = %+v\nwant type %s sender %s/%s session %q", got, msgType, sender, senderType, session)
	}
	if text != "" && got.Message != text {
		e.t.Fatalf("payload message = %q, want %q", got.Message, text)
	}
	if ts, err := time.Parse(time.RFC3339, got.Timestamp); err != nil || time.Since(ts) > time.Minute {
		e.t.Fatalf("timestamp %q: %v", got.Timestamp, err)
	}
}

// TestLiveChatEndToEnd is the scenario over loopback: the real
// incoming webhook, engine, live chat, delivery worker and a receiving
// platform.
func TestLiveChatEndToEnd(t *testing.T) {
	received := make(chan e2ePayload, 32)
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p e2ePayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Errorf("platform got a bad body: %v", err)
		}
		if r.Header.Get("Authorization") != "Bearer platform-token" || r.Header.Get("webhook-signature") == "" {
			t.Errorf("delivery headers: %v", r.Header)
		}
		received <- p
	}))
	defer platform.Close()

	a, _ := startApp(t, config{AdminToken: e2eAdmin, AllowOutgoing: "127.0.0.0/8", Answer: answerConfig{LLM: llmNone}})
	e := &e2e{t: t, base: "http://" + a.Addr(), received: received}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if s := e.do("POST", "/api/webhook/config", e2eAdmin, map[string]any{
		"name": "Freshchat", "provider": "freshchat", "outgoing_webhook_url": platform.URL,
		"auth_token": "platform-token", "retry_attempts": 3, "timeout_seconds": 5}, &created); s != 201 {
		t.Fatalf("create config: %d", s)
	}
	e.incoming = created.Config.IncomingToken

	// 1. A question: the bot answers, and the platform gets the answer.
	r := e.say("how do I reset my password?")
	if strings.HasPrefix(r.Response.ResponseType, "live_chat") || r.Response.Answer == "" {
		t.Fatalf("bot answer = %+v", r)
	}
	e.check(e.next(), r.Response.ResponseType, "Assistant", "bot", r.Response.Answer, "")

	// The agent console watches every session.
	stream := e.stream("/api/livechat/events")

	// 2. Asking for a human: transfer, and the platform is told by the system.
	r = e.say("Can I talk to a human please?")
	if r.Response.ResponseType != "live_chat_transfer" || !strings.HasPrefix(r.Response.Answer, "Connecting you with a human agent") {
		t.Fatalf("transfer = %+v", r)
	}
	ev := stream.next(t)
	session := ev.SessionID
	if ev.Type != "session_opened" || !strings.HasPrefix(session, "live_") {
		t.Fatalf("event = %+v", ev)
	}
	e.check(e.next(), "live_chat_transfer", "Assistant", "system", r.Response.Answer, session)

	// 3. Two messages reach the agent's stream; no AI answer, nothing delivered.
	for _, text := range []string{"my order 123 never arrived", "it was a gift"} {
		r = e.say(text)
		if r.Response.ResponseType != "live_chat_message" || r.Response.Answer != "" {
			t.Fatalf("routed message = %+v", r)
		}
		if ev := stream.next(t); ev.Type != "user_message" || ev.Message.Text != text || ev.SessionID != session {
			t.Fatalf("event = %+v", ev)
		}
	}

	// 4. The agent accepts (and sees the transcript), then replies.
	var acc struct {
		Transcript []struct {
			SenderType string `json:"sender_type"`
			Message    string `json:"message"`
		} `json:"transcript"`
	}
	if s := e.do("POST", "/api/livechat/sessions/"+session+"/accept", e2eAdmin, map[string]string{"agent": "Sarah"}, &acc); s != 200 {
		t.Fatalf("accept: %d", s)
	}
	var kinds []string
	for _, m := range acc.Transcript {
		kinds = append(kinds, m.SenderType)
	}
	if strings.Join(kinds, ",") != "user,bot,user,system,user,user,agent" {
		t.Fatalf("transcript kinds = %v", kinds)
	}
	if s := e.do("POST", "/api/livechat/sessions/"+session+"/messages", e2eAdmin, map[string]string{"message": "Hi John, I am checking order 123."}, nil); s != 201 {
		t.Fatalf("agent message: %d", s)
	}
	// The platform gets both, in order, as the agent.
	e.check(e.next(), "live_chat_message", "Agent Sarah", "agent", "Agent Sarah is now connected and will help you from here.", session)
	e.check(e.next(), "live_chat_message", "Agent Sarah", "agent", "Hi John, I am checking order 123.", session)

	// 5. The agent closes; the platform is told; the bot answers the next message.
	if s := e.do("POST", "/api/livechat/sessions/"+session+"/close", e2eAdmin, nil, nil); s != 200 {
		t.Fatalf("close: %d", s)
	}
	e.check(e.next(), "live_chat_message", "Assistant", "system", "The agent has ended the chat. The assistant will answer your next message.", session)
	r = e.say("and how do I change my email?")
	if strings.HasPrefix(r.Response.ResponseType, "live_chat") || r.Response.Answer == "" {
		t.Fatalf("after close = %+v", r)
	}
	e.check(e.next(), r.Response.ResponseType, "Assistant", "bot", r.Response.Answer, "")
	select {
	case p := <-received:
		t.Fatalf("unexpected extra delivery %+v", p)
	default:
	}
}

type e2eEvent struct {
	Type      string `json:"type"`
	SessionID string `json:"session_id"`
	Message   struct {
		Text string `json:"text"`
	} `json:"message"`
}

type e2eStream struct{ rd *bufio.Reader }

func (e *e2e) stream(path string) *e2eStream {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e.t.Cleanup(cancel)
	rq, _ := http.NewRequestWithContext(ctx, "GET", e.base+path, nil)
	rq.Header.Set("Authorization", "Bearer "+e2eAdmin)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil || resp.StatusCode != 200 {
		e.t.Fatalf("stream: %v %v", resp, err)
	}
	time.AfterFunc(20*time.Second, cancel)
	return &e2eStream{rd: bufio.NewReader(resp.Body)}
}

func (s *e2eStream) next(t *testing.T) e2eEvent {
	t.Helper()
	for {
		line, err := s.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream: %v", err)
		}
		if data, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok {
			var ev e2eEvent
			if err := json.Unmarshal([]byte(data), &ev); err != nil {
				t.Fatal(err)
			}
			return ev
		}
	}
}
