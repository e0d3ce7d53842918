package rag

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// The approximate vector index: an inverted file (IVF). The unit vectors
// are split into lists by their nearest centroid (spherical k-means on a
// sample); a query scores the centroids, scans the slots of the nearest
// lists on their int8 copies with the AVX2 kernel (dot_amd64.s), and
// rescores the best in float32, as the flat scan does for every slot.
//
// Chosen over github.com/coder/hnsw v0.6.1 (pure Go, the maintained HNSW
// library found): measured on 20,000 clustered 512-dimension unit vectors
// on this 2-core machine, its Add built 2,156 vectors/s on one core (Add is
// not safe for concurrent use), so a million would take more than eight
// minutes of the ten-minute budget before anything else, and its
// recall@10 at EfSearch 64 was 0.16 in that test. Once trained the IVF
// holds the only int8 copy of the vectors, in list order (the flat copy
// is dropped; a slot's row is found by its list and position), assigns a
// new chunk with nlist int8 dot products, and its rebuild is a sample
// k-means plus one int8 pass.

// DefaultExactBelow is the number of vector slots below which a search
// scans every vector (exact after the float32 rescoring) instead of the
// IVF. Measured (BenchmarkVectorCrossover, clustered 512-dimension
// vectors, 50 wanted): the IVF is about twice as fast from 25,000 on
// (0.32 against 0.65 ms; 100,000: 1.0 against 2.2 ms; 200,000: 1.8
// against 5.1 ms) but not exact: recall@10 0.87-0.92 there, 0.82 on the
// bench knowledge base and 0.50 on the Zipf corpus of BenchmarkSearch at
// 100,000. Below 200,000 the exact scan costs at most about 5 ms a
// question, so the threshold keeps exact results there.
const DefaultExactBelow = 200000

// retrainGrowth: the IVF is trained again once the slots have grown by
// this factor since it was trained, so that its lists stay short.
const retrainGrowth = 2

// IVF parameters: nlist = sqrt(slots)/listRoot lists (500 at a million,
// lists of 2,000); k-means on kmeansPerList sampled vectors per list for
// kmeansIters rounds; a search scans the nearest lists until it has read
// at least probeShare of the slots and probeMinLists lists. Chosen with
// BenchmarkIVFGrid on the bench knowledge base (100,000 chunks): recall@10
// rises with the share scanned far more than with the number of lists
// (share 1/32: 0.51-0.57, 1/16: 0.57-0.64, 1/8: 0.63-0.75, 1/4:
// 0.78-0.87 for 79, 158 and 316 lists). A quarter, since the lists' own
// rows made a scan of it cheaper than an eighth was through the slots.
const (
	listRoot      = 2
	kmeansPerList = 24
	kmeansIters   = 8
	probeShare    = 1.0 / 4
	probeMinLists = 8
)

// ivf is the inverted file over a vectors' slots. Guarded like vectors.
type ivf struct {
	dim    int
	nlist  int
	cents  []float32 // nlist unit centroids, for ranking lists
	qcents []int8    // the centroids in int8, for assigning slots
	qscale []float32 // per centroid
	lists  [][]int32 // the slots of each list
	// rows and rscale are each list's int8 vectors and scales, in list
	// order (a quarter of the float32), so that a search reads each list
	// in one sequential pass. Through the slot numbers the rows were
	// scattered: 230 ns a vector against 24 ns for the flat scan
	// (BenchmarkVectorCrossover, 400,000 x 512). They are the index's only
	// int8 copy while the IVF exists (vectors.getQuant).
	rows    [][]int8
	rscale  [][]float32
	rowsMem mapping // the arena of rows, off the Go heap (mem.go)
	of      []int32 // slot -> its list, -1 for none (a zero vector)
	pos     []int32 // slot -> its place in its list
	trained int     // the live slots it was trained on
	share   float64 // of the slots a search scans at least (probeShare)
}

// nlistFor is the number of lists for n slots.
func nlistFor(n int) int { return max(1, int(math.Sqrt(float64(n))/listRoot)) }

