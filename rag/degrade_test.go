package rag

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// flakyEmbedder is the built-in embedder that can be switched off, as
// Ollama goes away.
type flakyEmbedder struct {
	b    *embed.Builtin
	down atomic.Bool
}

func (f *flakyEmbedder) Info() embed.Info { return f.b.Info() }

func (f *flakyEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.b.Embed(ctx, texts)
}

func TestSearchLexicalWithoutEmbedder(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	emb := &flakyEmbedder{b: embed.NewBuiltin()}
	ctx := context.Background()
	ix, err := Open(ctx, st, emb, Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{
		"billing.md":  "# Refunds\n\nRefund vouchers are valid for twelve months from the purchase date.\n",
		"account.md":  "# Password\n\nReset your password from the security settings page.\n",
		"shipping.md": "# Delivery\n\nParcels ship within two working days to most countries.\n",
	}
	for path, text := range docs {
		if _, err := ix.Put(ctx, DocInput{Path: path, Source: path, Content: []byte(text),
			Parsed: Parse(FormatMarkdown, path, text)}); err != nil {
			t.Fatal(err)
		}
	}
	emb.down.Store(true)
	if _, err := ix.Search(ctx, "how long are refund vouchers valid", 3); err == nil {
		t.Fatal("Search worked without its embedder")
	}
	ps, err := ix.SearchLexical(ctx, "refund vouchers valid", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Source != "billing.md#refunds" {
		t.Fatalf("passages = %+v", ps)
	}
	ps, err = ix.SearchLexical(ctx, "cancel subscription", 3)
	if err != nil || len(ps) != 0 {
		t.Fatalf("unrelated query: %+v, %v", ps, err)
	}
}
