package rag

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A large index reads its float32 vectors from the snapshot file: once
// the snapshot is written (the rows move out of memory), after a restart
// (they are never read in), with documents added since (kept in memory
// until the next snapshot) and after a compaction (read back in). It
// answers like the index that holds them in memory throughout.
func TestVectorsReadFromTheSnapshotFile(t *testing.T) {
	if !haveInt8Dot {
		t.Skip("the rows stay in memory without the int8 pass")
	}
	st := openStore(t, t.TempDir())
	inFile := Options{MinScore: -1, ExactBelow: -1, vectorsInFileFrom: -1}
	ix1, _ := openLogged(t, st, inFile)
	snapshotCorpus(t, ix1)
	waitANN(ix1)
	stopSnapshots(ix1)
	before := searchAll(t, ix1)
	if err := ix1.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if ix1.vecs.file.slots != ix1.vecs.slots() || ix1.vecs.data != nil || ix1.vecs.dataMem.size() != 0 {
		t.Fatalf("after the snapshot %d of %d slots are in the file, %d floats in memory", ix1.vecs.file.slots, ix1.vecs.slots(), len(ix1.vecs.data))
	}
	if after := searchAll(t, ix1); !reflect.DeepEqual(before, after) {
		t.Fatal("the index answers differently once its vectors are in the file")
	}
	// On two cores (both sides, the IVF scan and the reads of the rows
	// rescored split in halves): the same answers.
	ix1.parallelFrom, ix1.vecs.parallelRows = 0, 0
	if after := searchAll(t, ix1); !reflect.DeepEqual(before, after) {
		t.Fatal("the index answers differently on two cores with its vectors in the file")
	}
	ix1.parallelFrom, ix1.vecs.parallelRows = parallelSidesFrom, parallelScanRows

	ix2, log2 := openLogged(t, st, inFile)
	stopSnapshots(ix2)
	if !strings.Contains(log2.String(), "loaded from its snapshot") || ix2.vecs.file.slots != ix2.vecs.slots() || ix2.vecs.data != nil {
		t.Fatalf("reopened: %d of %d slots in the file, %d floats in memory; log:\n%s", ix2.vecs.file.slots, ix2.vecs.slots(), len(ix2.vecs.data), log2)
	}
	if got := searchAll(t, ix2); !reflect.DeepEqual(before, got) {
		t.Fatal("the reopened index answers differently")
	}
	putTexts(t, ix2, BEIRDoc{ID: "late", Text: "Zebras graze quietly beside the lighthouse."})
	n := ix2.vecs.slots()
	if ix2.vecs.file.slots != n-1 || len(ix2.vecs.data) != ix2.vecs.dim {
		t.Fatalf("the added chunk: %d slots, %d in the file, %d floats in memory", n, ix2.vecs.file.slots, len(ix2.vecs.data))
	}
	ps, err := ix2.search(context.Background(), "zebras grazing by a lighthouse", 1, ModeVector)
	if err != nil || len(ps) != 1 || ps[0].Source != "late" {
		t.Fatalf("the chunk added after the snapshot: %+v, %v", ps, err)
	}
	withLate := searchAll(t, ix2)
	// A snapshot written from the file and memory takes over both.
	if err := ix2.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if ix2.vecs.file.slots != n || ix2.vecs.data != nil {
		t.Fatalf("after the second snapshot %d of %d slots are in the file, %d floats in memory", ix2.vecs.file.slots, n, len(ix2.vecs.data))
	}
	ix3, log3 := openLogged(t, st, inFile)
	stopSnapshots(ix3)
	if !strings.Contains(log3.String(), "loaded from its snapshot") {
		t.Fatalf("the second snapshot was not used; log:\n%s", log3)
	}
	for name, ix := range map[string]*Index{"the index that wrote it": ix2, "the index reading it": ix3} {
		if got := searchAll(t, ix); !reflect.DeepEqual(withLate, got) {
			t.Fatalf("%s answers differently after the second snapshot", name)
		}
	}
	ix2.mu.Lock()
	ix2.compactSlots()
	ix2.mu.Unlock()
	if live := ix2.Len(); ix2.vecs.file.slots != 0 || live >= n || ix2.vecs.slots() != live || len(ix2.vecs.data) != live*ix2.vecs.dim {
		t.Fatalf("after a compaction %d slots are in the file, %d floats in memory for %d live of %d slots", ix2.vecs.file.slots, len(ix2.vecs.data), live, n)
	}
	if got := searchAll(t, ix2); !reflect.DeepEqual(withLate, got) {
		t.Fatal("the index answers differently after its vectors were read back for a compaction")
	}

	// The same store with the vectors in memory answers the same.
	inMemory, _ := openLogged(t, st, Options{MinScore: -1, ExactBelow: -1, vectorsInFileFrom: 1 << 40})
	stopSnapshots(inMemory)
	if inMemory.vecs.file.slots != 0 {
		t.Fatal("the vectors are in the file below the threshold")
	}
	if got := searchAll(t, inMemory); !reflect.DeepEqual(withLate, got) {
		t.Fatal("the index with its vectors in memory answers differently")
	}
	for _, ix := range []*Index{ix1, ix2, ix3, inMemory} {
		if err := ix.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Without the IVF (below its threshold) the flat int8 copy is by slot
// number while the float32 rows in memory are only those added after the
// snapshot: a chunk added then is scored from its own rows.
func TestVectorsInFileWithTheFlatScan(t *testing.T) {
	if !haveInt8Dot {
		t.Skip("the rows stay in memory without the int8 pass")
	}
	st := openStore(t, t.TempDir())
	flat := Options{MinScore: -1, ExactBelow: 1 << 30, vectorsInFileFrom: -1}
	ix1, _ := openLogged(t, st, flat)
	snapshotCorpus(t, ix1)
	stopSnapshots(ix1)
	if err := ix1.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if ix1.vecs.ann != nil || ix1.vecs.quant == nil || ix1.vecs.file.slots != ix1.vecs.slots() {
		t.Fatalf("want the flat scan over rows in the file: IVF %v, %d int8 values, %d of %d slots in the file",
			ix1.vecs.ann != nil, len(ix1.vecs.quant), ix1.vecs.file.slots, ix1.vecs.slots())
	}
	g := newTextGen(5)
	var late []BEIRDoc
	for i := range 20 {
		late = append(late, BEIRDoc{ID: fmt.Sprintf("late%d", i), Text: g.paragraph(300)})
	}
	putTexts(t, ix1, late...)
	for s := ix1.vecs.file.slots; s < ix1.vecs.slots(); s++ {
		want := make([]int8, ix1.vecs.dim)
		quantize(want, ix1.vecs.get(s))
		if !slices.Equal(ix1.vecs.getQuant(s), want) {
			t.Fatalf("slot %d added after the snapshot: its int8 row is not its vector's", s)
		}
	}
	inMemory, _ := openLogged(t, st, Options{MinScore: -1, ExactBelow: 1 << 30, vectorsInFileFrom: 1 << 40})
	stopSnapshots(inMemory)
	if a, b := searchAll(t, ix1), searchAll(t, inMemory); !reflect.DeepEqual(a, b) {
		t.Fatal("the index with rows in the file and in memory answers differently from the one with all in memory")
	}
}

// A failed read of the snapshot file's rows (a damaged file, a failing
// disk) makes those chunks match nothing, and is logged once a minute
// rather than silent or once per search.
func TestVectorsFileReadFailureIsLogged(t *testing.T) {
	if !haveInt8Dot {
		t.Skip("the rows stay in memory without the int8 pass")
	}
	st := openStore(t, t.TempDir())
	ix, log := openLogged(t, st, Options{MinScore: -1, ExactBelow: -1, vectorsInFileFrom: -1})
	snapshotCorpus(t, ix)
	waitANN(ix)
	stopSnapshots(ix)
	if err := ix.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if ix.vecs.file.slots == 0 {
		t.Fatal("no rows in the file")
	}
	searchAll(t, ix)
	const line = "reading vectors from the knowledge snapshot failed"
	if strings.Contains(log.String(), line) {
		t.Fatalf("logged before any failure:\n%s", log)
	}
	ix.vecs.file.f.Close() // every read fails from here on
	searchAll(t, ix)
	searchAll(t, ix)
	if got := strings.Count(log.String(), line); got != 1 {
		t.Fatalf("%d log lines about failed reads, want 1:\n%s", got, log)
	}
	if !strings.Contains(log.String(), "file already closed") {
		t.Fatalf("the log does not name the error:\n%s", log)
	}
	ix.vecs.file.f = nil // already closed: Close must not close it again
}
