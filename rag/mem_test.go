package rag

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// inMapping reports whether the size bytes at p lie inside m.
func inMapping(p unsafe.Pointer, size int, m mapping) bool {
	if m.b == nil || size == 0 {
		return false
	}
	lo, start := uintptr(unsafe.Pointer(unsafe.SliceData(m.b))), uintptr(p)
	return start >= lo && start+uintptr(size) <= lo+uintptr(len(m.b))
}

// The vectors' arrays are off the Go heap (where the platform maps
// memory): the collector's heap goal is then set by the small live heap,
// not doubled on top of the index. Before, 4,000 x 512 vectors added 10
// MB of heap.
func TestVectorsLiveOffTheGoHeap(t *testing.T) {
	if mapBytes(minMapped) == nil {
		t.Skip("no anonymous mappings on this platform")
	}
	const dim, n = 512, 4000
	rng := rand.New(rand.NewPCG(5, 6))
	vs := newVectors(dim, 1000) // grows past its first mapping, twice
	v := make([]float32, dim)
	for range n {
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		vs.add(v)
	}
	// Where the arrays are, not how much the process's heap grew: that
	// also counted other tests' background work (8 MB once, in CI).
	if !inMapping(unsafe.Pointer(unsafe.SliceData(vs.data)), len(vs.data)*4, vs.dataMem) ||
		!inMapping(unsafe.Pointer(unsafe.SliceData(vs.quant)), len(vs.quant), vs.quantMem) {
		t.Fatalf("the vectors (%d float32, %d int8) are not in their mappings (%d and %d bytes)",
			len(vs.data), len(vs.quant), vs.dataMem.size(), vs.quantMem.size())
	}
	if got, want := vs.offHeapBytes(), 4000*dim*5; got != want {
		t.Fatalf("%d bytes mapped, want %d (room for 1,000 slots doubled twice, float32 and int8)", got, want)
	}
	// The copies made while growing kept every vector.
	rng = rand.New(rand.NewPCG(5, 6))
	for s := range n {
		for j := range v {
			v[j] = float32(rng.NormFloat64())
		}
		if got, want := dot32(vs.get(s), unitVector(v)), float32(1); got < want-1e-5 {
			t.Fatalf("slot %d after growing: cosine %v with what was added", s, got)
		}
	}
	runtime.KeepAlive(vs)
}

// Once the IVF is trained its lists hold the only int8 copy (the flat one
// is released), a slot's row is found through its list and position
// after adds, removals and a compaction, and a scan of every list gives
// the flat scan's results.
func TestIVFDropsTheFlatInt8Copy(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	vs := newVectors(64, 0)
	vs.exactBelow = 1 << 30 // the flat path, over the lists once the IVF holds the rows
	clusteredVectors(rng, vs, 3000, 40, 0.5)
	queries := make([][]float32, 20)
	for i := range queries {
		queries[i] = unitVector(vs.get(rng.IntN(3000)))
	}
	none := func(int) bool { return false }
	var flat [][]scored
	for _, q := range queries {
		flat = append(flat, vs.nearest(q, 10, none))
	}
	vs.trainIVF(3000)
	if vs.quant != nil || vs.quantMem.size() != 0 {
		t.Fatalf("the flat int8 copy is still held (%d bytes) next to the IVF's", len(vs.quant))
	}
	for i, q := range queries {
		if got := vs.nearest(q, 10, none); !slices.Equal(got, flat[i]) {
			t.Fatalf("query %d over the lists: %v, the flat scan %v", i, got, flat[i])
		}
	}
	clusteredVectors(rng, vs, 500, 40, 0.5)
	remap := make([]int32, vs.slots())
	live := 0
	for s := range remap {
		remap[s] = -1
		if s%4 == 1 {
			vs.clear(s)
			continue
		}
		remap[s] = int32(live)
		live++
	}
	checkIVF(t, vs)
	vs.compact(remap, live)
	checkIVF(t, vs)
	if vs.quant != nil {
		t.Fatal("the compaction brought back a flat int8 copy")
	}
}

// Close releases the vectors' memory; a search after it fails with
// ErrClosed instead of reading released memory, and a second Close is
// harmless.
func TestCloseReleasesTheVectors(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix, _ := openLogged(t, st, Options{MinScore: -1, ExactBelow: -1})
	snapshotCorpus(t, ix)
	waitANN(ix)
	if ix.vecs.ann == nil {
		t.Fatal("no IVF: the test covers less than it says")
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if n := ix.vecs.offHeapBytes(); n != 0 || ix.vecs.data != nil {
		t.Fatalf("after Close %d bytes are still mapped", n)
	}
	for _, m := range []Mode{ModeHybrid, ModeLexical, ModeVector} {
		if _, err := ix.search(context.Background(), "password reset", 5, m); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s search after Close: %v, want ErrClosed", m, err)
		}
	}
	// A snapshot after Close (a second Close, or Snapshot) leaves the
	// file as Close wrote it: the released index is empty.
	before, err := os.ReadFile(snapshotPath(st))
	if err != nil {
		t.Fatal(err)
	}
	ix.gen++ // as if changed: the writer would not skip on its own
	if err := ix.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := ix.Snapshot(); err != nil {
		t.Fatalf("Snapshot after Close: %v", err)
	}
	if after, err := os.ReadFile(snapshotPath(st)); err != nil || !bytes.Equal(before, after) {
		t.Fatalf("the snapshot changed after Close (%d bytes, then %d): %v", len(before), len(after), err)
	}
}

// The slots' strings loaded from a snapshot are one off-heap arena,
// released at Close: the passages a search returned before stay readable
// (they are copies), and the index no longer holds the strings.
func TestSnapshotStringsOutliveClose(t *testing.T) {
	if mapBytes(minMapped) == nil {
		t.Skip("no anonymous mappings on this platform")
	}
	st := openStore(t, t.TempDir())
	ix1, _ := openLogged(t, st, Options{MinScore: -1})
	g := newTextGen(31)
	docs := make([]BEIRDoc, 1600) // 1.3 MB of text: above minMapped
	for i := range docs {
		docs[i] = BEIRDoc{ID: fmt.Sprintf("d%04d", i), Title: fmt.Sprintf("Doc %d", i), Text: g.paragraph(800)}
	}
	putTexts(t, ix1, docs...)
	if err := ix1.Close(); err != nil {
		t.Fatal(err)
	}
	ix2, log2 := openLogged(t, st, Options{MinScore: -1})
	stopSnapshots(ix2)
	if !strings.Contains(log2.String(), "loaded from its snapshot") || ix2.textMem.size() < minMapped {
		t.Fatalf("strings arena of %d bytes; log:\n%s", ix2.textMem.size(), log2)
	}
	byTitle := map[string]string{}
	for _, d := range docs {
		byTitle[d.Title] = d.Text
	}
	var got []Passage
	for range 10 {
		ps, err := ix2.Search(context.Background(), g.query(), 5)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ps...)
	}
	if len(got) == 0 {
		t.Fatal("no passages: the test covers less than it says")
	}
	if err := ix2.Close(); err != nil {
		t.Fatal(err)
	}
	if ix2.textMem.size() != 0 || ix2.slots != nil {
		t.Fatalf("after Close %d bytes of strings are mapped, %d slots held", ix2.textMem.size(), len(ix2.slots))
	}
	for _, p := range got { // reads every byte: released memory would fault here
		if want := byTitle[p.Title]; !strings.Contains(want, strings.TrimSpace(p.Text)[:20]) {
			t.Fatalf("passage %s of %q (%s) after Close: %.40q", p.ChunkID, p.Title, p.Source, p.Text)
		}
	}
}
