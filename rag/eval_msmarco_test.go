package rag

import (
	"context"
	"os"
	"testing"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// TestMSMARCO runs the shared evaluation set when CHATBOT_EVAL_DIR names it.
func TestMSMARCO(t *testing.T) {
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
	ix, err := Open(ctx, st, embed.NewBuiltin(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := LoadCorpus(dir + "/corpus.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	qs, _ := LoadQueries(dir + "/queries.jsonl")
	qr, _ := LoadQrels(dir + "/qrels/test.tsv")
	if err := IndexCorpus(ctx, ix, docs, nil); err != nil {
		t.Fatal(err)
	}
	for _, w := range []float64{0.5} {
		ix.opts.LexicalWeight = w
		r, _ := Evaluate(ctx, ix, qs, qr, ModeHybrid)
		t.Logf("w=%.1f ndcg@10=%.4f", w, r.NDCG10)
	}
	for _, m := range []Mode{ModeLexical, ModeVector, ModeHybrid} {
		r, err := Evaluate(ctx, ix, qs, qr, m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-8s q=%d ndcg@10=%.4f recall@10=%.4f mrr@10=%.4f", m, r.Queries, r.NDCG10, r.Recall, r.MRR10)
	}
}
