package platform

import (
	"context"
	"testing"

	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// The step leaves every other channel and generic integrations to the
// engine (and its live chat), and a native integration with console
// hand-off too, unless a human owns the conversation.
func TestStepsOnlyTouchNativeIntegrations(t *testing.T) {
	hs := newHarness(t, nil)
	cs := webhook.NewConfigs(hs.st)
	generic, err := cs.Create(webhook.ConfigInput{Name: ptr("generic"), Provider: ptr("chatwoot")})
	if err != nil {
		t.Fatal(err)
	}
	console, err := cs.Create(webhook.ConfigInput{Name: ptr("console"), Provider: ptr("chatwoot"), Adapter: ptr("native"),
		APIURL: ptr("https://chat.example.com"), APIToken: ptr("t"), Account: ptr("7"), AcceptUnsigned: ptr(true), Handoff: ptr("console")})
	if err != nil {
		t.Fatal(err)
	}
	steps := NewSteps(hs.st, livechat.NewDetector(nil, nil))
	for _, tc := range []struct {
		name string
		msg  store.Message
		want bool
	}{
		{"chatbot ask", store.Message{Text: "talk to a human"}, false},
		{"widget", store.Message{WidgetID: 3, Text: "talk to a human"}, false},
		{"generic integration", store.Message{ConfigID: generic.ID, ConversationID: "58", Text: "talk to a human"}, false},
		{"console hand-off", store.Message{ConfigID: console.ID, ConversationID: "58", Text: "talk to a human"}, false},
		{"native, a question", store.Message{ConfigID: hs.cfg.ID, ConversationID: "58", Text: "how do I reset it?"}, false},
		{"native, asks for a human", store.Message{ConfigID: hs.cfg.ID, ConversationID: "59", Text: "talk to a human"}, true},
		{"native, the platform's hand-off flag", store.Message{ConfigID: hs.cfg.ID, ConversationID: "60", Text: "hi", Handoff: true}, true},
	} {
		_, handled, err := steps.Before(context.Background(), &tc.msg)
		if err != nil || handled != tc.want {
			t.Errorf("%s: handled = %v, %v; want %v", tc.name, handled, err, tc.want)
		}
	}
	// A paused console integration's conversation is still not answered.
	if _, err := hs.st.SetConversationPause(console.ID, "58", true, store.PauseAgentReply); err != nil {
		t.Fatal(err)
	}
	if r, handled, err := steps.Before(context.Background(), &store.Message{ConfigID: console.ID, ConversationID: "58", Text: "hi"}); err != nil || !handled || r.Type != TypePaused {
		t.Fatalf("paused console conversation: %+v, %v, %v", r, handled, err)
	}
}
