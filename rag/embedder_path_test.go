package rag

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// plainEmbedder has only the Embedder interface (Info and Embed), like
// embed.Ollama: the index cannot weigh its query terms, and embeds the
// question with Embed. It records every text embedded.
type plainEmbedder struct {
	b *embed.Builtin

	mu    sync.Mutex
	texts [][]string
}

func (e *plainEmbedder) Info() embed.Info { return e.b.Info() }

func (e *plainEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	e.texts = append(e.texts, slices.Clone(texts))
	e.mu.Unlock()
	return e.b.Embed(ctx, texts)
}

func (e *plainEmbedder) calls() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.texts)
}

// The query vector of an embedder without EmbedQuery (Ollama's path) is
// the one that ranks: in vector mode nothing else can find a passage, so a
// zero or wrong query vector finds nothing above the threshold.
func TestSearchWithPlainEmbedderUsesItsQueryVector(t *testing.T) {
	emb := &plainEmbedder{b: embed.NewBuiltin()}
	var _ embed.Embedder = emb
	if _, ok := any(emb).(queryEmbedder); ok {
		t.Fatal("the test embedder must not have EmbedQuery")
	}
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, emb, Options{Mode: ModeVector})
	if _, err := ix.Ingest(context.Background(), []string{writeDocs(t, supportDocs)}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ query, want string }{
		{"how do I reset my password?", "docs/account.md#reset-your-password"},
		{"refund to the original payment method", "docs/billing.md#refunds"},
		{"how long does delivery take", "docs/shipping.html#shipping"},
		{"invoice", "docs/billing.md#invoices"},
	} {
		before := len(emb.calls())
		ps, err := ix.Search(context.Background(), c.query, 3)
		if err != nil {
			t.Fatal(err)
		}
		calls := emb.calls()
		if len(calls) != before+1 || !slices.Equal(calls[before], []string{c.query}) {
			t.Errorf("%q: embedder calls %q, want one with the question", c.query, calls[before:])
		}
		if len(ps) == 0 || ps[0].Source != c.want {
			t.Errorf("%q: got %+v, want %s first", c.query, ps, c.want)
			continue
		}
		if ps[0].Score < DefaultMinScore || ps[0].Score > 1 {
			t.Errorf("%q: score %v", c.query, ps[0].Score)
		}
	}
}
