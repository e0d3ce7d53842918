package rag

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/embed"
)

// clusteredVectors adds n vectors drawn around clusters random centres
// (noise of the given spread per dimension) and returns their raw values.
func clusteredVectors(rng *rand.Rand, vs *vectors, n, clusters int, spread float64) [][]float32 {
	cents := make([][]float32, clusters)
	for i := range cents {
		cents[i] = make([]float32, vs.dim)
		for j := range cents[i] {
			cents[i][j] = float32(rng.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := cents[rng.IntN(clusters)]
		v := make([]float32, vs.dim)
		for j := range v {
			v[j] = c[j] + float32(rng.NormFloat64()*spread)
		}
		vs.add(v)
		out[i] = v
	}
	return out
}

// The IVF finds at least 95% of the exact top ten on clustered vectors
// (queries near the data, as questions are near their passages).
func TestIVFRecallOnClusteredVectors(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	vs, raw := clusteredIVF(t, rng, 128, 30000, 300)
	none := func(int) bool { return false }
	var sum float64
	const queries = 200
	for i := 0; i < queries; i++ {
		q := append([]float32(nil), raw[rng.IntN(len(raw))]...)
		for j := range q {
			q[j] += float32(rng.NormFloat64() * 0.3)
		}
		q = unitVector(q)
		got := vs.nearest(q, 10, none)
		if len(got) != 10 {
			t.Fatalf("query %d: %d results, want 10", i, len(got))
		}
		sum += tieAwareRecall(vs, q, got, 10, none)
	}
	if r := sum / queries; r < 0.95 {
		t.Fatalf("recall@10 %.3f, want >= 0.95", r)
	}
}

// checkIVF asserts that every live slot (non-zero scale) is in exactly
// one list, the one of[] names, and no removed slot is in any.
func checkIVF(t *testing.T, vs *vectors) {
	t.Helper()
	f := vs.ann
	if len(f.of) != vs.slots() {
		t.Fatalf("IVF knows %d slots, the vectors %d", len(f.of), vs.slots())
	}
	seen := make([]int, vs.slots())
	for l, ss := range f.lists {
		if len(f.rows[l]) != len(ss)*vs.dim || len(f.rscale[l]) != len(ss) {
			t.Fatalf("list %d: %d slots, %d row bytes, %d scales", l, len(ss), len(f.rows[l]), len(f.rscale[l]))
		}
		for i, s := range ss {
			seen[s]++
			if f.of[s] != int32(l) {
				t.Fatalf("slot %d is in list %d, of says %d", s, l, f.of[s])
			}
			// The lists hold the only int8 rows: compare with the float32
			// vector quantised again.
			want := make([]int8, vs.dim)
			if sc := quantize(want, vs.get(int(s))); !slices.Equal(f.rows[l][i*vs.dim:(i+1)*vs.dim], want) || f.rscale[l][i] != sc || f.rscale[l][i] != vs.scale[s] {
				t.Fatalf("list %d entry %d: its row is not slot %d's vector", l, i, s)
			}
			if f.pos[s] != int32(i) || !slices.Equal(vs.getQuant(int(s)), want) {
				t.Fatalf("slot %d: position %d, want %d (or getQuant is not its row)", s, f.pos[s], i)
			}
		}
	}
	for s, n := range seen {
		want := 1
		if vs.scale[s] == 0 {
			want = 0
		}
		if n != want {
			t.Fatalf("slot %d (scale %v) is in %d lists, want %d", s, vs.scale[s], n, want)
		}
	}
}

// Slots added after training go into a list at once and are found;
// removed ones leave their list and are not; a compaction renumbers the
// lists with the slots.
func TestIVFAddRemoveCompact(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	vs := newVectors(64, 0)
	vs.exactBelow = 0
	raw := clusteredVectors(rng, vs, 3000, 40, 0.5)
	vs.trainIVF(3000)
	raw = append(raw, clusteredVectors(rng, vs, 1000, 40, 0.5)...)
	checkIVF(t, vs)
	dead := map[int]bool{}
	for s := 0; s < len(raw); s += 3 {
		dead[s] = true
		vs.clear(s)
	}
	checkIVF(t, vs)
	isDead := func(s int) bool { return dead[s] }
	for s := 1; s < len(raw); s += 97 { // a live vector finds itself first
		if dead[s] {
			continue
		}
		got := vs.nearest(unitVector(raw[s]), 5, isDead)
		if haveInt8Dot && (len(got) == 0 || got[0].slot != s) {
			t.Fatalf("slot %d: nearest %+v, want itself first", s, got)
		}
		for _, g := range got {
			if dead[g.slot] {
				t.Fatalf("removed slot %d returned", g.slot)
			}
		}
	}
	remap := make([]int32, len(raw))
	var live []int
	for s := range remap {
		remap[s] = -1
		if !dead[s] {
			remap[s] = int32(len(live))
			live = append(live, s)
		}
	}
	vs.compact(remap, len(live))
	checkIVF(t, vs)
	for nw := 0; nw < len(live); nw += 101 {
		got := vs.nearest(unitVector(raw[live[nw]]), 5, func(int) bool { return false })
		if haveInt8Dot && got[0].slot != nw {
			t.Fatalf("after compaction slot %d (was %d): nearest %+v, want itself first", nw, live[nw], got)
		}
	}
}

// Searches run while documents are ingested and the IVF is trained and
// trained again in the background (under -race); afterwards the IVF
// covers every chunk and a chunk's own text finds it first.
func TestSearchDuringIngestWithANN(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t, openStore(t, t.TempDir()), embed.NewBuiltin(), Options{ExactBelow: 40, MinScore: -1, Mode: ModeVector})
	g := newTextGen(5)
	const docs = 300
	texts := make([]string, docs)
	for i := range texts {
		texts[i] = g.paragraph(200)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		defer close(done)
		for i, txt := range texts {
			putTexts(t, ix, BEIRDoc{ID: fmt.Sprint(i), Text: txt})
		}
	})
	searches := 0
	for loop := true; loop; {
		select {
		case <-done:
			loop = false
		default:
		}
		if _, err := ix.Search(ctx, g.query(), 5); err != nil {
			t.Fatal(err)
		}
		searches++
	}
	wg.Wait()
	for ix.annBusy.Load() { // the last background training, if one runs
		runtime.Gosched()
	}
	ix.mu.RLock()
	if ix.vecs.ann == nil {
		ix.mu.RUnlock()
		t.Fatal("no IVF after 300 chunks with ExactBelow 40")
	}
	checkIVF(t, ix.vecs)
	ix.mu.RUnlock()
	for i := 0; i < docs; i += 17 {
		ps, err := ix.Search(ctx, texts[i], 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) != 1 || ps[0].Source != fmt.Sprint(i) {
			t.Fatalf("document %d's own text found %+v", i, ps)
		}
	}
	t.Logf("%d searches during the ingest", searches)
}

