package rag

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// TestBEIRQuality runs a BEIR set (e.g. ../shared/data/eval/msmarco) when
// CHATBOT_EVAL_DIR names its directory, logs the three modes side by side
// and checks hybrid against CHATBOT_EVAL_MIN_NDCG (default 0.578, plain
// BM25 on msmarco) and against the better of its two sides. Skipped otherwise: indexing takes seconds.
func TestBEIRQuality(t *testing.T) {
	dir := os.Getenv("CHATBOT_EVAL_DIR")
	if dir == "" {
		t.Skip("set CHATBOT_EVAL_DIR to a BEIR directory")
	}
	ctx := context.Background()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix := openIndex(t, st, embed.NewBuiltin(), Options{})
	docs, qs := loadEvalDir(t, dir)
	qr, err := LoadQrels(filepath.Join(dir, "qrels", "test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := IndexCorpus(ctx, ix, docs, nil); err != nil {
		t.Fatal(err)
	}
	var hybrid, sides float64
	for _, m := range []Mode{ModeLexical, ModeVector, ModeHybrid} {
		r, err := Evaluate(ctx, ix, qs, qr, m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-8s queries %d nDCG@10 %.4f recall@10 %.4f MRR@10 %.4f", m, r.Queries, r.NDCG10, r.Recall, r.MRR10)
		if m == ModeHybrid {
			hybrid = r.NDCG10
		} else {
			sides = max(sides, r.NDCG10)
		}
	}
	if hybrid < sides {
		t.Errorf("fusion guarantee: hybrid nDCG@10 %.4f below the better side %.4f", hybrid, sides)
	}
	floor := 0.578
	if v := os.Getenv("CHATBOT_EVAL_MIN_NDCG"); v != "" {
		if _, err := fmt.Sscan(v, &floor); err != nil {
			t.Fatalf("CHATBOT_EVAL_MIN_NDCG: %v", err)
		}
	}
	if hybrid < floor {
		t.Fatalf("hybrid nDCG@10 %.4f below %.3f", hybrid, floor)
	}
}
