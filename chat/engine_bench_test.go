package chat

import (
	"context"
	"fmt"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/store"
)

// staticRetriever returns the same passages for every query, at no cost,
// so a benchmark measures the engine alone.
type staticRetriever []Passage

func (r staticRetriever) Search(context.Context, string, int) ([]Passage, error) { return r, nil }

// BenchmarkEngineOverhead is the engine's own cost around the LLM call:
// an instant LLM and retriever, so what remains is prompt assembly,
// citation mapping, the per-conversation lock and, with memory, reading
// and writing the conversation in bbolt (fsync off).
func BenchmarkEngineOverhead(b *testing.B) {
	llm := &fakeLLM{ready: true, answer: func([]api.Message) (string, error) {
		return "Refund vouchers are valid for 12 months [1]. Reset it in Settings [2].", nil
	}}
	for _, withMemory := range []bool{false, true} {
		b.Run(fmt.Sprintf("memory=%v", withMemory), func(b *testing.B) {
			cfg := Config{Retriever: staticRetriever(kb), Extract: fakeExtract, LLM: llm}
			if withMemory {
				s, err := store.Open(b.TempDir(), store.Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				cfg.Memory = s
			}
			e, err := NewEngine(cfg)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				r, err := e.Answer(ctx, Request{Platform: "p", ConversationID: fmt.Sprint(i % 64), Text: "How long are refund vouchers valid?"})
				if err != nil || r.Type != TypeRAG {
					b.Fatalf("%+v %v", r, err)
				}
			}
		})
	}
}
