package rag

import (
	"iter"
	"math"
	"runtime"

	"github.com/viterin/vek/vek32"
)

// vectors holds the unit-length vectors of the index in one contiguous
// slice, slot n at data[n*dim:(n+1)*dim], aligned with Index.slots, and an
// int8 copy of each (quant, with its scale) that the scan reads first.
//
// It replaced a chromem-go collection (v0.7.0) as the in-memory vector
// index. Measured on 10,000 x 512 chunks (BENCHMARKS.md, "Query latency"):
// chromem-go's QueryEmbedding took 11-14 ms per query, 4.4x a brute-force
// scan over contiguous memory, because it walks a map of documents, splits
// the work over goroutines and channels, and sums in one accumulator; it
// also needs the same vectors once more for GetByID. The store (bbolt)
// stays the source of truth; this is rebuilt from it at Open, as the
// collection was.
//
// The scan is bound by memory bandwidth: 2 KB of float32 per 512-dimension
// chunk. So where the CPU has SIMD integer dot products (haveInt8Dot), it
// first scores every slot on the int8 copy (a quarter of the bytes), keeps
// the best few times n, and scores those again exactly in float32. The
// result is that of an exact scan unless an int8 score errs by more than
// the gap between the n-th and the preFilter(n)-th best, which quantisation
// to 127 levels does not do for unit vectors in practice (tests compare
// with the exact scan).
//
// From exactBelow slots on, once the IVF (ann.go) is trained, a search
// scans only the slots of the lists nearest the query instead of all, and
// the IVF's lists hold the only int8 copy.
//
// The arrays are mapped outside the Go heap (mem.go), and a large index
// reads its float32 rows from the snapshot file (vectors_file.go).
type vectors struct {
	dim   int
	data  []float32
	quant []int8    // data rounded to int8, per slot scaled to its largest value; nil while the IVF holds the rows
	scale []float32 // per slot: data ~ quant * scale; 0 for a zero (removed) vector
	// file is where the rows of the first slots are read from (the
	// snapshot file, vectors_file.go); data then holds the later slots'.
	file fileRows
	// readErrs counts failed reads of file since the index last logged
	// them (Index.logReadErrors); searches read concurrently.
	readErrs readErrors
	// The mappings holding data and quant outside the Go heap (mem.go).
	dataMem, quantMem mapping
	zero              []int8 // a zero int8 row: a slot in no IVF list

	exactBelow int // slots below which nearest scans every slot
	// parallelRows is the IVF rows from which a search scans them on two
	// cores (parallelScanRows; tests lower it).
	parallelRows int
	ann          *ivf // nil until trained
	// epoch counts compactions: a background training started before one
	// must not install slot numbers that have changed.
	epoch uint64
}

// newVectors returns an empty index of dim-dimension vectors with room for
// capacity of them, scanned exactly below DefaultExactBelow slots.
func newVectors(dim, capacity int) *vectors {
	vs := &vectors{dim: dim, scale: make([]float32, 0, capacity), exactBelow: DefaultExactBelow, parallelRows: parallelScanRows, zero: make([]int8, dim)}
	vs.data, vs.dataMem = mapNums[float32](capacity * dim)
	vs.quant, vs.quantMem = mapNums[int8](capacity * dim)
	return vs
}

// release unmaps the vectors' off-heap arrays (Index.Close); the vectors
// are empty after it, and a background IVF training still running drops
// its work (the epoch changes).
func (vs *vectors) release() {
	vs.file.close()
	vs.dataMem.release()
	vs.quantMem.release()
	if vs.ann != nil {
		vs.ann.release()
	}
	vs.data, vs.quant, vs.scale, vs.ann = nil, nil, nil, nil
	vs.epoch++
}

// dropFlatQuant releases the flat int8 copy once an IVF holds every
// slot's row (its lists' own copy, read in list order by a search).
func (vs *vectors) dropFlatQuant() {
	vs.quantMem.release()
	vs.quant = nil
}

// offHeapBytes is the memory the vectors have mapped outside the Go heap.
func (vs *vectors) offHeapBytes() int {
	n := vs.dataMem.size() + vs.quantMem.size()
	if vs.ann != nil {
		n += vs.ann.rowsMem.size()
	}
	return n
}

// zeroAt reports whether slot n's vector is zero (removed, or a zero vector).
func (vs *vectors) zeroAt(n int) bool { return vs.scale[n] == 0 }

// slots is the number of slots, removed ones included.
func (vs *vectors) slots() int { return len(vs.scale) }