// BenchmarkVectorCrossover: the vector search alone (50 wanted, as Search
// asks for k = 5), the flat int8 scan against the IVF, on clustered
// 512-dimension vectors of growing counts: where the IVF starts to pay.
//
//	go test ./rag -run XXX -bench VectorCrossover -benchtime 200x
func BenchmarkVectorCrossover(b *testing.B) {
	if !haveInt8Dot {
		b.Skip("no SIMD int8 dot product")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	vs := newVectors(512, 400000)
	var raw [][]float32
	none := func(int) bool { return false }
	for _, n := range []int{25000, 50000, 100000, 200000, 400000} {
		raw = append(raw, clusteredVectors(rng, vs, n-vs.slots(), 1000, 1.0)...)
		vs.ann = nil
		vs.trainIVF(n)
		queries := make([][]float32, 64)
		for i := range queries {
			q := append([]float32(nil), raw[rng.IntN(len(raw))]...)
			for j := range q {
				q[j] += float32(rng.NormFloat64() * 0.5)
			}
			queries[i] = unitVector(q)
		}
		for _, mode := range []string{"exact", "ivf"} {
			b.Run(fmt.Sprintf("n=%d/%s", n, mode), func(b *testing.B) {
				vs.exactBelow = 0
				if mode == "exact" {
					vs.exactBelow = 1 << 30
				}
				var recall float64
				i := 0
				for b.Loop() {
					q := queries[i%len(queries)]
					got := vs.nearest(q, 50, none)
					b.StopTimer()
					recall += tieAwareRecall(vs, q, got, 10, none)
					b.StartTimer()
					i++
				}
				b.ReportMetric(recall/float64(i), "recall@10")
			})
		}
	}
}

// The IVF scan on two cores (every other list each, the two bests merged)
// returns what the scan on one returns.
func TestIVFParallelScanLikeSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	vs, raw := clusteredIVF(t, rng, 64, 20000, 200)
	sameOnTwoCores(t, rng, vs, raw)
}

