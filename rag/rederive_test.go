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

// The built-in embedder hashes the analyser's stems, so a knowledge base
// whose recorded analysis is older has its built-in vectors embedded
// again even when the model name is the same (the name and the analysis
// are versioned apart; a forgotten bump of one must not leave vectors made
// from old stems beside queries made from new ones).
func TestOpenRevectorsBuiltinWhenOnlyTheAnalysisChanged(t *testing.T) {
	_, st, _ := ingested(t)
	want, _ := st.KnowledgeIndexInfo()
	old := want
	old.Analyzer = "lang-v1"
	if _, err := st.RederiveChunks(old, func(c store.Chunk) (string, []float32, error) {
		return c.Terms, make([]float32, len(c.Vector)), nil
	}); err != nil {
		t.Fatal(err)
	}
	emb := newTestEmbedder()
	openIndex(t, st, emb, Options{})
	if emb.calls.Load() == 0 {
		t.Fatal("built-in vectors made under an older analysis were kept")
	}
	st.EachChunk(func(c store.Chunk) error {
		if !slices.ContainsFunc(c.Vector, func(x float32) bool { return x != 0 }) {
			t.Errorf("chunk %d-%d keeps the zero vector", c.DocID, c.Seq)
		}
		return nil
	})
	if info, _ := st.KnowledgeIndexInfo(); info != want {
		t.Fatalf("recorded info %+v, want %+v", info, want)
	}
}

// What an older build leaves behind (chunks analysed by the previous
// analyser, its info recorded, and a snapshot of its in-memory index at
// the store's generation) opens as this analysis: the snapshot is not
// used, and an irregular form now meets its base ("broken" finds
// "breaks", which the old terms could not).
func TestUpgradeFromAnOlderAnalyzerIgnoresItsSnapshot(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix1, _ := openLogged(t, st, Options{MinScore: -1})
	putTexts(t, ix1,
		BEIRDoc{ID: "warranty", Text: "The warranty covers a lid that breaks in normal use."},
		BEIRDoc{ID: "shipping", Text: "Parcels leave the warehouse on working days."})
	if err := ix1.Close(); err != nil {
		t.Fatal(err)
	}
	waitANN(ix1)
	old := store.IndexInfo{Provider: embed.BuiltinProvider, Model: "hash-v2", Dimension: ix1.info.Dimension, Analyzer: "lang-v1"}
	if _, err := st.RederiveChunks(old, func(c store.Chunk) (string, []float32, error) {
		return "stale", c.Vector, nil
	}); err != nil {
		t.Fatal(err)
	}
	ix1.info = old
	ix1.write.Lock()
	err := ix1.writeSnapshot()
	ix1.write.Unlock()
	if err != nil {
		t.Fatal(err)
	}

	ix2, log2 := openLogged(t, st, Options{MinScore: -1})
	stopSnapshots(ix2)
	if strings.Contains(log2.String(), "loaded from its snapshot") {
		t.Fatalf("the older build's snapshot was used: log\n%s", log2)
	}
	if info, _ := st.KnowledgeIndexInfo(); info.Analyzer != embed.AnalyzerVersion || info.Model != ix2.info.Model {
		t.Fatalf("recorded info %+v", info)
	}
	for _, m := range []Mode{ModeLexical, ModeHybrid} {
		ps, err := ix2.search(context.Background(), "it is broken", 1, m)
		if err != nil || len(ps) != 1 || ps[0].Source != "warranty" || (m == ModeLexical && ps[0].LexicalScore == 0) {
			t.Fatalf("%s: %+v, %v; want the warranty passage by its words", m, ps, err)
		}
	}
}

// A snapshot whose recorded analysis differs from this build's is not
// used even at the store's own generation (the store's chunks are
// already of this analysis; the snapshot's postings are not).
func TestSnapshotOfAnotherAnalysisIsNotUsed(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix1, _ := openLogged(t, st, Options{MinScore: -1})
	putTexts(t, ix1, BEIRDoc{ID: "warranty", Text: "The warranty covers a lid that breaks in normal use."})
	if err := ix1.Close(); err != nil {
		t.Fatal(err)
	}
	waitANN(ix1)
	ix1.info.Analyzer = "lang-v1"
	ix1.write.Lock()
	err := ix1.writeSnapshot()
	ix1.write.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	ix2, log2 := openLogged(t, st, Options{MinScore: -1})
	stopSnapshots(ix2)
	if !strings.Contains(log2.String(), `analyzer \"lang-v1\"`) || strings.Contains(log2.String(), "loaded from its snapshot") {
		t.Fatalf("a snapshot of another analysis: log\n%s", log2)
	}
	if ix2.Len() != 1 {
		t.Fatalf("rebuilt index has %d chunks, want 1", ix2.Len())
	}
}
