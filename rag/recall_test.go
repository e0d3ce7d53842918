package rag

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// MeasureVectorRecall reports the exact scan as exact with recall 1, the
// IVF as approximate, and a recall below 1 once the IVF cannot see a
// question's best chunk (its list emptied): it measures the search Search
// runs, not a copy of the exact scan.
func TestMeasureVectorRecall(t *testing.T) {
	if !haveInt8Dot {
		t.Skip("no SIMD int8 dot product: the vector search is always the exact scan")
	}
	ctx := context.Background()
	docs, qs := loadEvalSet(t, "es")
	var questions []string
	for _, q := range qs {
		questions = append(questions, q.Text)
	}
	exact, ann := exactAndIVF(t, docs)
	r, err := exact.MeasureVectorRecall(ctx, questions)
	if err != nil {
		t.Fatal(err)
	}
	if r.Approximate || r.AtTen != 1 || r.Questions != len(questions) || r.Chunks != exact.Len() {
		t.Fatalf("exact scan: %+v, want recall 1 over %d questions and %d chunks", r, len(questions), exact.Len())
	}

	r, err = ann.MeasureVectorRecall(ctx, questions)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Approximate || r.AtTen <= 0 || r.AtTen > 1 {
		t.Fatalf("IVF: %+v, want an approximate recall in (0, 1]", r)
	}
	// Hide the list holding the first question's best chunk from the IVF.
	q := questions[0]
	lang := embed.DetectAmong(q, ann.docLangs())
	qv, err := ann.embedQuery(ctx, retrievalQuery(q), lang)
	if err != nil {
		t.Fatal(err)
	}
	dead := func(s int) bool { return ann.slots[s].id == "" }
	best := ann.vecs.exactAll(unitVector(qv), 10, dead)
	f := ann.vecs.ann
	for _, b := range best {
		l := f.of[b.slot]
		f.lists[l], f.rows[l], f.rscale[l] = f.lists[l][:0], f.rows[l][:0], f.rscale[l][:0]
	}
	one, err := ann.MeasureVectorRecall(ctx, questions[:1])
	if err != nil {
		t.Fatal(err)
	}
	if one.AtTen != 0 {
		t.Fatalf("with the lists of its exact top ten emptied, the question's recall is %v, want 0", one.AtTen)
	}
	if _, err := ann.MeasureVectorRecall(ctx, []string{"   "}); err == nil {
		t.Fatal("no error for questions that are all blank")
	}
}

// A hybrid search over a large index runs its vector and lexical sides at
// once; the passages and every score are those of one side after the
// other.
func TestParallelSidesSearchLikeSequential(t *testing.T) {
	ctx := context.Background()
	docs, qs := loadEvalSet(t, "ru")
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := openIndex(t, st, embed.NewBuiltin(), Options{MinScore: -1})
	if err := IndexCorpus(ctx, ix, docs, nil); err != nil {
		t.Fatal(err)
	}
	stopSnapshots(ix)
	if ix.opts.Mode != ModeHybrid || ix.Len() >= ix.parallelFrom {
		t.Fatalf("mode %v with %d chunks: want hybrid below %d", ix.opts.Mode, ix.Len(), ix.parallelFrom)
	}
	want := map[string][]Passage{}
	for _, q := range qs {
		ps, err := ix.Search(ctx, q.Text, 10)
		if err != nil {
			t.Fatal(err)
		}
		want[q.Text] = ps
	}
	ix.parallelFrom = 0
	for _, q := range qs {
		got, err := ix.Search(ctx, q.Text, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want[q.Text]) {
			t.Fatalf("%q: %d passages in parallel, %d one side after the other", q.Text, len(got), len(want[q.Text]))
		}
		for i := range got {
			if got[i] != want[q.Text][i] {
				t.Fatalf("%q #%d: %+v in parallel, %+v one side after the other", q.Text, i, got[i], want[q.Text][i])
			}
		}
	}
}

// loadEvalSet reads the corpus and questions of rag/testdata/eval/set.
func loadEvalSet(t *testing.T, set string) ([]BEIRDoc, []BEIRQuery) {
	t.Helper()
	return loadEvalDir(t, filepath.Join("testdata", "eval", set))
}

// loadEvalDir reads the corpus and questions of a BEIR directory.
func loadEvalDir(t *testing.T, dir string) ([]BEIRDoc, []BEIRQuery) {
	t.Helper()
	docs, err := LoadCorpus(filepath.Join(dir, "corpus.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := LoadQueries(filepath.Join(dir, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return docs, qs
}

// exactAndIVF indexes docs and opens two indexes over the same store: one
// that always scans exactly, one with the IVF forced on and trained.
func exactAndIVF(t *testing.T, docs []BEIRDoc) (exact, ann *Index) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	exact = openIndex(t, st, embed.NewBuiltin(), Options{ExactBelow: 1 << 30})
	if err := IndexCorpus(context.Background(), exact, docs, nil); err != nil {
		t.Fatal(err)
	}
	stopSnapshots(exact)
	ann = openIndex(t, st, embed.NewBuiltin(), Options{ExactBelow: -1})
	stopSnapshots(ann)
	if ann.vecs.ann == nil {
		t.Fatal("the approximate index was not trained")
	}
	return exact, ann
}

// A panic on either side of a search on two cores reaches the caller's
// goroutine (where a request's recovery sees it) instead of ending the
// process, and only once both sides have stopped.
func TestParallelSidesPanicReachesTheCaller(t *testing.T) {
	docs, qs := loadEvalSet(t, "es")
	ix := openIndex(t, openStore(t, t.TempDir()), embed.NewBuiltin(), Options{MinScore: -1})
	if err := IndexCorpus(context.Background(), ix, docs, nil); err != nil {
		t.Fatal(err)
	}
	stopSnapshots(ix)
	ix.parallelFrom = 0
	search := func() (r any) {
		defer func() { r = recover() }()
		ix.Search(context.Background(), qs[0].Text, 5)
		return nil
	}
	lex := ix.lex
	ix.lex = nil // the lexical side's goroutine panics
	if r := search(); r == nil {
		t.Fatal("a panic of the lexical side did not reach the caller")
	}
	ix.lex = lex
	vecs := ix.vecs
	ix.vecs = nil // the vector side panics; the lexical side's scores go back
	if r := search(); r == nil {
		t.Fatal("a panic of the vector side did not reach the caller")

	}
	ix.vecs = vecs
	if n := len(ix.lex.hits.lent); n != 0 {
		t.Fatalf("%d score arrays still lent after the panics: searches would run out of them", n)
	}
	if ps, err := ix.Search(context.Background(), qs[0].Text, 5); err != nil || len(ps) == 0 {
		t.Fatalf("after the panics: %v, %d passages", err, len(ps))
	}
}
