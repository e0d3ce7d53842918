package chat

import (
	"context"
	"net/url"
	"testing"
)

// BenchmarkClientOverhead is what one generation costs the bot itself with
// each backend: the request, the streamed answer (9 pieces) parsed, the
// pool's bookkeeping, over loopback HTTP to a fake that answers at once.
// The model's own time comes on top.
func BenchmarkClientOverhead(b *testing.B) {
	for _, k := range llmKinds {
		b.Run(k.name, func(b *testing.B) {
			var srv fakeServer
			var c *Client
			switch k.name {
			case "ollama":
				f := newFakeOllama(b)
				srv = fakeServer{url: f.url}
				c, _ = NewOllama(OllamaConfig{BaseURLs: []*url.URL{srv.url()}, ChatModel: "llama3.2", MaxGenerations: 4})
			case "openai":
				f := newFakeOpenAI(b)
				srv = fakeServer{url: f.url}
				c, _ = NewOpenAI(OpenAIConfig{BaseURLs: []*url.URL{srv.url()}, ChatModel: "llama3.2", MaxGenerations: 4})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Chat(context.Background(), hello); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
