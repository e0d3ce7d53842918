package rag

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// nearest agrees with a plain sort of every live slot's cosine similarity,
// also after removals and a compaction.
func TestVectorsNearestMatchesBruteForce(t *testing.T) {
	const dim, n = 37, 500 // 37: the loop's tail is exercised
	rng := rand.New(rand.NewPCG(1, 2))
	vs := newVectors(dim)
	raw := make([][]float32, n)
	for i := range raw {
		raw[i] = make([]float32, dim)
		for j := range raw[i] {
			raw[i][j] = float32(rng.NormFloat64()) * 3 // not unit length: add normalises
		}
		vs.add(raw[i])
	}
	dead := map[int]bool{}
	for i := 0; i < n; i += 7 {
		dead[i] = true
		vs.clear(i)
	}
	q := make([]float32, dim)
	for j := range q {
		q[j] = float32(rng.NormFloat64())
	}
	q = unitVector(q)
	want := func(alive func(i int) bool, vecOf func(i int) []float32, slots int) []int {
		var ids []int
		score := map[int]float64{}
		for i := 0; i < slots; i++ {
			if alive(i) {
				ids = append(ids, i)
				score[i] = cosine(q, vecOf(i))
			}
		}
		sort.Slice(ids, func(a, b int) bool { return score[ids[a]] > score[ids[b]] })
		return ids[:10]
	}
	got := vs.nearest(q, 10, func(s int) bool { return dead[s] })
	exp := want(func(i int) bool { return !dead[i] }, func(i int) []float32 { return raw[i] }, n)
	for i := range exp {
		if got[i].slot != exp[i] || math.Abs(got[i].score-cosine(q, raw[exp[i]])) > 1e-5 {
			t.Fatalf("rank %d: got slot %d (%.6f), want %d (%.6f)", i, got[i].slot, got[i].score, exp[i], cosine(q, raw[exp[i]]))
		}
	}

	remap := make([]int32, n)
	var live []int // new slot -> old
	for i := range remap {
		remap[i] = -1
		if !dead[i] {
			remap[i] = int32(len(live))
			live = append(live, i)
		}
	}
	vs.compact(remap, len(live))
	got = vs.nearest(q, 10, func(int) bool { return false })
	for i := range exp {
		if live[got[i].slot] != exp[i] {
			t.Fatalf("after compaction, rank %d: slot %d was %d, want %d", i, got[i].slot, live[got[i].slot], exp[i])
		}
	}
	if len(vs.data) != len(live)*dim {
		t.Fatalf("compacted to %d floats, want %d", len(vs.data), len(live)*dim)
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

func BenchmarkVectorScan10k(b *testing.B) {
	const dim, n = 512, 10000
	rng := rand.New(rand.NewPCG(3, 4))
	vs := newVectors(dim)
	v := make([]float32, dim)
	for i := 0; i < n; i++ {
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		vs.add(v)
	}
	q := unitVector(v)
	for b.Loop() {
		vs.nearest(q, 50, func(int) bool { return false })
	}
}