// add appends v, normalised to unit length, as the next slot. A zero
// vector stays zero (it matches nothing).
func (vs *vectors) add(v []float32) {
	var norm float64
	for _, x := range v {
		norm += float64(x) * float64(x)
	}
	start := len(vs.data)
	vs.data = extendMapped(vs.data, &vs.dataMem, vs.dim)
	copy(vs.data[start:], v)
	if norm > 0 && math.Abs(norm-1) > 1e-6 {
		inv := float32(1 / math.Sqrt(norm))
		for i := start; i < len(vs.data); i++ {
			vs.data[i] *= inv
		}
	}
	if vs.ann == nil {
		// By slot number: data may hold only the slots after those in the
		// snapshot file.
		qs := len(vs.quant)
		vs.quant = extendMapped(vs.quant, &vs.quantMem, vs.dim)
		vs.scale = append(vs.scale, quantize(vs.quant[qs:], vs.data[start:]))
		return
	}
	// The IVF keeps the int8 row in its list only.
	q := make([]int8, vs.dim)
	sc := quantize(q, vs.data[start:])
	vs.scale = append(vs.scale, sc)
	vs.ann.place(len(vs.scale)-1, vs.ann.listOf(q, sc), q, sc)
}

// quantize writes v rounded to int8 into q, scaled so that its largest
// magnitude is 127, and returns the scale (v ~ q * scale; 0 for a zero v).
func quantize(q []int8, v []float32) float32 {
	var m float32
	for _, x := range v {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		clear(q)
		return 0
	}
	f := 127 / m
	for i, x := range v {
		q[i] = int8(math.Round(float64(x * f)))
	}
	return m / 127
}

// get returns slot n's vector (shared or a copy; do not modify).
func (vs *vectors) get(n int) []float32 {
	if n >= vs.file.slots {
		return vs.row(n, nil)
	}
	return vs.row(n, make([]float32, vs.dim))
}

// getQuant returns slot n's int8 row (shared; do not modify): from the
// flat copy, or from its IVF list once the IVF holds the rows.
func (vs *vectors) getQuant(n int) []int8 {
	if vs.quant == nil && vs.ann != nil {
		l := vs.ann.of[n]
		if l < 0 {
			return vs.zero
		}
		p := int(vs.ann.pos[n])
		return vs.ann.rows[l][p*vs.dim : (p+1)*vs.dim : (p+1)*vs.dim]
	}
	return vs.quant[n*vs.dim : (n+1)*vs.dim : (n+1)*vs.dim]
}

// clear zeroes slot n (a removed chunk): it can no longer score.
func (vs *vectors) clear(n int) {
	if n >= vs.file.slots { // a row in the file stays: scale 0 and the dead check keep it out
		clear(vs.get(n))
	}
	if vs.quant != nil {
		clear(vs.quant[n*vs.dim : (n+1)*vs.dim])
	}
	vs.scale[n] = 0
	if vs.ann != nil {
		vs.ann.remove(n)
	}
}

// compact keeps the slots whose remap entry is not -1, in order.
func (vs *vectors) compact(remap []int32, live int) {
	vs.materialize() // rare (removed slots outnumber live ones): the next snapshot takes the rows back
	for old, nw := range remap {
		if nw >= 0 && int(nw) != old {
			copy(vs.data[int(nw)*vs.dim:], vs.get(old))
			if vs.quant != nil {
				copy(vs.quant[int(nw)*vs.dim:], vs.quant[old*vs.dim:(old+1)*vs.dim])
			}
			vs.scale[nw] = vs.scale[old]
		}
	}
	vs.data = vs.data[:live*vs.dim]
	if vs.quant != nil {
		vs.quant = vs.quant[:live*vs.dim]
	}
	vs.scale = vs.scale[:live]
	if vs.ann != nil {
		vs.ann.compact(remap, live)
	}
	vs.epoch++
}

// preFilter is how many slots the int8 pass keeps for exact scoring when n
// are wanted.
func preFilter(n int) int { return max(4*n, n+64) }

// nearest returns the n slots most similar to the unit vector q, best
// first (ties by slot), skipping slots for which dead is true.
func (vs *vectors) nearest(q []float32, n int, dead func(slot int) bool) []scored {
	if n <= 0 || len(q) != vs.dim {
		return nil
	}
	slots := vs.slots()
	if vs.usesIVF(n) {
		return vs.annNearest(q, n, dead)
	}
	if !haveInt8Dot || slots <= preFilter(n) {
		return vs.exactAll(q, n, dead)
	}
	// The int8 pass: approximate scores, the best preFilter(n) kept.
	p := vs.int8Pass(q, n, dead)
	if vs.quant == nil { // the IVF holds the rows (it has shrunk below exactBelow since): every list
		for l := range vs.ann.lists {
			vs.offerList(p, l)
		}
		return vs.rescore(q, n, p.best)
	}
	for s := 0; s < slots; s++ {
		p.offer(s, vs.quant[s*vs.dim:(s+1)*vs.dim], vs.scale[s])
	}
	return vs.rescore(q, n, p.best)
}

// usesIVF is whether nearest asks the IVF for n slots rather than
// scanning every slot.
func (vs *vectors) usesIVF(n int) bool {
	slots := vs.slots()
	return haveInt8Dot && vs.ann != nil && slots >= vs.exactBelow && slots > preFilter(n)
}