// trainCentroids runs spherical k-means over the sample (unit vectors)
// and returns nlist unit centroids, nlist*dim floats. Deterministic for a
// given sample.
func trainCentroids(sample [][]float32, dim, nlist int) []float32 {
	nlist = min(nlist, len(sample))
	cents := make([]float32, nlist*dim)
	rng := rand.New(rand.NewPCG(uint64(len(sample)), 17))
	for c, i := range rng.Perm(len(sample))[:nlist] {
		copy(cents[c*dim:], sample[i])
	}
	assign := make([]int, len(sample))
	sums := make([]float64, nlist*dim)
	counts := make([]int, nlist)
	for it := 0; it < kmeansIters; it++ {
		parallel(len(sample), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				best, bs := 0, float32(math.Inf(-1))
				for c := 0; c < nlist; c++ {
					if s := dot32(sample[i], cents[c*dim:(c+1)*dim]); s > bs {
						best, bs = c, s
					}
				}
				assign[i] = best
			}
		})
		clear(sums)
		clear(counts)
		for i, c := range assign {
			counts[c]++
			row := sums[c*dim : (c+1)*dim]
			for j, x := range sample[i] {
				row[j] += float64(x)
			}
		}
		for c := 0; c < nlist; c++ {
			row := cents[c*dim : (c+1)*dim]
			if counts[c] == 0 { // an empty list takes a random sample point
				copy(row, sample[rng.IntN(len(sample))])
				continue
			}
			var norm float64
			for _, x := range sums[c*dim : (c+1)*dim] {
				norm += x * x
			}
			if norm == 0 {
				continue
			}
			inv := 1 / math.Sqrt(norm)
			for j, x := range sums[c*dim : (c+1)*dim] {
				row[j] = float32(x * inv)
			}
		}
	}
	return cents
}

// newIVF returns an empty IVF with the given centroids, for slots slots.
func newIVF(dim int, cents []float32, slots int) *ivf {
	nlist := len(cents) / dim
	ix := &ivf{dim: dim, nlist: nlist, cents: cents, qcents: make([]int8, len(cents)),
		qscale: make([]float32, nlist), lists: make([][]int32, nlist), rows: make([][]int8, nlist), rscale: make([][]float32, nlist),
		of: make([]int32, 0, slots), pos: make([]int32, 0, slots), share: probeShare}
	for c := 0; c < nlist; c++ {
		ix.qscale[c] = quantize(ix.qcents[c*dim:(c+1)*dim], cents[c*dim:(c+1)*dim])
	}
	return ix
}

// listOf returns the list of the vector whose int8 copy is q with scale
// s, or -1 for a zero vector.
func (f *ivf) listOf(q []int8, s float32) int32 {
	if s == 0 {
		return -1
	}
	best, bs := int32(0), float32(math.Inf(-1))
	for c := 0; c < f.nlist; c++ {
		if sc := float32(dotInt8(q, f.qcents[c*f.dim:(c+1)*f.dim])) * f.qscale[c]; sc > bs {
			best, bs = int32(c), sc
		}
	}
	return best
}

// place records slot (the next one), whose int8 vector is q with scale
// sc, in list l.
func (f *ivf) place(slot int, l int32, q []int8, sc float32) {
	f.of = append(f.of, l)
	f.pos = append(f.pos, 0)
	if l >= 0 {
		f.pos[slot] = int32(len(f.lists[l]))
		f.lists[l] = append(f.lists[l], int32(slot))
		f.rows[l] = append(f.rows[l], q...)
		f.rscale[l] = append(f.rscale[l], sc)
	}
}

// remove takes slot out of its list (a removed chunk): the list's last
// entry takes its place.
func (f *ivf) remove(slot int) {
	if slot >= len(f.of) || f.of[slot] < 0 {
		return
	}
	li := f.of[slot]
	l := f.lists[li]
	for i, s := range l {
		if int(s) != slot {
			continue
		}
		last := len(l) - 1
		l[i] = l[last]
		f.pos[l[i]] = int32(i)
		copy(f.rows[li][i*f.dim:(i+1)*f.dim], f.rows[li][last*f.dim:])
		f.rscale[li][i] = f.rscale[li][last]
		f.lists[li], f.rows[li], f.rscale[li] = l[:last], f.rows[li][:last*f.dim], f.rscale[li][:last]
		break
	}
	f.of[slot] = -1
}

// compact renumbers the slots like vectors.compact (removed slots have
// already left their lists).
func (f *ivf) compact(remap []int32, live int) {
	of, pos := make([]int32, live), make([]int32, live)
	for old, nw := range remap {
		if nw >= 0 && old < len(f.of) {
			of[nw] = f.of[old]
		}
	}
	for l, ss := range f.lists {
		kept, k := ss[:0], 0
		for i, s := range ss {
			if nw := remap[s]; nw >= 0 {
				pos[nw] = int32(k)
				kept = append(kept, nw)
				copy(f.rows[l][k*f.dim:(k+1)*f.dim], f.rows[l][i*f.dim:])
				f.rscale[l][k] = f.rscale[l][i]
				k++
			}
		}
		f.lists[l], f.rows[l], f.rscale[l] = kept, f.rows[l][:k*f.dim], f.rscale[l][:k]
	}
	f.of, f.pos = of, pos
}

// release unmaps the rows' arena; the IVF must not be used after.
func (f *ivf) release() {
	f.rowsMem.release()
	clear(f.rows)
}

