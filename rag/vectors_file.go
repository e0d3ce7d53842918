package rag

import (
	"io"
	"os"
	"sync/atomic"
	"time"
)

// The float32 vectors of a large index are read from its snapshot file
// instead of being held in memory: 2 GB at a million 512-dimension chunks,
// more than half of what the index would keep resident, while a search
// reads only the few hundred rows it rescores (the int8 pass, over the IVF
// lists' rows in memory, chooses them) and the candidates' vectors for the
// feedback. Each is one positioned read (pread) from the page cache, 4-10
// microseconds for 2 KB on this VM (4.3 at load average 6.5); mapping the
// file instead would have been free of system calls but would have
// counted every page a search ever touched in the process's resident
// memory (under the bench's load most of the 2 GB within a minute). Slots added after the snapshot was
// written are kept in memory (vectors.data) until the next snapshot, which
// takes them over. Chosen over rescoring with float16 or bfloat16 copies
// (1 GB resident, and results no longer equal to the exact scan's).

// fileRowsFrom is the size of the float32 vectors from which they are
// read from the snapshot file: 1 GB, about 500,000 chunks of 512
// dimensions. The reads cost a search about 300 system calls
// (BenchmarkSearchKB at 100,000 chunks, load average 4-6: p50 4.7 ms
// against 1.7 ms with the rows in memory), worth it where the memory
// decides whether the index fits (a million chunks: 2 GB of 3), not for
// the 200 MB of a 100,000-chunk index.
const fileRowsFrom = 1 << 30

// fileRows is where the float32 rows of slots [0, slots) are in the
// snapshot file.
type fileRows struct {
	f     *os.File
	off   int64 // slot 0's row
	slots int
}

// close closes the file; the rows must not be read after.
func (r *fileRows) close() {
	if r.f != nil {
		r.f.Close() // read-only: nothing to lose
	}
	*r = fileRows{}
}

// rowsFromFile reports whether vectors of slots x dim float32 are read
// from the snapshot file; from is Options.vectorsInFileFrom (0: the
// default, negative: always). Only where the int8 pass picks the rows to
// read: without it the exact scan would read every row.
func rowsFromFile(slots, dim, from int) bool {
	if !haveInt8Dot || slots == 0 {
		return false
	}
	switch {
	case from < 0:
		return true
	case from == 0:
		from = fileRowsFrom
	}
	return slots*dim*4 >= from
}

// row returns slot s's float32 vector: in memory for a slot added since
// the snapshot (shared; do not modify), read into buf (dim long) for one
// in the file. A failed read (the file cut short under us) gives a zero
// vector, which matches nothing, rather than failing the search.
func (vs *vectors) row(s int, buf []float32) []float32 {
	if s >= vs.file.slots {
		t := s - vs.file.slots
		return vs.data[t*vs.dim : (t+1)*vs.dim : (t+1)*vs.dim]
	}
	buf = buf[:vs.dim]
	if _, err := vs.file.f.ReadAt(bytesOf(buf), vs.file.off+int64(s)*int64(vs.dim)*4); err != nil {
		vs.readErrs.add(err)
		clear(buf)
	}
	return buf
}

// readErrors counts failed reads of the snapshot file's rows, so that a
// damaged file or a failing disk, which make those chunks match nothing,
// is logged rather than silent.
type readErrors struct {
	n      atomic.Int64
	last   atomic.Value // error
	logged atomic.Int64 // unix nanoseconds of the last log line
}

func (r *readErrors) add(err error) {
	r.last.Store(err)
	r.n.Add(1)
}

// take returns the failures since the last take and the latest error,
// at most once per interval (a failing disk fails every search: one line
// a minute says so without flooding the log).
func (r *readErrors) take(now time.Time, interval time.Duration) (int64, error) {
	if r.n.Load() == 0 {
		return 0, nil
	}
	last := r.logged.Load()
	if now.UnixNano()-last < int64(interval) || !r.logged.CompareAndSwap(last, now.UnixNano()) {
		return 0, nil
	}
	err, _ := r.last.Load().(error)
	return r.n.Swap(0), err
}

// useFile makes the snapshot file f, whose float32 rows start at off and
// hold every slot of vs, the place the rows are read from, releasing the
// memory that held them. Called with the index's write lock.
func (vs *vectors) useFile(f *os.File, off int64) {
	vs.file.close()
	vs.dataMem.release()
	vs.data = nil
	vs.file = fileRows{f: f, off: off, slots: vs.slots()}
}

// materialize reads the rows in the file back into memory (a compaction
// moves them); the file is closed.
func (vs *vectors) materialize() {
	if vs.file.slots == 0 {
		return
	}
	data, mem := mapNums[float32](vs.slots() * vs.dim)
	data = data[:vs.slots()*vs.dim]
	for s := range vs.slots() {
		copy(data[s*vs.dim:], vs.row(s, data[s*vs.dim:(s+1)*vs.dim]))
	}
	vs.dataMem.release()
	vs.file.close()
	vs.data, vs.dataMem = data, mem
}

// writeRows writes every slot's float32 row in slot order: those in the
// file copied from it, then those in memory. It returns the offset of
// the first row in what e writes.
func (vs *vectors) writeRows(e *snapWriter) int64 {
	e.uvarint(uint64(vs.slots() * vs.dim * 4))
	at := e.pos()
	if vs.file.slots > 0 {
		n := int64(vs.file.slots) * int64(vs.dim) * 4
		if _, err := io.Copy(e.w, io.NewSectionReader(vs.file.f, vs.file.off, n)); err != nil {
			e.fail(err)
		}
	}
	e.w.Write(bytesOf(vs.data))
	return at
}

// eachRow calls fn with every slot's float32 row in slot order (shared
// for the call only), reading the rows in the file in blocks of 4 MB: an
// exact scan of every slot, which a pread per row would make 300 times
// slower (a million system calls).
func (vs *vectors) eachRow(fn func(s int, row []float32)) {
	const block = 4 << 20
	per := max(1, block/(vs.dim*4))
	buf := make([]float32, per*vs.dim)
	for lo := 0; lo < vs.file.slots; lo += per {
		hi := min(lo+per, vs.file.slots)
		b := buf[:(hi-lo)*vs.dim]
		if _, err := vs.file.f.ReadAt(bytesOf(b), vs.file.off+int64(lo)*int64(vs.dim)*4); err != nil {
			vs.readErrs.add(err)
			clear(b) // as row: a zero vector matches nothing
		}
		for s := lo; s < hi; s++ {
			fn(s, b[(s-lo)*vs.dim:(s-lo+1)*vs.dim])
		}
	}
	for s := vs.file.slots; s < vs.slots(); s++ {
		fn(s, vs.row(s, nil))
	}
}

// exactAll is exact over every slot.
func (vs *vectors) exactAll(q []float32, n int, dead func(slot int) bool) []scored {
	h := make(minHeap, 0, n)
	vs.eachRow(func(s int, row []float32) {
		score := float64(dot32(q, row))
		if len(h) == n && score <= h[0].score {
			return
		}
		if !dead(s) {
			h.offer(scored{slot: s, score: score}, n)
		}
	})
	sortScored(h)
	return h
}

// logReadErrors logs the snapshot file's failed row reads, if any, at
// most once a minute. Called with ix.mu held for reading.
func (ix *Index) logReadErrors() {
	if n, err := ix.vecs.readErrs.take(time.Now(), time.Minute); n > 0 {
		ix.log.Error("reading vectors from the knowledge snapshot failed; those chunks matched nothing until the index is rebuilt (restart, or remove knowledge.snapshot)",
			"failed_reads", n, "err", err)
	}
}
