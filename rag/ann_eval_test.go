package rag

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestBEIRQualityANN is TestBEIRQuality with the approximate index forced
// on (ExactBelow -1): retrieval quality with the IVF against the exact
// scan, each mode side by side. Runs when CHATBOT_EVAL_DIR names a BEIR
// directory.
//
//	CHATBOT_EVAL_DIR=../shared/data/eval/msmarco go test ./rag -run 'BEIRQuality' -v
func TestBEIRQualityANN(t *testing.T) {
	dir := os.Getenv("CHATBOT_EVAL_DIR")
	if dir == "" {
		t.Skip("set CHATBOT_EVAL_DIR to a BEIR directory")
	}
	ctx := context.Background()
	docs, qs := loadEvalDir(t, dir)
	qr, err := LoadQrels(filepath.Join(dir, "qrels", "test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	exact, ann := exactAndIVF(t, docs)
	var recall float64
	for _, q := range qs {
		recall += vectorRecall(t, ann, q.Text)
	}
	t.Logf("%d chunks in %d lists; the IVF's vector recall@10 against the exact scan %.4f", ann.Len(), ann.vecs.ann.nlist, recall/float64(len(qs)))
	for _, m := range []Mode{ModeLexical, ModeVector, ModeHybrid} {
		re, err := Evaluate(ctx, exact, qs, qr, m)
		if err != nil {
			t.Fatal(err)
		}
		ra, err := Evaluate(ctx, ann, qs, qr, m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-8s nDCG@10 exact %.4f, IVF %.4f; recall@10 exact %.4f, IVF %.4f", m, re.NDCG10, ra.NDCG10, re.Recall, ra.Recall)
	}
}
