//go:build unix

package ollamatest

import (
	"context"
	"encoding/binary"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

func TestWriteChatModelHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.gguf")
	if err := WriteChatModel(path, 1); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if string(b[:4]) != "GGUF" || le.Uint32(b[4:]) != 3 {
		t.Fatalf("magic %q version %d", b[:4], le.Uint32(b[4:]))
	}
	if n := le.Uint64(b[8:]); n != 3+9*chatLayer {
		t.Fatalf("tensor count %d", n)
	}
	if n := le.Uint64(b[16:]); n != 19 {
		t.Fatalf("kv count %d", n)
	}
	if len(b)%ggufAlignment != 0 || len(b) < 400_000 || len(b) > 500_000 {
		t.Fatalf("size %d", len(b))
	}
	// Same seed, same bytes: the model is reproducible.
	path2 := filepath.Join(t.TempDir(), "chat.gguf")
	if err := WriteChatModel(path2, 1); err != nil {
		t.Fatal(err)
	}
	b2, _ := os.ReadFile(path2)
	if string(b) != string(b2) {
		t.Fatal("two writes with one seed differ")
	}
}

func TestByteTokensAreDistinct(t *testing.T) {
	toks := byteTokens()
	seen := map[string]bool{}
	for _, tok := range toks {
		if seen[tok] {
			t.Fatalf("duplicate token %q", tok)
		}
		seen[tok] = true
	}
	if toks[' '] != "Ġ" || toks['\n'] != "Ċ" || toks['a'] != "a" {
		t.Fatalf("space %q newline %q a %q", toks[' '], toks['\n'], toks['a'])
	}
}

// TestRealServer checks the generated models load and run in a real
// Ollama: a chat answer of exactly num_predict tokens, and embeddings.
func TestRealServer(t *testing.T) {
	s := Start(t)
	s.CreateModels()
	u, _ := url.Parse(s.URL)
	c := api.NewClient(u, http.DefaultClient)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream := false
	var got api.ChatResponse
	err := c.Chat(ctx, &api.ChatRequest{Model: ChatModel, Stream: &stream,
		Messages: []api.Message{{Role: "user", Content: "hello"}},
		Options:  map[string]any{"num_predict": 8}}, func(r api.ChatResponse) error { got = r; return nil })
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, s.Log())
	}
	if !got.Done || got.EvalCount != 8 {
		t.Fatalf("done %v, eval count %d", got.Done, got.EvalCount)
	}
	emb, err := c.Embed(ctx, &api.EmbedRequest{Model: EmbedModel, Input: []string{"refund policy", "reset password"}})
	if err != nil {
		t.Fatalf("embed: %v\n%s", err, s.Log())
	}
	if len(emb.Embeddings) != 2 || len(emb.Embeddings[0]) != embEmbd {
		t.Fatalf("embeddings %d x %d", len(emb.Embeddings), len(emb.Embeddings[0]))
	}
}
