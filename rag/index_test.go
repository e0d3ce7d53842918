package rag

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// testEmbedder is the built-in embedder with a failure switch and a
// configurable identity.
type testEmbedder struct {
	*embed.Builtin
	info   embed.Info
	failOn string // any text containing it fails
	calls  atomic.Int64
}

func newTestEmbedder() *testEmbedder {
	b := embed.NewBuiltin()
	return &testEmbedder{Builtin: b, info: b.Info()}
}

func (e *testEmbedder) Info() embed.Info { return e.info }

func (e *testEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.calls.Add(1)
	for _, t := range texts {
		if e.failOn != "" && strings.Contains(t, e.failOn) {
			return nil, errors.New("ollama embed with m: HTTP 500: llama runner process has terminated")
		}
	}
	return e.Builtin.Embed(ctx, texts)
}

func openStore(t *testing.T, dir string) *store.Store {
	t.Helper()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
		st.Close()
	})
	return st
}

func openIndex(t *testing.T, st *store.Store, emb embed.Embedder, opts Options) *Index {
	t.Helper()
	ix, err := Open(context.Background(), st, emb, opts)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// writeDocs writes name -> content files under a new temp folder "docs".
func writeDocs(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "docs")
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var supportDocs = map[string]string{
	"billing.md":    "# Billing\n\nHow we charge and refund.\n\n## Refunds\n\nRefunds are issued to the original payment method within 5 business days. To request a refund, open Settings and click Request refund.\n\n## Invoices\n\nInvoices are emailed on the first day of each month.\n",
	"account.md":    "# Account\n\n## Reset your password\n\nTo reset your password, click Forgot password on the login page and follow the link we email you.\n\n## Delete your account\n\nGo to Settings, Account, Delete. Deletion is permanent after 14 days.\n",
	"shipping.html": "<html><body><h1>Shipping</h1><p>We ship worldwide with DHL. Delivery takes 3 to 7 days.</p></body></html>",
}

func ingested(t *testing.T) (*Index, *store.Store, string) {
	t.Helper()
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, supportDocs)
	if _, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	return ix, st, dir
}

func TestSearchFindsTheRightPassage(t *testing.T) {
	ix, _, _ := ingested(t)
	for q, want := range map[string]string{
		"how do I reset my password?": "docs/account.md#reset-your-password",
		"when will I get my refund":   "docs/billing.md#refunds",
		"how long does delivery take": "docs/shipping.html#shipping",
		"invoice":                     "docs/billing.md#invoices",
	} {
		ps, err := ix.Search(context.Background(), q, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) == 0 || ps[0].Source != want {
			t.Errorf("%q: got %+v, want %s first", q, ps, want)
			continue
		}
		if ps[0].Score < DefaultMinScore || ps[0].Score > 1 {
			t.Errorf("%q: score %v", q, ps[0].Score)
		}
		for i := 1; i < len(ps); i++ {
			if ps[i].Score > ps[i-1].Score {
				t.Errorf("%q: not best first: %+v", q, ps)
			}
		}
	}
	ps, _ := ix.Search(context.Background(), "reset password", 1)
	p := ps[0]
	if p.Title != "Account" || p.Heading != "Account > Reset your password" || !strings.HasPrefix(p.Text, "To reset your password") || p.ChunkID == "" || p.DocID == "" {
		t.Fatalf("passage = %+v", p)
	}
}

func TestSearchNothingRelevant(t *testing.T) {
	ix, _, _ := ingested(t)
	for _, q := range []string{"what is the capital of france", "quantum chromodynamics", "hello"} {
		ps, err := ix.Search(context.Background(), q, 5)
		if err != nil || ps == nil || len(ps) != 0 {
			t.Errorf("%q: %+v, %v; want an empty slice", q, ps, err)
		}
	}
}

func TestSearchBadQueries(t *testing.T) {
	ix, _, _ := ingested(t)
	for _, q := range []string{"", "   \n\t"} {
		if _, err := ix.Search(context.Background(), q, 5); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Search(%q) = %v, want ErrBadQuery", q, err)
		}
	}
	// 10 KB: searched by its first MaxQueryBytes, no error.
	long := strings.Repeat("refund ", 10240/7) + "ünï"
	ps, err := ix.Search(context.Background(), long, 5)
	if err != nil || len(ps) == 0 || ps[0].Source != "docs/billing.md#refunds" {
		t.Fatalf("10 KB query: %+v, %v", ps, err)
	}
	// A cut inside a multi-byte character stays valid.
	odd := strings.Repeat("é", MaxQueryBytes) // 2 bytes each
	if _, err := ix.Search(context.Background(), odd, 5); err != nil {
		t.Fatalf("multi-byte long query: %v", err)
	}
}

