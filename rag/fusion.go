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
// with every signal of each; called with ix.mu held for reading.
func (ix *Index) candidates(qv []float32, lex *lexHits, pool int, mode Mode) ([]candidate, []float32) {
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
	if mode != ModeLexical {
		qv = unitVector(qv)
		dead := func(s int) bool { return ix.slots[s].id == "" }
		for _, r := range ix.vecs.nearest(qv, pool, dead) {
			out[add(r.slot)].vec = r.score
		}
	}
	for _, sc := range top(lex.all(), pool) {
		add(sc.slot)
	}
	if mode != ModeHybrid {
		return out, qv
	}
	// Every candidate's vector: for the lexical ones the vector pool missed,
	// and for the feedback.
	vecs := make(map[int][]float32, len(out))
	for i := range out {
		v := ix.vecs.get(out[i].slot)
		vecs[out[i].slot] = v
		out[i].v = v
		out[i].vec = dot(qv, v)
	}
	first := fuseLinear(out, ModeHybrid, hybridLexicalWeight, false)
	q2 := feedback(qv, vecs, first, lex)
	for i := range out {
		out[i].feedback = dot(q2, vecs[out[i].slot])
	}
	return out, qv
}

// fuse ranks the candidates by their relevance in mode, best first, ties
// by slot.
func fuse(cands []candidate, mode Mode, lexWeight float64) []scored {
	return fuseLinear(cands, mode, lexWeight, true)
}

// fuseLinear is lexWeight x lexical + (1-lexWeight) x vector similarity
// (after feedback when withFeedback), capped at 1.
func fuseLinear(cands []candidate, mode Mode, lexWeight float64, withFeedback bool) []scored {
	ranked := make([]scored, 0, len(cands))
	for _, c := range cands {
		v := math.Max(c.vec, 0)
		if withFeedback && mode == ModeHybrid {
			v = math.Max(c.feedback, 0)
		}
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
