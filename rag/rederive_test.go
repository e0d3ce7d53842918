package rag

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// An index written by an older built-in embedder and analysis (here made
// by rewriting every chunk's terms and the recorded info) opens without a
// re-ingest: terms and vectors are derived again from the stored text.
func TestOpenRederivesAnOlderBuiltinIndex(t *testing.T) {
	ix, st, _ := ingested(t)
	before, _ := ix.Search(context.Background(), "refund", 3)
	want := ix.info
	old := store.IndexInfo{Provider: want.Provider, Model: "hash-v1", Dimension: want.Dimension}
	if _, err := st.RederiveChunks(old, func(c store.Chunk) (string, []float32, error) {
		return "stale", make([]float32, len(c.Vector)), nil
	}); err != nil {
		t.Fatal(err)
	}

	emb := newTestEmbedder()
	ix2 := openIndex(t, st, emb, Options{})
	if info, _ := st.KnowledgeIndexInfo(); info != want {
		t.Fatalf("recorded info %+v, want %+v", info, want)
	}
	if emb.calls.Load() == 0 {
		t.Fatal("the vectors of an older built-in model were not embedded again")
	}
	an := embed.NewAnalyzer()
	n := 0
	st.EachChunk(func(c store.Chunk) error {
		n++
		if wantTerms := strings.Join(an.Terms(indexText(Piece{Heading: c.Heading, Text: c.Text})), " "); c.Terms != wantTerms {
			t.Errorf("chunk %d-%d terms %q, want %q", c.DocID, c.Seq, c.Terms, wantTerms)
		}
		if !slices.ContainsFunc(c.Vector, func(x float32) bool { return x != 0 }) {
			t.Errorf("chunk %d-%d keeps the zero vector", c.DocID, c.Seq)
		}
		return nil
	})
	if n != ix2.Len() || n == 0 {
		t.Fatalf("%d chunks stored, %d indexed", n, ix2.Len())
	}
	after, _ := ix2.Search(context.Background(), "refund", 3)
	if len(after) != len(before) || after[0].Source != before[0].Source {
		t.Fatalf("after rederive %+v, before %+v", after, before)
	}
}

// A model-backed index from before the analysis was recorded keeps its
// vectors (they cannot be made from text without the model's cost) and
// gets this version's terms.
func TestOpenRederivesTermsOnlyForAModelIndex(t *testing.T) {
	_, st, _ := ingested(t)
	model := embed.Info{Provider: "ollama", Model: "nomic-embed-text", Dimension: newTestEmbedder().info.Dimension}
	marker := float32(0.25)
	if _, err := st.RederiveChunks(store.IndexInfo{Provider: model.Provider, Model: model.Model, Dimension: model.Dimension},
		func(c store.Chunk) (string, []float32, error) {
			v := make([]float32, len(c.Vector))
			v[0] = marker
			return "stale", v, nil
		}); err != nil {
		t.Fatal(err)
	}
	emb := newTestEmbedder()
	emb.info = model
	openIndex(t, st, emb, Options{})
	if emb.calls.Load() != 0 {
		t.Fatalf("a model index was embedded again (%d calls)", emb.calls.Load())
	}
	st.EachChunk(func(c store.Chunk) error {
		if c.Terms == "stale" || c.Vector[0] != marker {
			t.Errorf("chunk %d-%d: terms %q vector[0] %v; want new terms and the kept vector", c.DocID, c.Seq, c.Terms, c.Vector[0])
		}
		return nil
	})
	if info, _ := st.KnowledgeIndexInfo(); info.Analyzer != embed.AnalyzerVersion || info.Model != model.Model {
		t.Fatalf("recorded info %+v", info)
	}
}
