package rag

import (
	"fmt"
	"iter"
	"maps"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
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

// hitsOf is a lexHits holding scores (already normalised), outside any
// pool: not to be released.
func hitsOf(scores map[int]float64) *lexHits {
	h := &lexHits{max: 1}
	for s, v := range scores {
		for len(h.score) <= s {
			h.score = append(h.score, 0)
		}
		h.score[s] = v
		h.slots = append(h.slots, int32(s))
	}
	return h
}

func TestBest(t *testing.T) {
	got := hitsOf(map[int]float64{3: 0.5, 1: 0.9, 2: 0.5, 7: 0.1}).best(3)
	want := []scored{{1, 0.9}, {2, 0.5}, {3, 0.5}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("top = %v", got)
		}
	}
}

func TestBestMatchesSort(t *testing.T) {
	scores := map[int]float64{}
	for i := 0; i < 500; i++ {
		scores[i] = float64((i*7919)%97) / 97
	}
	h := hitsOf(scores)
	full := top(maps.All(scores), len(scores))
	for _, n := range []int{1, 5, 50, 499, 1000} {
		got := h.best(n)
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

// The document frequency counts live slots only, whether removed ones are
// pending (counted) or compacted or renumbered away (the postings'
// length), and idfOf agrees with search's.
func TestLexicalDocumentFrequency(t *testing.T) {
	l := newLexical()
	for s := range 10 {
		terms := []string{"common"}
		if s%2 == 0 {
			terms = append(terms, "even")
		}
		l.add(s, terms)
	}
	check := func(when string, common, even int) {
		t.Helper()
		if got := l.df(l.termPostings("common")); got != common {
			t.Fatalf("%s: df(common) = %d, want %d", when, got, common)
		}
		if got := l.df(l.termPostings("even")); got != even {
			t.Fatalf("%s: df(even) = %d, want %d", when, got, even)
		}
		if got, want := l.idfOf("even"), l.idf(even); got != want {
			t.Fatalf("%s: idfOf(even) = %v, want %v", when, got, want)
		}
	}
	check("fresh", 10, 5)
	l.remove(0)
	l.remove(3)
	check("two removed, pending", 8, 4)
	l.compact()
	check("compacted", 8, 4)
	l.remove(4)
	remap := make([]int32, 10)
	n := int32(0)
	for s := range remap {
		remap[s] = -1
		if l.lengths[s] >= 0 {
			remap[s] = n
			n++
		}
	}
	l.renumber(remap, int(n))
	check("renumbered", 7, 3)
}

// BenchmarkLexicalCommonWords: a question of three words each in 6% of
// 1,000,000 slots (the bench knowledge base's "reset my password"), the
// lexical search and the embedder's idf of each word.
func BenchmarkLexicalCommonWords(b *testing.B) {
	const slots = 1000000
	l := newLexical()
	rng := rand.New(rand.NewPCG(3, 4))
	words := []string{"reset", "password", "account"}
	terms := make([]string, 0, 40)
	for s := range slots {
		terms = terms[:0]
		for range 30 {
			terms = append(terms, fmt.Sprintf("w%d", rng.IntN(20000)))
		}
		for _, w := range words {
			if rng.IntN(16) == 0 {
				terms = append(terms, w)
			}
		}
		l.add(s, terms)
	}
	for b.Loop() {
		for _, w := range words {
			l.idfOf(w)
		}
		l.search(words).release()
	}
}

// Concurrent searches share a bounded set of score arrays (a float64 per
// slot each): 64 searches at once no longer make 64 of them.
func TestLexicalScoreArraysBounded(t *testing.T) {
	l := newLexical()
	for s := range 1000 {
		l.add(s, []string{"common", fmt.Sprintf("w%d", s%17)})
	}
	var mu sync.Mutex
	seen := map[*lexHits]bool{}
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 50 {
				h := l.search([]string{"common", fmt.Sprintf("w%d", (g+i)%17)})
				if h.len() != 1000 {
					t.Errorf("%d matches, want 1000", h.len())
				}
				mu.Lock()
				seen[h] = true
				mu.Unlock()
				h.release()
			}
		})
	}
	wg.Wait()
	if max := hitsPerCPU * runtime.GOMAXPROCS(0); len(seen) > max {
		t.Fatalf("%d score arrays for 64 concurrent searchers, want at most %d", len(seen), max)
	}
}

// best ranks like top over the normalised scores: the same slots in the
// same order with the same scores, ties by slot, for every cut.
func TestLexHitsBestLikeTop(t *testing.T) {
	l := newLexical()
	docs := [][]string{{"a", "b"}, {"a"}, {"b", "c", "a"}, {"a", "b"}, {"c"}, {"a", "a", "d"}, {"b"}, {"a", "b"}}
	for i, d := range docs {
		l.add(i, d)
	}
	h := l.search([]string{"a", "b"})
	defer h.release()
	for n := 0; n <= len(docs)+1; n++ {
		want, got := top(h.all(), n), h.best(n)
		if len(want) != len(got) {
			t.Fatalf("n=%d: best %v, top %v", n, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("n=%d #%d: best %v, top %v", n, i, got, want)
			}
		}
	}
	if b := h.best(2); b[0].slot != 0 || b[1].slot != 3 || b[0].score != b[1].score {
		t.Fatalf("tied leaders %v, want slots 0 and 3 (ties by slot)", b)
	}
}

// top returns the n best entries of scores, best first, ties by slot,
// by sorting them all: the reference lexHits.best is checked against.
func top(scores iter.Seq2[int, float64], n int) []scored {
	var all []scored
	for s, v := range scores {
		all = append(all, scored{s, v})
	}
	sortScored(all)
	return all[:min(n, len(all))]
}
