package rag

import (
	"math"
	"sort"
)

// candidate is one passage a search considers, with its signals: the
// normalised BM25 score, the cosine similarity of its vector to the query
// vector, and (hybrid only) that similarity after pseudo-relevance
// feedback.
type candidate struct {
	slot     int
	lex      float64
	vec      float64
	feedback float64
	v        []float32 // its unit vector (hybrid only), read-only
}

// vector is the vector similarity shown for the candidate in mode: after
// feedback in hybrid mode, negative as 0.
func (c candidate) vector(mode Mode) float64 {
	if mode == ModeHybrid {
		return math.Max(c.feedback, 0)
	}
	return math.Max(c.vec, 0)
}

// candidates gathers the pool best passages of each signal the mode uses,
// with every signal of each; called with ix.mu held for reading. The
// lexical side (lex, lexTop) is what lexicalSide returned; rows holds
// vectors already read (rowsOf), and twoCores reads the others in halves
// on two cores (each a read of the snapshot file at a million chunks).
func (ix *Index) candidates(qv []float32, near []scored, lex *lexHits, lexTop []scored, mode Mode, rows map[int][]float32, twoCores bool) ([]candidate, []float32) {
	bySlot := map[int]int{} // slot -> index in out
	var out []candidate
	add := func(s int) int {
		if i, ok := bySlot[s]; ok {
			return i
		}
		bySlot[s] = len(out)
		out = append(out, candidate{slot: s, lex: lex.get(s)})
		return len(out) - 1
	}
	for _, r := range near {
		out[add(r.slot)].vec = r.score
	}
	for _, sc := range lexTop {
		add(sc.slot)
	}
	if mode != ModeHybrid {
		return out, qv
	}
	// Every candidate's vector: for the lexical ones the vector pool missed,
	// and for the feedback.
	var read []int // the candidates whose rows are still to be read
	for i := range out {
		if v, ok := rows[out[i].slot]; ok {
			out[i].v = v
		} else {
			read = append(read, i)
		}
	}
	fill := func(is []int) {
		for _, i := range is {
			out[i].v = ix.vecs.get(out[i].slot)
		}
	}
	if h := len(read) / 2; twoCores && h > 0 {
		both(func() { fill(read[:h]) }, func() { fill(read[h:]) })
	} else {
		fill(read)
	}
	for i := range out {
		out[i].vec = dot(qv, out[i].v)
	}
	q2 := feedback(qv, plateau(out))
	for i := range out {
		out[i].feedback = dot(q2, out[i].v)
	}
	return out, qv
}

// vectorSide is the pool passages nearest the question vector qv, and qv
// made a unit vector; none in lexical mode. Called with ix.mu held for
// reading.
func (ix *Index) vectorSide(qv []float32, pool int, mode Mode) ([]scored, []float32) {
	if mode == ModeLexical {
		return nil, qv
	}
	qv = unitVector(qv)
	// A removed slot's vector is zero: the scale, read next to the row,
	// rules out almost every live one without touching the slot table (a
	// cache miss per check: 3% of the server's CPU).
	dead := func(s int) bool { return ix.vecs.zeroAt(s) && ix.slots[s].id == "" }
	return ix.vecs.nearest(qv, pool, dead), qv
}

// lexicalSide is the BM25 scores of the question's terms and the pool
// best of them; none in vector mode. Called with ix.mu held for reading;
// release the scores when done.
func (ix *Index) lexicalSide(terms []string, pool int, mode Mode) (*lexHits, []scored) {
	if mode == ModeVector {
		return nil, nil
	}
	h := ix.lex.search(terms)
	return h, h.best(pool)
}

// rowsOf reads the vectors of the slots when they are in the snapshot
// file (nil otherwise: then they cost nothing to get later), so that the
// lexical side reads its candidates' rows while the vector side scans.
func (vs *vectors) rowsOf(ss []scored) map[int][]float32 {
	if vs.file.slots == 0 || len(ss) == 0 {
		return nil
	}
	rows := make(map[int][]float32, len(ss))
	for _, sc := range ss {
		rows[sc.slot] = vs.get(sc.slot)
	}
	return rows
}

