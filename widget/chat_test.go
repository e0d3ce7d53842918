package widget

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/store"
)

func TestWidgetChat(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"http://site.example:8081", "https://shop.example"}, 3)
	path := "/api/chat?key=" + w.Key
	ok := map[string]string{"Origin": "http://site.example:8081"}

	pre := e.do(nil, "OPTIONS", path, nil, map[string]string{"Origin": "http://site.example:8081", "Access-Control-Request-Method": "POST"})
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "http://site.example:8081" || pre.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	bad := e.do(nil, "OPTIONS", path, nil, map[string]string{"Origin": "https://evil.example"})
	if bad.status != 403 || bad.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", bad.status, bad.header)
	}

	r := e.do(nil, "POST", path, map[string]any{"message": "How do I reset my password?"}, ok)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://site.example:8081" || r.body["answer"] != "Reset it under Settings." {
		t.Fatalf("chat: %d %s %v", r.status, r.raw, r.header)
	}
	conv := r.body["conversation_id"].(string)
	if !strings.HasPrefix(conv, "w_") || r.body["response_type"] != "extractive" {
		t.Fatalf("chat reply: %s", r.raw)
	}
	if got := e.engine.reqs[0]; got.Platform != Platform || got.ConversationID != conv || got.Text != "How do I reset my password?" {
		t.Fatalf("engine request %+v", got)
	}
	// The chat is in the message history: the visitor's message, and the
	// answer linked to it, sent (the widget had it in the response).
	msgs, total, err := e.st.ListMessages(store.MessageFilter{Platform: Platform, ConversationID: conv}, 0, 10)
	if err != nil || total != 2 {
		t.Fatalf("history: %d messages, %v", total, err)
	}
	answer, question := msgs[0], msgs[1] // newest first
	if question.Type != store.MessageIncoming || question.Text != "How do I reset my password?" || question.ResponseID != answer.ID ||
		answer.Type != store.MessageOutgoing || answer.Status != store.StatusSent || answer.Text != "Reset it under Settings." || answer.ResponseType != "extractive" {
		t.Fatalf("history: question %+v, answer %+v", question, answer)
	}

	for _, tc := range []struct {
		name    string
		path    string
		headers map[string]string
		body    any
		want    int
	}{
		{"origin not allowed", path, map[string]string{"Origin": "https://evil.example"}, map[string]any{"message": "hi"}, 403},
		{"no origin", path, nil, map[string]any{"message": "hi"}, 403},
		{"unknown key", "/api/chat?key=wk_nope", ok, map[string]any{"message": "hi"}, 401},
		{"no key", "/api/chat", ok, map[string]any{"message": "hi"}, 401},
	} {
		r := e.do(nil, "POST", tc.path, tc.body, tc.headers)
		if r.status != tc.want || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %s ACAO %q, want %d and no CORS", tc.name, r.status, r.raw, r.header.Get("Access-Control-Allow-Origin"), tc.want)
		}
	}
	// Validation after the origin check; invalid requests spend none of
	// the rate (3 per minute; 1 used).
	if r := e.do(nil, "POST", path, map[string]any{"message": strings.Repeat("a", MaxChatMessage+1)}, ok); r.status != 413 {
		t.Errorf("11 KB message: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "POST", path, map[string]any{"message": "hi", "conversation_id": "<script>"}, ok); r.status != 400 || r.body["field"] != "conversation_id" {
		t.Errorf("bad conversation id: %d %s", r.status, r.raw)
	}
	for i := range 2 {
		if r := e.do(nil, "POST", path, map[string]any{"message": "more", "conversation_id": conv}, ok); r.status != 200 {
			t.Fatalf("valid message %d within the rate: %d %s", i+2, r.status, r.raw)
		}
	}
	r = e.do(nil, "POST", path, map[string]any{"message": "again", "conversation_id": conv}, ok)
	if r.status != 429 || r.header.Get("Retry-After") != "20" || r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("over the rate: %d retry %q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	e.clock.Add(20 * time.Second)
	if r := e.do(nil, "POST", path, map[string]any{"message": "again", "conversation_id": conv}, ok); r.status != 200 {
		t.Fatalf("after Retry-After: %d %s", r.status, r.raw)
	}

	// A disabled widget's key stops working.
	if _, err := e.st.UpdateWidget(w.ID, func(w *store.Widget) error { w.IsActive = false; return nil }); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if r := e.do(nil, "POST", path, map[string]any{"message": "hi"}, ok); r.status != 401 {
		t.Errorf("disabled widget: %d", r.status)
	}
}

// noPassages is a knowledge base that knows nothing.
type noPassages struct{}

func (noPassages) Search(context.Context, string, int) ([]chat.Passage, error) { return nil, nil }

// TestWidgetHandoffFlagOpensSession: the widget's "Talk to a human" sends
// the visitor's own, neutral words with handoff: true; the flag alone opens
// a live-chat session, through the real engine and live chat, and the text
// reaches the agent unchanged. Without the flag the same words get a bot
// answer.
func TestWidgetHandoffFlagOpensSession(t *testing.T) {
	const neutral = "My parcel 4411 has not arrived yet"
	var lc *livechat.Manager
	e := newEnv(t, func(o *Options) {
		var err error
		if lc, err = livechat.NewManager(o.Store, livechat.Config{TransferAnswer: "An agent will be with you."}, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := livechat.NewDetector(nil, nil).Detect(neutral); ok {
			t.Fatalf("%q asks for a human by itself; the test needs neutral words", neutral)
		}
		eng, err := chat.NewEngine(chat.Config{Retriever: noPassages{}, LiveChat: lc,
			Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
		if err != nil {
			t.Fatal(err)
		}
		o.Turns = conversation.New(o.Store, eng, conversation.Options{})
	})
	w := createWidget(t, e, []string{"https://shop.example"}, 10)
	origin := map[string]string{"Origin": "https://shop.example"}

	r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": neutral, "conversation_id": "conv-no-flag"}, origin)
	if r.status != 200 || r.body["response_type"] != "no_answer" || r.body["session_id"] != nil {
		t.Fatalf("without the flag: %d %s", r.status, r.raw)
	}
	r = e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": neutral, "conversation_id": "conv-handoff-1", "handoff": true}, origin)
	if r.status != 200 || r.body["response_type"] != "live_chat_transfer" || r.body["answer"] != "An agent will be with you." {
		t.Fatalf("with the flag: %d %s", r.status, r.raw)
	}
	open, err := e.st.OpenLiveChat(store.ConvRef{WidgetID: w.ID, ConversationID: "conv-handoff-1"})
	if err != nil {
		t.Fatalf("no open session for the conversation: %v", err)
	}
	if open.ID != r.body["session_id"] || open.State != store.LiveChatWaiting || open.Username != "Website visitor" {
		t.Fatalf("session %+v, reply %s", open, r.raw)
	}
	if _, err := e.st.OpenLiveChat(store.ConvRef{WidgetID: w.ID, ConversationID: "conv-no-flag"}); err == nil {
		t.Fatal("the message without the flag opened a session")
	}
	// The agent reads the visitor's words in the history, as sent.
	msgs, _, err := e.st.ListMessages(store.MessageFilter{Platform: Platform, ConversationID: "conv-handoff-1", Type: store.MessageIncoming}, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != neutral {
		t.Fatalf("stored visitor message: %+v %v", msgs, err)
	}
}

func TestWidgetChatWithoutEngine(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Turns = nil })
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, map[string]string{"Origin": "https://a.example"})
	if r.status != 503 {
		t.Fatalf("no engine: %d %s", r.status, r.raw)
	}
}

func TestWidgetPollsAgentReplies(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	const conv = "w_conversation1"
	e.convs.msgs = []store.Message{
		{ID: 1, Type: store.MessageIncoming, WidgetID: w.ID, Platform: Platform, ConversationID: conv, Text: "human please"},
		{ID: 2, Type: store.MessageOutgoing, SenderType: "system", WidgetID: w.ID, Platform: Platform, ConversationID: conv, Text: "An agent will join."},
		{ID: 3, Type: store.MessageOutgoing, SenderType: "bot", WidgetID: w.ID, Platform: Platform, ConversationID: conv, Text: "bot answer"},
		{ID: 4, Type: store.MessageAgentOutgoing, Sender: "Sarah", WidgetID: w.ID, Platform: Platform, ConversationID: conv, Text: "<b>Hi</b>"},
		{ID: 5, Type: store.MessageAgentOutgoing, Sender: "Sarah", Platform: "zendesk", ConversationID: conv, Text: "other platform"},
		{ID: 6, Type: store.MessageAgentOutgoing, Sender: "Sam", WidgetID: w.ID + 1, Platform: Platform, ConversationID: conv, Text: "another widget's"},
	}
	ok := map[string]string{"Origin": "https://a.example"}
	path := "/api/chat/messages?key=" + w.Key + "&conversation_id=" + conv
	r := e.do(nil, "GET", path, nil, ok)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Fatalf("poll: %d %s", r.status, r.raw)
	}
	msgs := r.body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["sender_type"] != "system" || msgs[1].(map[string]any)["text"] != "<b>Hi</b>" || msgs[1].(map[string]any)["sender"] != "Sarah" {
		t.Fatalf("poll messages: %s", r.raw)
	}
	r = e.do(nil, "GET", path+"&after=2", nil, ok)
	if msgs := r.body["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["id"] != float64(4) {
		t.Fatalf("after=2: %s", r.raw)
	}
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		want       int
	}{
		{"foreign origin", path, map[string]string{"Origin": "https://evil.example"}, 403},
		{"bad conversation", "/api/chat/messages?key=" + w.Key + "&conversation_id=x", ok, 400},
		{"bad after", path + "&after=-1", ok, 400},
	} {
		if r := e.do(nil, "GET", tc.path, nil, tc.headers); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
		}
	}
	// Polls have their own budget: 10 x 10 per minute, apart from chats.
	for i := 0; i < 97; i++ {
		e.do(nil, "GET", path, nil, ok)
	}
	if r := e.do(nil, "GET", path, nil, ok); r.status != 429 {
		t.Errorf("poll over budget: %d", r.status)
	}
	if r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, ok); r.status != 200 {
		t.Errorf("chat after polls: %d %s", r.status, r.raw)
	}
}
