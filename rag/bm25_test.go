package rag

import (
	"maps"
	"math"
	"testing"
)

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Hand-computed (k1 0.9, b 0.4, avg length 2, N 3):
// idf(a) = ln(1+1.5/2.5) = 0.4700, idf(c) = ln(1+2.5/1.5) = 0.9808;
// max = 1.9*(idf(a)+idf(c)).
func TestLexicalScores(t *testing.T) {
	l := newLexical()
	l.add(0, []string{"a", "b"})
	l.add(1, []string{"a", "c", "c"})
	l.add(2, []string{"d"})
	got := l.search([]string{"a", "c", "a"}) // the repeated term counts once
	if got.len() != 2 || !approx(got.get(0), 0.1705022916195997) || !approx(got.get(1), 0.5947379647846812) || got.get(2) != 0 {
		t.Fatalf("scores = %v", maps.Collect(got.all()))
	}
	got.release()
	// One term alone: idf cancels, tf 2 at length 3 -> 2*1.9/(2+0.9*1.2)/1.9.
	if got := l.search([]string{"c"}); got.len() != 1 || !approx(got.get(1), 0.6493506493506493) {
		t.Fatalf("c = %v", maps.Collect(got.all()))
	}
	if got := l.search([]string{"zzz"}); got.len() != 0 {
		t.Fatalf("unknown term matched %v", maps.Collect(got.all()))
	}
	// A removed slot never matches, and leaves N and the total length.
	l.remove(1)
	if got := l.search([]string{"c"}); got.len() != 0 {
		t.Fatalf("removed slot matched: %v", maps.Collect(got.all()))
	}
	l.compact()
	if len(l.termPostings("c")) != 0 {
		t.Fatal("compaction kept postings of a removed slot")
	}
	if l.live != 2 || l.total != 3 {
		t.Fatalf("live %d total %d", l.live, l.total)
	}
}

func TestLexicalEmpty(t *testing.T) {
	if got := newLexical().search([]string{"a"}); got != nil {
		t.Fatalf("empty index: %v", got)
	}
}

func TestTop(t *testing.T) {
	got := top(maps.All(map[int]float64{3: 0.5, 1: 0.9, 2: 0.5, 7: 0.1}), 3)
	want := []scored{{1, 0.9}, {2, 0.5}, {3, 0.5}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("top = %v", got)
		}
	}
}

func TestTopMatchesSort(t *testing.T) {
	scores := map[int]float64{}
	for i := 0; i < 500; i++ {
		scores[i] = float64((i*7919)%97) / 97
	}
	full := top(maps.All(scores), len(scores))
	for _, n := range []int{1, 5, 50, 499, 1000} {
		got := top(maps.All(scores), n)
		if len(got) != min(n, len(scores)) {
			t.Fatalf("n=%d: %d entries", n, len(got))
		}
		for i := range got {
			if got[i] != full[i] {
				t.Fatalf("n=%d: entry %d = %v, want %v", n, i, got[i], full[i])
			}
		}
	}
	for i := 1; i < len(full); i++ {
		a, b := full[i-1], full[i]
		if a.score < b.score || (a.score == b.score && a.slot > b.slot) {
			t.Fatalf("not sorted at %d: %v %v", i, a, b)
		}
	}
}
