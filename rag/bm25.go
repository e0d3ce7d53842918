package rag

import (
	"iter"
	"math"
	"runtime"
	"slices"
	"sync"
)

// BM25 parameters: Lucene's defaults' neighbourhood for short passages.
const (
	bm25K1 = 0.9
	bm25B  = 0.4
)

// lexical is an in-memory BM25 index over stemmed terms. Slots are chunk
// positions in the Index; removed slots are skipped and compacted away.
// Not safe for concurrent use: the Index guards it.
type lexical struct {
	ids      map[string]int32 // term -> index into postings
	postings [][]posting
	lengths  []int32 // term count per slot; -1 when removed
	live     int
	total    int64 // sum of live lengths
	dead     int
	hits     hitsPool
}

type posting struct {
	slot int32
	tf   int32
}

func newLexical() *lexical { return &lexical{ids: map[string]int32{}} }

// termID returns the id of a term, adding it when new.
func (l *lexical) termID(t string) int32 {
	id, ok := l.ids[t]
	if !ok {
		id = int32(len(l.postings))
		l.ids[t] = id
		l.postings = append(l.postings, nil)
	}
	return id
}

// add indexes terms as slot (slots are added in increasing order).
func (l *lexical) add(slot int, terms []string) {
	for len(l.lengths) <= slot {
		l.lengths = append(l.lengths, -1)
	}
	ids := make([]int32, len(terms))
	for i, t := range terms {
		ids[i] = l.termID(t)
	}
	slices.Sort(ids)
	for i := 0; i < len(ids); {
		j := i + 1
		for j < len(ids) && ids[j] == ids[i] {
			j++
		}
		l.postings[ids[i]] = append(l.postings[ids[i]], posting{slot: int32(slot), tf: int32(j - i)})
		i = j
	}
	l.lengths[slot] = int32(len(terms))
	l.live++
	l.total += int64(len(terms))
}

// remove forgets a slot; its postings are dropped at the next compaction.
func (l *lexical) remove(slot int) {
	if slot >= len(l.lengths) || l.lengths[slot] < 0 {
		return
	}
	l.total -= int64(l.lengths[slot])
	l.lengths[slot] = -1
	l.live--
	l.dead++
	if l.dead > 1024 && l.dead > l.live {
		l.compact()
	}
}

func (l *lexical) compact() {
	for id, ps := range l.postings {
		kept := ps[:0]
		for _, p := range ps {
			if l.lengths[p.slot] >= 0 {
				kept = append(kept, p)
			}
		}
		l.postings[id] = kept
	}
	l.dead = 0
}

// renumber moves the live slots to new numbers (remap[old], -1 for removed
// ones) and drops the removed ones, in place.
func (l *lexical) renumber(remap []int32, n int) {
	lengths := make([]int32, n)
	for old, nw := range remap {
		if nw >= 0 {
			lengths[nw] = l.lengths[old]
		}
	}
	for id, ps := range l.postings {
		kept := ps[:0]
		for _, p := range ps {
			if nw := remap[p.slot]; nw >= 0 {
				kept = append(kept, posting{slot: nw, tf: p.tf})
			}
		}
		l.postings[id] = kept
	}
	l.lengths, l.dead = lengths, 0
}

// termPostings returns the postings of a term (nil when unknown).
func (l *lexical) termPostings(t string) []posting {
	if id, ok := l.ids[t]; ok {
		return l.postings[id]
	}
	return nil
}

func (l *lexical) idf(df int) float64 {
	n := float64(l.live)
	return math.Log(1 + (n-float64(df)+0.5)/(float64(df)+0.5))
}

// idfOf is the inverse document frequency of a term (that of an unseen
// term for one the index does not hold).
func (l *lexical) idfOf(term string) float64 {
	return l.idf(l.df(l.termPostings(term)))
}

// df is the number of live slots among a term's postings. With no removed
// slot pending (dead is 0 after every compaction and in a fresh index)
// every posting is live: the count is the length, instead of a pass over
// up to 60,000 postings per question word at a million chunks, each a
// random read of lengths (the embedder asks for every word's idf, and
// search again).
func (l *lexical) df(ps []posting) int {
	if l.dead == 0 {
		return len(ps)
	}
	df := 0
	for _, p := range ps {
		if l.lengths[p.slot] >= 0 {
			df++
		}
	}
	return df
}

// scored is a slot with its score.
type scored struct {
	slot  int
	score float64
}

// lexHits are the scores of one search: dense by slot, so that adding a
// posting's score is an array write instead of a map insert (the map was
// most of the lexical search's time under load), with the list of slots
// that scored. They come from and go back to their lexical's pool.
type lexHits struct {
	score []float64 // by slot, before normalising; zero where nothing matched
	slots []int32   // the slots with a score, in the order first scored
	// max is what the scores are normalised by (see search), on reading:
	// a pass dividing them all was a random write per matching slot, up
	// to 850,000 of them for a question of common words at a million.
	max  float64
	pool *hitsPool
}

