package tools

import (
	"testing"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
)

// Without a model, a message close to a tool's example (the built-in
// embedder) fires it as a trigger would.
func TestExampleCloseEnoughFiresTheTool(t *testing.T) {
	b := newBot(t, jsonReply(shipped), func(tl *Tool) {
		tl.Triggers = []string{`(?i)^track order$`}
		tl.Examples = []string{"Where is my order?", "When will my package arrive?"}
	})
	b.step.opts.Embedder = embed.NewBuiltin()
	wantToolAnswer(t, b.say(t, "where's my order 12345"), "Order 12345 is shipped, expected Friday.")
	wantToolAnswer(t, b.say(t, "When does my package get here?"), "Which order? Please give me its order number.")
	wantToolAnswer(t, b.say(t, "cancel"), "OK, I won't look that up.")
	for _, text := range []string{"How do I reset my password?", "I want to return an order"} {
		if r := b.say(t, text); r.Type != chat.TypeNoAnswer {
			t.Errorf("%q fired the tool: %+v", text, r)
		}
	}
	if n := b.api.hits.Load(); n != 1 {
		t.Fatalf("%d API calls, want 1", n)
	}
}
