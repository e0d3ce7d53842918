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
	vs := newVectors(dim, 0)
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

// The SIMD int8 kernel agrees with the plain Go loop at every length
// (multiples of 32 and tails) and at the extremes of int8.
func TestDotInt8MatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 1100; n += 1 + n/40 {
		a, b := make([]int8, n), make([]int8, n)
		for i := range a {
			a[i], b[i] = int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
		}
		if got, want := dotInt8(a, b), dotInt8Go(a, b); got != want {
			t.Fatalf("n=%d: dotInt8 = %d, want %d", n, got, want)
		}
		for i := range a {
			a[i], b[i] = -128, -128
		}
		if got := dotInt8(a, b); got != int32(n)*16384 {
			t.Fatalf("n=%d at -128: dotInt8 = %d, want %d", n, got, n*16384)
		}
	}
}

func TestQuantize(t *testing.T) {
	q := make([]int8, 4)
	if s := quantize(q, []float32{0.5, -0.25, 0, 0.125}); s != 0.5/127 || q[0] != 127 || q[1] != -64 || q[2] != 0 || q[3] != 32 {
		t.Fatalf("quantize = %v scale %v", q, s)
	}
	if s := quantize(q, make([]float32, 4)); s != 0 || q[0] != 0 {
		t.Fatalf("zero vector: %v scale %v", q, s)
	}
}

// randomVectors fills a vector index with n random unit vectors of dim.
func randomVectors(rng *rand.Rand, dim, n int) *vectors {
	vs := newVectors(dim, 0)
	v := make([]float32, dim)
	for i := 0; i < n; i++ {
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		vs.add(v)
	}
	return vs
}

// The int8 pre-filter returns what the exact float32 scan returns: the
// same slots in the same order with the same (exact) scores, on random
// 512-dimension vectors, whose scores crowd closer than real embeddings'.
func TestNearestWithPreFilterIsExact(t *testing.T) {
	if !haveInt8Dot {
		t.Skip("no SIMD int8 dot product on this CPU: nearest is the exact scan")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	vs := randomVectors(rng, 512, 10000)
	for i := 0; i < 10000; i += 97 {
		vs.clear(i) // removed slots are skipped on both paths
	}
	all := func(yield func(int) bool) {
		for s := 0; s < 10000 && yield(s); s++ {
		}
	}
	dead := func(s int) bool { return s%97 == 0 }
	for qi := 0; qi < 50; qi++ {
		q := make([]float32, 512)
		for j := range q {
			q[j] = float32(rng.NormFloat64())
		}
		q = unitVector(q)
		got, want := vs.nearest(q, 50, dead), vs.exact(q, 50, dead, all)
		if len(got) != 50 || len(want) != 50 {
			t.Fatalf("query %d: %d and %d results, want 50", qi, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("query %d rank %d: %+v, exact scan %+v", qi, i, got[i], want[i])
			}
		}
	}
}

// go test ./rag -run XXX -bench VectorScan: the int8 pre-filter against
// the exact float32 scan over 10,000 x 512.
func BenchmarkVectorScan10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	vs := randomVectors(rng, 512, 10000)
	q := unitVector(vs.get(17))
	none := func(int) bool { return false }
	b.Run("nearest", func(b *testing.B) {
		for b.Loop() {
			vs.nearest(q, 50, none)
		}
	})
	b.Run("exact", func(b *testing.B) {
		for b.Loop() {
			vs.exact(q, 50, none, func(yield func(int) bool) {
				for s := 0; s < 10000 && yield(s); s++ {
				}
			})
		}
	})
}