// plateau returns the vectors of the best lexical candidates: at most
// feedbackDocs, each scoring at least feedbackPlateau of the best lexical
// score. None when no candidate shares a word with the question.
//
// The cut at feedbackDocs is never made by insertion order: when it falls
// inside an exact lexical tie, the tied passages are taken together if
// they are at most feedbackDocs (a few passages saying the same thing, as
// on MS MARCO), and left out together if they are more (a template the
// words cannot tell apart: on rag/testdata/eval "need a receipt" ties the
// warranty passage of all 25 products, and feedback from the first three
// by slot pulled the query towards warranties of arbitrary products and
// away from the receipts passage). Left out, the feedback comes from the
// passages above the tie only, or there is none.
//
// Why not the ten best first-pass results (Rocchio's usual depth, what
// the index did before): on a help centre built from templates (the same
// aspect of 25 products, rag/testdata/eval) those ten are the same aspect
// of other products, and their centroid pulled the query towards the
// template and away from the product's name (hybrid 0.66 against lexical
// 0.78 on es). The plateau is the passages the words cannot tell apart:
// one when the lexical side has a clear best (feedback then confirms it),
// several when it does not (MS MARCO, where many passages cover the whole
// question and feedback is what lifts hybrid above lexical).
func plateau(cands []candidate) [][]float32 {
	best := 0.0
	for _, c := range cands {
		best = math.Max(best, c.lex)
	}
	if best <= 0 {
		return nil
	}
	var top []candidate
	for _, c := range cands {
		if c.lex >= feedbackPlateau*best {
			top = append(top, c)
		}
	}
	sort.Slice(top, func(i, j int) bool {
		if top[i].lex != top[j].lex {
			return top[i].lex > top[j].lex
		}
		return top[i].slot < top[j].slot
	})
	top = cutTies(top, feedbackDocs)
	out := make([][]float32, 0, len(top))
	for _, c := range top {
		out = append(out, c.v)
	}
	return out
}

// cutTies returns the first n of top (sorted by lexical score, best
// first), except when top[n-1] and top[n] tie exactly: then the whole
// tied run is kept when it has at most n passages and dropped otherwise
// (see plateau).
func cutTies(top []candidate, n int) []candidate {
	if len(top) <= n {
		return top
	}
	tie := top[n].lex
	if top[n-1].lex != tie {
		return top[:n]
	}
	lo, hi := n-1, n+1
	for lo > 0 && top[lo-1].lex == tie {
		lo--
	}
	for hi < len(top) && top[hi].lex == tie {
		hi++
	}
	if hi-lo <= n {
		return top[:hi]
	}
	return top[:lo]
}

// feedback returns the query vector moved towards the normalised centroid
// of vecs with feedbackWeight, normalised; without vecs (a question no
// passage shares a word with) the query vector as it is, so that feedback
// never lends relevance to unrelated passages.
func feedback(qv []float32, vecs [][]float32) []float32 {
	cent := make([]float64, len(qv))
	for _, v := range vecs {
		for i, x := range v {
			cent[i] += float64(x)
		}
	}
	var n float64
	for _, x := range cent {
		n += x * x
	}
	if n == 0 {
		return qv
	}
	n = math.Sqrt(n)
	q := make([]float64, len(qv))
	var n2 float64
	for i := range qv {
		q[i] = float64(qv[i]) + feedbackWeight*cent[i]/n
		n2 += q[i] * q[i]
	}
	n2 = math.Sqrt(n2)
	out := make([]float32, len(qv))
	for i := range q {
		out[i] = float32(q[i] / n2)
	}
	return out
}

// fuse ranks the candidates by their relevance in mode, best first, ties
// by slot: in hybrid mode lexWeight x lexical + the rest x the vector
// similarity after feedback from the lexical plateau.
func fuse(cands []candidate, mode Mode, lexWeight float64) []scored {
	ranked := make([]scored, 0, len(cands))
	for _, c := range cands {
		v := c.vector(mode)
		var f float64
		switch mode {
		case ModeLexical:
			f = c.lex
		case ModeVector:
			f = v
		default:
			f = lexWeight*c.lex + (1-lexWeight)*v
		}
		ranked = append(ranked, scored{slot: c.slot, score: math.Min(f, 1)})
	}
	sortScored(ranked)
	return ranked
}

func sortScored(ranked []scored) {
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].score != ranked[j].score {
			return ranked[i].score > ranked[j].score
		}
		return ranked[i].slot < ranked[j].slot
	})
}