// annNearest is nearest over the slots of the IVF lists nearest q: the
// same int8 pass and float32 rescoring as the flat scan, over a share of
// the slots.
//
// From parallelRows rows on, the lists are scanned on two cores (every
// other list each, nearest first, so both get a similar share), each side
// keeping its own best, merged before the rescoring.
func (vs *vectors) annNearest(q []float32, n int, dead func(slot int) bool) []scored {
	p := vs.int8Pass(q, n, dead)
	lists := vs.ann.probe(q, 4*p.keep)
	rows := 0
	for _, l := range lists {
		rows += len(vs.ann.lists[l])
	}
	if rows < vs.parallelRows || runtime.GOMAXPROCS(0) < 2 {
		for _, l := range lists {
			vs.offerList(p, l)
		}
		return vs.rescore(q, n, p.best)
	}
	other := &int8Scan{qq: p.qq, qs: p.qs, keep: p.keep, best: make(minHeap, 0, p.keep), dead: dead}
	both(func() {
		for i := 0; i < len(lists); i += 2 {
			vs.offerList(p, lists[i])
		}
	}, func() {
		for i := 1; i < len(lists); i += 2 {
			vs.offerList(other, lists[i])
		}
	})
	for _, c := range other.best {
		p.best.offer(c, p.keep)
	}
	if vs.file.slots == 0 {
		return vs.rescore(q, n, p.best)
	}
	// The rows come from the file, a read each (about 1 ms for the 200
	// kept): half on each core, the two bests merged.
	var mine, theirs []scored
	half := len(p.best) / 2
	both(func() { mine = vs.rescore(q, n, p.best[:half]) }, func() { theirs = vs.rescore(q, n, p.best[half:]) })
	mine = append(mine, theirs...)
	sortScored(mine)
	return mine[:min(n, len(mine))]
}

// parallelScanRows is the rows from which an IVF search scans on two
// cores: about 25 MB of int8 at 512 dimensions, 1-2 ms of one core.
const parallelScanRows = 50_000

// offerList offers every slot of IVF list l to the int8 pass.
func (vs *vectors) offerList(p *int8Scan, l int) {
	rows, scales := vs.ann.rows[l], vs.ann.rscale[l]
	for i, s := range vs.ann.lists[l] {
		p.offer(int(s), rows[i*vs.dim:(i+1)*vs.dim], scales[i])
	}
}

// int8Scan keeps the best approximate (int8) scores of the slots offered
// to it, for rescore.
type int8Scan struct {
	qq   []int8
	qs   float32
	keep int
	best minHeap
	dead func(slot int) bool
}

func (vs *vectors) int8Pass(q []float32, n int, dead func(slot int) bool) *int8Scan {
	p := &int8Scan{qq: make([]int8, vs.dim), keep: preFilter(n), dead: dead}
	p.qs = quantize(p.qq, q)
	p.best = make(minHeap, 0, p.keep)
	return p
}

// offer scores slot s from its int8 row and scale.
func (p *int8Scan) offer(s int, row []int8, scale float32) {
	score := float64(float32(dotInt8(p.qq, row)) * p.qs * scale)
	if len(p.best) == p.keep && score <= p.best[0].score {
		return
	}
	if p.dead(s) {
		return
	}
	p.best.offer(scored{slot: s, score: score}, p.keep)
}

// rescore scores the int8 pass's survivors exactly in float32.
func (vs *vectors) rescore(q []float32, n int, best minHeap) []scored {
	return vs.exact(q, n, func(int) bool { return false }, func(yield func(int) bool) {
		for _, c := range best {
			if !yield(c.slot) {
				return
			}
		}
	})
}

// exact scores the candidate slots in float32 and returns the best n, best
// first (ties by slot), skipping dead ones.
func (vs *vectors) exact(q []float32, n int, dead func(slot int) bool, candidates iter.Seq[int]) []scored {
	h := make(minHeap, 0, n)
	buf := make([]float32, vs.dim)
	for s := range candidates {
		score := float64(dot32(q, vs.row(s, buf)))
		if len(h) == n && score <= h[0].score {
			continue // the common case: cheaper than a dead check
		}
		if dead(s) {
			continue
		}
		h.offer(scored{slot: s, score: score}, n)
	}
	sortScored(h)
	return h
}

// dotInt8Go is the dot product of two int8 vectors in plain Go.
func dotInt8Go(a, b []int8) int32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 int32
	for len(a) >= 4 && len(b) >= 4 {
		s0 += int32(a[0]) * int32(b[0])
		s1 += int32(a[1]) * int32(b[1])
		s2 += int32(a[2]) * int32(b[2])
		s3 += int32(a[3]) * int32(b[3])
		a, b = a[4:], b[4:]
	}
	for i := range a {
		s0 += int32(a[i]) * int32(b[i])
	}
	return (s0 + s1) + (s2 + s3)
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