// hitsPool lends the searches their lexHits, at most hitsPerCPU per CPU
// at a time; a search past that waits for one to come back. Each holds a
// float64 per slot, 8 MB at a million chunks: under 64 concurrent
// questions a pool without a bound (sync.Pool) made one per search in
// flight, half a gigabyte of live heap that the collector's heap goal
// then doubled (`chatbot bench --chunks 1000000`: peak RSS 4.0 GB against
// 2.0 GB idle). On two cores more searches at once do not finish sooner.
//
// The free ones are a stack: the array used last is the likeliest to be
// in the cache (a queue rotating through four 8 MB arrays made a search
// 2-3x slower than one reused).
type hitsPool struct {
	once sync.Once
	lent chan struct{} // a token per lexHits lent out
	mu   sync.Mutex
	free []*lexHits
}

const hitsPerCPU = 2

func (p *hitsPool) get() *lexHits {
	p.once.Do(func() { p.lent = make(chan struct{}, hitsPerCPU*runtime.GOMAXPROCS(0)) })
	p.lent <- struct{}{}
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.free); n > 0 {
		h := p.free[n-1]
		p.free = p.free[:n-1]
		return h
	}
	return &lexHits{pool: p}
}

func (p *hitsPool) put(h *lexHits) {
	p.mu.Lock()
	p.free = append(p.free, h)
	p.mu.Unlock()
	<-p.lent
}

// get is slot's score (0 when it did not match, or h is nil).
func (h *lexHits) get(slot int) float64 {
	if h == nil || slot >= len(h.score) {
		return 0
	}
	return h.score[slot] / h.max
}

// len is the number of slots that matched.
func (h *lexHits) len() int {
	if h == nil {
		return 0
	}
	return len(h.slots)
}

// all yields the matching slots and their scores.
func (h *lexHits) all() iter.Seq2[int, float64] {
	return func(yield func(int, float64) bool) {
		if h == nil {
			return
		}
		for _, s := range h.slots {
			if !yield(int(s), h.score[s]/h.max) {
				return
			}
		}
	}
}

// release clears h and returns it to the pool; h must not be used after.
func (h *lexHits) release() {
	if h == nil {
		return
	}
	for _, s := range h.slots {
		h.score[s] = 0
	}
	h.slots = h.slots[:0]
	h.pool.put(h)
}

// search scores every slot holding a query term. Scores are normalised
// by the best score any document could reach for this query (every term
// present, saturated), so 1 means "all query terms, strongly" and the
// value is comparable across queries. Repeated query terms count once.
// The result is nil when nothing can match; release it when done.
func (l *lexical) search(terms []string) *lexHits {
	if l.live == 0 {
		return nil
	}
	avg := float64(l.total) / float64(l.live)
	if avg == 0 {
		avg = 1
	}
	seen := map[string]bool{}
	var maxScore float64
	h := l.hits.get()
	if cap(h.score) < len(l.lengths) {
		// Room for every slot in the list too: a question of common words
		// matches most of them (850,000 of a million), and growing the
		// list by appends allocated up to 14 MB in the search, with the
		// collector's assists on top (the slowest searches after a start).
		h.score = make([]float64, len(l.lengths))
		h.slots = make([]int32, 0, len(l.lengths))
	}
	h.score = h.score[:len(l.lengths)]
	for _, t := range terms {
		if seen[t] {
			continue
		}
		seen[t] = true
		ps := l.termPostings(t)
		df := l.df(ps)
		if df == 0 {
			// An unknown term still counts in the maximum: a query about
			// something the documents never mention is less covered.
			maxScore += l.idf(0) * (bm25K1 + 1)
			continue
		}
		idf := l.idf(df)
		maxScore += idf * (bm25K1 + 1)
		for _, p := range ps {
			dl := l.lengths[p.slot]
			if dl < 0 {
				continue
			}
			tf := float64(p.tf)
			if h.score[p.slot] == 0 {
				h.slots = append(h.slots, p.slot)
			}
			// Every term adds a positive amount, so a scored slot is never 0.
			h.score[p.slot] += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*float64(dl)/avg))
		}
	}
	if maxScore == 0 || len(h.slots) == 0 {
		h.release()
		return nil
	}
	h.max = maxScore
	return h
}

// best is top(h.all(), n) without an iterator call and a division per
// matching slot: the heap compares the scores before normalising (the
// same order: they are all divided by h.max) and a slot below the n-th
// best is passed over in two comparisons.
func (h *lexHits) best(n int) []scored {
	if h == nil || n <= 0 {
		return nil
	}
	hp := make(minHeap, 0, min(n, len(h.slots)))
	for _, s := range h.slots {
		v := h.score[s]
		if len(hp) == n && v < hp[0].score {
			continue
		}
		hp.offer(scored{slot: int(s), score: v}, n)
	}
	sortScored(hp)
	for i := range hp {
		hp[i].score /= h.max
	}
	return hp
}
