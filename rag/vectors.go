package rag

import (
	"math"
	"sort"

	"github.com/viterin/vek/vek32"
)

// vectors holds the unit-length vectors of the index in one contiguous
// slice, slot n at data[n*dim:(n+1)*dim], aligned with Index.slots.
//
// It replaced a chromem-go collection (v0.7.0) as the in-memory vector
// index. Measured on 10,000 x 512 chunks (BENCHMARKS.md, "Query latency"):
// chromem-go's QueryEmbedding took 11-14 ms per query, 4.4x a brute-force
// scan over contiguous memory, because it walks a map of documents, splits
// the work over goroutines and channels, and sums in one accumulator; it
// also needs the same vectors once more for GetByID. A flat scan with SIMD
// dot products (dot32) runs near the memory-bandwidth floor, and the
// vectors are held once. The store (bbolt) stays the source of truth; this is rebuilt from it
// at Open, as the collection was.
type vectors struct {
	dim  int
	data []float32
}

func newVectors(dim int) *vectors { return &vectors{dim: dim} }

// add appends v, normalised to unit length, as the next slot. A zero
// vector stays zero (it matches nothing).
func (vs *vectors) add(v []float32) {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	start := len(vs.data)
	vs.data = append(vs.data, v...)
	if norm > 0 && math.Abs(norm-1) > 1e-6 {
		inv := float32(1 / math.Sqrt(norm))
		for i := start; i < len(vs.data); i++ {
			vs.data[i] *= inv
		}
	}
}

// get returns slot n's vector (shared; do not modify).
func (vs *vectors) get(n int) []float32 {
	return vs.data[n*vs.dim : (n+1)*vs.dim : (n+1)*vs.dim]
}

// clear zeroes slot n (a removed chunk): it can no longer score.
func (vs *vectors) clear(n int) {
	clear(vs.get(n))
}

// compact keeps the slots whose remap entry is not -1, in order.
func (vs *vectors) compact(remap []int32, live int) {
	for old, nw := range remap {
		if nw >= 0 && int(nw) != old {
			copy(vs.data[int(nw)*vs.dim:], vs.get(old))
		}
	}
	vs.data = vs.data[:live*vs.dim]
}

// nearest returns the n slots most similar to the unit vector q, best
// first (ties by slot), skipping slots for which dead is true.
func (vs *vectors) nearest(q []float32, n int, dead func(slot int) bool) []scored {
	if n <= 0 || len(q) != vs.dim {
		return nil
	}
	h := make(minHeap, 0, n)
	slots := len(vs.data) / vs.dim
	for s := 0; s < slots; s++ {
		score := float64(dot32(q, vs.data[s*vs.dim:(s+1)*vs.dim]))
		if len(h) == n && score <= h[0].score {
			continue // the common case: cheaper than a dead check
		}
		if dead(s) {
			continue
		}
		h.offer(scored{slot: s, score: score}, n)
	}
	sort.Slice(h, func(i, j int) bool {
		if h[i].score != h[j].score {
			return h[i].score > h[j].score
		}
		return h[i].slot < h[j].slot
	})
	return h
}

// dot32 is the dot product of two vectors of the same length: vek's
// AVX2/FMA assembly where the CPU has it (2.2-2.4x the eight-accumulator Go
// loop it replaced, measured over 10,000 x 512; the scan is then bound by
// memory bandwidth), plain Go elsewhere.
func dot32(a, b []float32) float32 { return vek32.Dot(a, b[:len(a)]) }

// minHeap keeps the best n results seen, the worst at the root.
type minHeap []scored

func (h *minHeap) offer(e scored, n int) {
	worse := func(a, b scored) bool { // a ranks below b
		if a.score != b.score {
			return a.score < b.score
		}
		return a.slot > b.slot
	}
	x := *h
	if len(x) < n {
		x = append(x, e)
		for i := len(x) - 1; i > 0; {
			p := (i - 1) / 2
			if !worse(x[i], x[p]) {
				break
			}
			x[i], x[p] = x[p], x[i]
			i = p
		}
		*h = x
		return
	}
	if !worse(x[0], e) {
		return
	}
	x[0] = e
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(x) && worse(x[l], x[m]) {
			m = l
		}
		if r < len(x) && worse(x[r], x[m]) {
			m = r
		}
		if m == i {
			return
		}
		x[i], x[m] = x[m], x[i]
		i = m
	}
}
