package rag

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// Hand-computed: ranking d1 (rel 3), d2 (0), d3 (1), judged also d4 (2).
// DCG = 7/log2(2) + 0 + 1/log2(4) = 7.5
// IDCG = 7/1 + 3/log2(3) + 1/2 = 7 + 1.892789 + 0.5 = 9.392789
func TestMetricsHandComputed(t *testing.T) {
	rels := map[string]int{"d1": 3, "d2": 0, "d3": 1, "d4": 2}
	ranked := []string{"d1", "d2", "d3"}
	want := 7.5 / (7 + 3/math.Log2(3) + 0.5)
	if got := NDCG(ranked, rels, 10); math.Abs(got-want) > 1e-12 {
		t.Errorf("NDCG = %v, want %v", got, want)
	}
	if got := Recall(ranked, rels, 10); got != 2.0/3 {
		t.Errorf("Recall = %v, want 2/3", got)
	}
	if got := MRR([]string{"x", "d2", "d3"}, rels, 10); got != 1.0/3 {
		t.Errorf("MRR = %v, want 1/3", got)
	}
	if got := MRR([]string{"x"}, rels, 10); got != 0 {
		t.Errorf("MRR without hit = %v", got)
	}
	// The cut-off applies: d3 at rank 3 is outside @2.
	if got := Recall(ranked, rels, 2); got != 1.0/3 {
		t.Errorf("Recall@2 = %v", got)
	}
	if got := NDCG([]string{"d4", "d1"}, rels, 1); math.Abs(got-3.0/7) > 1e-12 {
		t.Errorf("NDCG@1 = %v, want 3/7", got)
	}
	if got := NDCG(ranked, map[string]int{"d2": 0}, 10); got != 0 {
		t.Errorf("NDCG without relevant = %v", got)
	}
}

func TestParseQrels(t *testing.T) {
	q, err := ParseQrels(strings.NewReader("query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\n\nq2\td9\t1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if q["q1"]["d1"] != 2 || len(q["q1"]) != 2 || q["q2"]["d9"] != 1 {
		t.Fatalf("qrels = %v", q)
	}
	if _, err := ParseQrels(strings.NewReader("q1\td1\t2\nq1\td2\tx\n")); err == nil {
		t.Fatal("non-integer score accepted")
	}
	if _, err := ParseQrels(strings.NewReader("q1 d1\n")); err == nil {
		t.Fatal("two fields accepted")
	}
}

func TestWriteRun(t *testing.T) {
	var b bytes.Buffer
	if err := WriteRun(&b, map[string][]RankedDoc{"q2": {{"d1", 0.5}}, "q1": {{"d3", 0.9}, {"d1", 0.25}}}); err != nil {
		t.Fatal(err)
	}
	want := "query-id\tcorpus-id\trank\tscore\nq1\td3\t1\t0.900000\nq1\td1\t2\t0.250000\nq2\td1\t1\t0.500000\n"
	if b.String() != want {
		t.Fatalf("run =\n%s", b.String())
	}
}
