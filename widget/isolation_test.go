package widget

import (
	"context"
	"testing"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/store"
)

// storeConversations reads transcripts from the store, as serve does.
type storeConversations struct{ st *store.Store }

func (s storeConversations) ConversationMessages(ref store.ConvRef) ([]store.Message, error) {
	return s.st.ConversationMessages(ref, 100)
}

// A widget is its own integration: the same conversation_id sent through
// another widget neither reaches the first one's live chat nor reads what
// its agent wrote.
func TestWidgetConversationsAreTheWidgets(t *testing.T) {
	var lc *livechat.Manager
	e := newEnv(t, func(o *Options) {
		var err error
		if lc, err = livechat.NewManager(o.Store, livechat.Config{}, nil); err != nil {
			t.Fatal(err)
		}
		eng, err := chat.NewEngine(chat.Config{Retriever: noPassages{}, LiveChat: lc, Memory: o.Store,
			Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
		if err != nil {
			t.Fatal(err)
		}
		o.Turns, o.Conversations = conversation.New(o.Store, eng, conversation.Options{}), storeConversations{o.Store}
	})
	one := createWidget(t, e, []string{"https://one.example"}, 10)
	two := createWidget(t, e, []string{"https://two.example"}, 10)
	atOne, atTwo := map[string]string{"Origin": "https://one.example"}, map[string]string{"Origin": "https://two.example"}
	const conv = "shared-conv-1"

	r := e.do(nil, "POST", "/api/chat?key="+one.Key, map[string]any{"message": "talk to a human", "conversation_id": conv}, atOne)
	if r.status != 200 || r.body["response_type"] != "live_chat_transfer" {
		t.Fatalf("widget one: %d %s", r.status, r.raw)
	}
	session, _ := r.body["session_id"].(string)
	if _, err := lc.Accept(context.Background(), session, "Sarah"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := lc.Send(context.Background(), session, "Your order ships today."); err != nil {
		t.Fatal(err)
	}

	r = e.do(nil, "POST", "/api/chat?key="+two.Key, map[string]any{"message": "My parcel 4411 has not arrived yet", "conversation_id": conv}, atTwo)
	if r.status != 200 || r.body["response_type"] != "no_answer" || r.body["session_id"] != nil {
		t.Fatalf("widget two's visitor was routed into widget one's live chat: %d %s", r.status, r.raw)
	}
	r = e.do(nil, "GET", "/api/chat/messages?key="+two.Key+"&conversation_id="+conv, nil, atTwo)
	if msgs := r.body["messages"].([]any); r.status != 200 || len(msgs) != 0 {
		t.Fatalf("widget two reads widget one's messages: %d %s", r.status, r.raw)
	}
	r = e.do(nil, "GET", "/api/chat/messages?key="+one.Key+"&conversation_id="+conv, nil, atOne)
	msgs := r.body["messages"].([]any)
	// The agent's two messages; the hand-off notice was the answer itself, not polled.
	if r.status != 200 || len(msgs) != 2 || msgs[1].(map[string]any)["text"] != "Your order ships today." {
		t.Fatalf("widget one's poll: %d %s", r.status, r.raw)
	}
	l, err := e.st.LiveChat(session)
	if err != nil || l.WidgetID != one.ID || l.UserMessages != 0 {
		t.Fatalf("session = %+v, %v", l, err)
	}
}