// sameOnTwoCores asks 50 questions near the vectors raw of vs, on one core
// and on two, and fails on the first whose 20 nearest differ.
func sameOnTwoCores(t *testing.T, rng *rand.Rand, vs *vectors, raw [][]float32) {
	t.Helper()
	none := func(int) bool { return false }
	for i := 0; i < 50; i++ {
		q := unitVector(raw[rng.IntN(len(raw))])
		vs.parallelRows = 1 << 30
		want := vs.nearest(q, 20, none)
		vs.parallelRows = 0
		got := vs.nearest(q, 20, none)
		if len(want) != 20 || !slices.Equal(got, want) {
			t.Fatalf("query %d: two cores found %v, one %v", i, got, want)
		}
	}
}

// clusteredIVF is n clustered dim-dimension vectors (clusteredVectors,
// spread 0.7) with the IVF trained over them; the test is skipped where
// nearest is always the exact scan.
func clusteredIVF(t *testing.T, rng *rand.Rand, dim, n, clusters int) (*vectors, [][]float32) {
	t.Helper()
	if !haveInt8Dot {
		t.Skip("no SIMD int8 dot product: nearest is the exact scan")
	}
	vs := newVectors(dim, 0)
	vs.exactBelow = 0
	raw := clusteredVectors(rng, vs, n, clusters, 0.7)
	vs.trainIVF(n)
	if vs.ann == nil || vs.ann.nlist != nlistFor(n) {
		t.Fatalf("IVF not trained with %d lists", nlistFor(n))
	}
	return vs, raw
}

// A panic in either half of a two-core IVF scan reaches the caller once
// both halves have stopped.
func TestIVFParallelScanPanicReachesTheCaller(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	vs, raw := clusteredIVF(t, rng, 32, 5000, 50)
	vs.parallelRows = 0
	q := unitVector(raw[0])
	lists := vs.ann.probe(q, 4*preFilter(10))
	for _, half := range []int{0, 1} {
		l := lists[half]
		rows := vs.ann.rows[l]
		vs.ann.rows[l] = rows[:0:0] // a list whose rows are missing
		r := func() (r any) {
			defer func() { r = recover() }()
			vs.nearest(q, 10, func(int) bool { return false })
			return nil
		}()
		vs.ann.rows[l] = rows
		if r == nil {
			t.Fatalf("a panic in half %d did not reach the caller", half)
		}
	}
}

// With the float32 rows in a file (read one by one for the rescoring),
// the two-core scan also rescores in halves: the same results as one core.
func TestIVFParallelRescoreFromFileLikeSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	vs, raw := clusteredIVF(t, rng, 64, 20000, 200)
	f, err := os.CreateTemp(t.TempDir(), "rows")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytesOf(vs.data[:vs.slots()*vs.dim])); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vs.file = fileRows{f: f, slots: vs.slots()}
	sameOnTwoCores(t, rng, vs, raw)
}
