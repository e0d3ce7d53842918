package chat

import (
	"context"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/store"
)

// The memory of a conversation is its integration's: the same
// conversation id through another integration of the same provider starts
// with no history, and the first keeps its own.
func TestMemoryIsPerIntegration(t *testing.T) {
	mem := openMemory(t)
	llm := &fakeLLM{ready: true, answer: func(msgs []api.Message) (string, error) {
		return "answer to " + msgs[len(msgs)-1].Content + " [1]", nil
	}}
	e, _ := newTestEngine(t, engineOpts{llm: llm, memory: mem})
	ask := func(config uint64, text string) {
		t.Helper()
		if _, err := e.Answer(context.Background(), Request{ConfigID: config, Platform: "zendesk", ConversationID: "42", Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	ask(1, "refund voucher for brand A")
	ask(2, "refund voucher for brand B")
	calls := llm.requests()
	if len(calls) != 2 || len(calls[1]) != 2 || calls[1][1].Content != "refund voucher for brand B" {
		t.Fatalf("brand B's prompt carries another conversation's history: %+v", calls)
	}
	for config, want := range map[uint64]string{1: "refund voucher for brand A", 2: "refund voucher for brand B"} {
		c, err := mem.Conversation(store.ConvRef{ConfigID: config, ConversationID: "42"})
		if err != nil || len(c.Turns) != 2 || c.Turns[0].Text != want || c.ConfigID != config {
			t.Fatalf("memory of config %d = %+v, %v", config, c, err)
		}
	}
}