// probe returns the lists to scan for the query, nearest first: at least
// probeMinLists, and enough to cover probeShare of the slots and at
// least want of them.
func (f *ivf) probe(q []float32, want int) []int {
	order := make([]int, f.nlist)
	score := make([]float32, f.nlist)
	for c := range order {
		order[c] = c
		score[c] = dot32(q, f.cents[c*f.dim:(c+1)*f.dim])
	}
	sort.Slice(order, func(i, j int) bool {
		if score[order[i]] != score[order[j]] {
			return score[order[i]] > score[order[j]]
		}
		return order[i] < order[j]
	})
	need := max(want, int(float64(len(f.of))*f.share))
	n, covered := 0, 0
	for n < len(order) && (n < probeMinLists || covered < need) {
		covered += len(f.lists[order[n]])
		n++
	}
	return order[:n]
}

// parallel runs fn over [0, n) split into one range per CPU, and waits.
func parallel(n int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), max(1, n/256))
	if w <= 1 {
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*n/w, (i+1)*n/w
		wg.Go(func() { fn(lo, hi) })
	}
	wg.Wait()
}

// sample returns copies of up to m live vectors spread evenly over the
// slots (copies: a background training reads them without the lock).
func (vs *vectors) sample(m int) [][]float32 {
	n := vs.slots()
	step := max(1, n/max(m, 1))
	out := make([][]float32, 0, min(m, n))
	for s := 0; s < n && len(out) < m; s += step {
		if vs.scale[s] != 0 {
			out = append(out, append([]float32(nil), vs.get(s)...))
		}
	}
	return out
}

// assignRange writes the list of each slot in [lo, hi) into of[s].
func (vs *vectors) assignRange(f *ivf, of []int32, lo, hi int) {
	parallel(hi-lo, func(a, b int) {
		for s := lo + a; s < lo+b; s++ {
			of[s] = f.listOf(vs.getQuant(s), vs.scale[s])
		}
	})
}

// fill installs of (one list per slot, every slot of vs) and builds the
// lists with their rows, leaving out removed slots. It reads the rows
// with vs.getQuant, so it runs before f replaces vs.ann (install).
func (f *ivf) fill(of []int32, vs *vectors) {
	counts := make([]int, f.nlist)
	for s, l := range of {
		if vs.scale[s] == 0 {
			of[s] = -1
		} else if l >= 0 {
			counts[l]++
		}
	}
	for l := range f.lists {
		f.lists[l] = make([]int32, 0, counts[l]+counts[l]/4)
	}
	pos := make([]int32, len(of))
	for s, l := range of {
		if l >= 0 {
			pos[s] = int32(len(f.lists[l]))
			f.lists[l] = append(f.lists[l], int32(s))
		}
	}
	// The rows (half a gigabyte at a million chunks) are one off-heap
	// arena on huge pages (filling them on 4 KB pages took 3.5 s of page
	// faults at a million), each list's part with room to grow in place
	// (a list that outgrows it moves to the Go heap), copied on every
	// core, a range of lists each.
	total := 0
	for _, ss := range f.lists {
		total += cap(ss)
	}
	arena, mem := mapNums[int8](total * f.dim)
	arena = arena[:total*f.dim]
	scaleArena := make([]float32, total)
	f.rowsMem = mem
	off := 0
	for l, ss := range f.lists {
		n, c := len(ss), cap(ss)
		f.rows[l] = arena[off*f.dim : (off+n)*f.dim : (off+c)*f.dim]
		f.rscale[l] = scaleArena[off : off+n : off+c]
		off += c
	}
	parallel(f.nlist*256, func(lo, hi int) {
		for l := lo / 256; l < hi/256; l++ {
			rows, scales := f.rows[l], f.rscale[l]
			for i, s := range f.lists[l] {
				copy(rows[i*f.dim:(i+1)*f.dim], vs.getQuant(int(s)))
				scales[i] = vs.scale[s]
			}
		}
	})
	f.of, f.pos = of, pos
}

// install makes f the IVF of vs (filled), releasing the int8 rows it
// replaces: the flat copy, or the previous IVF's.
func (vs *vectors) install(f *ivf) {
	old := vs.ann
	vs.ann = f
	vs.dropFlatQuant()
	if old != nil {
		old.release()
	}
}

// newTrainedIVF trains centroids on a sample of vs and returns an IVF
// without slots yet, sized for vs's live count.
func newTrainedIVF(sample [][]float32, dim, live, nlist int) *ivf {
	f := newIVF(dim, trainCentroids(sample, dim, nlist), live)
	f.trained = live
	return f
}

// trainIVF builds the IVF over every slot at once (at Open, and in
// tests); the caller owns vs.
func (vs *vectors) trainIVF(live int) { vs.trainIVFLists(live, nlistFor(live)) }

// trainIVFLists is trainIVF with nlist lists.
func (vs *vectors) trainIVFLists(live, nlist int) {
	sample := vs.sample(kmeansPerList * nlist)
	if len(sample) == 0 {
		return
	}
	f := newTrainedIVF(sample, vs.dim, live, nlist)
	of := make([]int32, vs.slots())
	vs.assignRange(f, of, 0, len(of))
	f.fill(of, vs)
	vs.install(f)
}