func TestSearchClampsK(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{MinScore: -1})
	ps, err := ix.Search(context.Background(), "refund", 5) // empty collection
	if err != nil || ps == nil || len(ps) != 0 {
		t.Fatalf("empty index: %+v, %v", ps, err)
	}
	dir := writeDocs(t, map[string]string{"a.md": "# A\n\nRefunds.\n\n## B\n\nInvoices.\n\n## C\n\nShipping."})
	if _, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 5, 1000} {
		ps, err := ix.Search(context.Background(), "refund", k)
		if err != nil {
			t.Fatalf("k=%d on 3 chunks: %v", k, err)
		}
		if len(ps) != 3 {
			t.Errorf("k=%d: %d passages, want 3", k, len(ps))
		}
	}
	if ps, _ := ix.Search(context.Background(), "refund", 1); len(ps) != 1 {
		t.Errorf("k=1: %d", len(ps))
	}
}

func TestModes(t *testing.T) {
	_, st, _ := ingested(t)
	for _, m := range []Mode{ModeLexical, ModeVector, ModeHybrid} {
		ix := openIndex(t, st, newTestEmbedder(), Options{Mode: m})
		ps, err := ix.Search(context.Background(), "reset my password", 1)
		if err != nil || len(ps) != 1 || ps[0].Source != "docs/account.md#reset-your-password" {
			t.Errorf("%s: %+v, %v", m, ps, err)
		}
	}
	if _, err := Open(context.Background(), st, newTestEmbedder(), Options{Mode: "magic"}); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestReopenLoadsFromStore(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	docs := writeDocs(t, supportDocs)
	if _, err := ix.Ingest(context.Background(), []string{docs}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := ix.Search(context.Background(), "refund", 3)
	n := ix.Len()
	st.Close()

	st2 := openStore(t, dir)
	emb := newTestEmbedder()
	ix2 := openIndex(t, st2, emb, Options{})
	if ix2.Len() != n || n != 6 {
		t.Fatalf("reloaded %d chunks, had %d", ix2.Len(), n)
	}
	if emb.calls.Load() != 0 {
		t.Fatalf("loading embedded %d times; vectors come from the store", emb.calls.Load())
	}
	after, _ := ix2.Search(context.Background(), "refund", 3)
	if len(after) != len(before) || after[0] != before[0] {
		t.Fatalf("after reload %+v, before %+v", after, before)
	}
}

func TestOtherEmbedderRefused(t *testing.T) {
	_, st, dir := ingested(t)
	other := newTestEmbedder()
	other.info = embed.Info{Provider: "ollama", Model: "nomic-embed-text", Dimension: 512}
	_, err := Open(context.Background(), st, other, Options{})
	if !errors.Is(err, ErrEmbedderMismatch) || !strings.Contains(err.Error(), "--reindex") ||
		!strings.Contains(err.Error(), "builtin/hash-v3") {
		t.Fatalf("err = %v", err)
	}
	// --reindex empties the index and records the new embedder.
	ix := openIndex(t, st, other, Options{Reindex: true})
	if ix.Len() != 0 {
		t.Fatalf("%d chunks after reindex", ix.Len())
	}
	sum, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{})
	if err != nil || sum.Added != 3 {
		t.Fatalf("re-ingest: %+v, %v", sum, err)
	}
	if info, _ := st.KnowledgeIndexInfo(); info.Provider != "ollama" {
		t.Fatalf("info = %+v", info)
	}
}

func TestConcurrentSearchAndIngest(t *testing.T) {
	ix, _, dir := ingested(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 5; i++ {
			os.WriteFile(filepath.Join(dir, "billing.md"), []byte(supportDocs["billing.md"]+strings.Repeat("\nMore text.", i+1)), 0o644)
			if _, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		if _, err := ix.Search(context.Background(), "refund", 3); err != nil {
			t.Fatal(err)
		}
	}
	<-done
}

// Chunk ids "244-80" and "982-83" share the file name chromem-go v0.7.0's
// persistence gave a document (hash2hex: the first 4 bytes of the id's
// SHA-256, 84547fa9), so when that persistence held the index one chunk
// overwrote the other on disk. The chunks now live in bbolt keyed by the
// full id: both are stored, and both are found by an index opened from
// the store, as at a restart.
func TestCollidingChromemFileNamesBothSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	st := openStore(t, dir)
	emb := newTestEmbedder()
	info := store.IndexInfo{Provider: "builtin", Model: "hash-v3", Dimension: 512}
	texts := map[string]string{"244-80": "alpha zebra passage", "982-83": "omega yak passage"}
	var batch []store.DocumentChunks
	for d := 1; d <= 982; d++ {
		n := 1
		switch d {
		case 244:
			n = 81
		case 982:
			n = 84
		}
		var chunks []store.Chunk
		for s := 0; s < n; s++ {
			text := "filler"
			if tx, ok := texts[chunkID(uint64(d), uint32(s))]; ok {
				text = tx
			}
			v, _ := emb.Embed(context.Background(), []string{text})
			chunks = append(chunks, store.Chunk{Title: "T", Source: "s", Text: text, Terms: strings.Join(embed.Terms(text), " "), Vector: v[0]})
		}
		batch = append(batch, store.DocumentChunks{Doc: store.Document{Path: chunkID(uint64(d), 0)}, Chunks: chunks})
	}
	if _, err := st.PutDocuments(info, batch); err != nil {
		t.Fatal(err)
	}
	ix := openIndex(t, st, emb, Options{})
	for id, q := range map[string]string{"244-80": "alpha zebra", "982-83": "omega yak"} {
		ps, err := ix.Search(context.Background(), q, 1)
		if err != nil || len(ps) != 1 || ps[0].ChunkID != id {
			t.Errorf("%s: %+v, %v", id, ps, err)
		}
	}
}

// Replacing documents again and again keeps the slot table bounded and the
// index correct.
func TestSlotsCompactAfterManyUpdates(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	ctx := context.Background()
	mk := func(round int) Parsed {
		secs := make([]Section, 0, 50)
		for i := 0; i < 50; i++ {
			secs = append(secs, Section{Headings: []string{"S"}, Paragraphs: []string{strings.Repeat("filler words ", 3) + "round" + strings.Repeat("x", round%7) + " unique"}})
		}
		secs = append(secs, Section{Headings: []string{"Target"}, Paragraphs: []string{"The zebra refund policy applies."}})
		return Parsed{Title: "D", Sections: secs}
	}
	for round := 0; round < 60; round++ {
		if _, err := ix.Put(ctx, DocInput{Path: "d.md", Source: "d.md", Content: []byte{byte(round)}, Parsed: mk(round)}); err != nil {
			t.Fatal(err)
		}
	}
	ix.mu.RLock()
	slots, live := len(ix.slots), len(ix.byID)
	ix.mu.RUnlock()
	if live != 51 || slots > 2*1024+2*live {
		t.Fatalf("%d slots for %d live chunks", slots, live)
	}
	ps, err := ix.Search(ctx, "zebra refund", 1)
	if err != nil || len(ps) != 1 || ps[0].Heading != "Target" {
		t.Fatalf("after compaction: %+v, %v", ps, err)
	}
	// The lexical statistics match a fresh load.
	ix2 := openIndex(t, st, newTestEmbedder(), Options{})
	ps2, _ := ix2.Search(ctx, "zebra refund", 1)
	if len(ps2) != 1 || ps2[0].Score != ps[0].Score {
		t.Fatalf("compacted %+v, reloaded %+v", ps, ps2)
	}
}

// Each passage carries the two signals behind its score: the fused score
// is their weighted sum (hybrid), or the one signal of a single mode.
func TestPassagesCarryTheirComponentScores(t *testing.T) {
	ix, _, _ := ingested(t)
	ps, err := ix.Search(context.Background(), "when will I get my refund", 3)
	if err != nil || len(ps) == 0 {
		t.Fatalf("search: %v, %d passages", err, len(ps))
	}
	for _, p := range ps {
		want := math.Min(0.5*p.LexicalScore+0.5*p.VectorScore, 1)
		if p.LexicalScore <= 0 || p.VectorScore <= 0 || math.Abs(p.Score-want) > 1e-9 {
			t.Errorf("%s: score %v, lexical %v, vector %v; want score = their mean", p.Source, p.Score, p.LexicalScore, p.VectorScore)
		}
	}
	lex, err := ix.SearchLexical(context.Background(), "refund", 3)
	if err != nil || len(lex) == 0 {
		t.Fatalf("lexical search: %v, %d passages", err, len(lex))
	}
	if p := lex[0]; p.VectorScore != 0 || p.LexicalScore != p.Score {
		t.Errorf("lexical mode: %+v; want the lexical score alone", p)
	}
}
