package rag

import (
	"errors"
	"time"

	"github.com/chatbot/chatbot/embed"
)

// snapshotQuiet is the least time the index must go without a change
// before the snapshot is written in the background: an ingest of many
// documents writes it once, after its last one (or at Close), not after
// each. Larger indexes wait longer (quietFor).
const snapshotQuiet = 5 * time.Second

// quietFor is the quiet period before a background snapshot: at least
// snapshotQuiet, a second per 25,000 chunks, and ten times the last
// write, so that writing (which holds up changes) takes at most a tenth
// of the time even when an ingest pauses now and then. A million-chunk
// ingest wrote a 1.6 GB snapshot halfway through with 5 s alone.
func quietFor(chunks int, lastWrite time.Duration) time.Duration {
	return max(snapshotQuiet, time.Duration(chunks/25000)*time.Second, 10*lastWrite)
}

// snapshotSoon (re)starts the quiet period after a change. Called with
// ix.write held (so it may read the chunk count).
func (ix *Index) snapshotSoon() {
	if !littleEndian {
		return
	}
	ix.snapMu.Lock()
	defer ix.snapMu.Unlock()
	if ix.snapClosed {
		return
	}
	d := quietFor(len(ix.slots), ix.snapTook)
	if ix.snapTimer == nil {
		ix.snapTimer = time.AfterFunc(d, ix.snapshotInBackground)
		return
	}
	ix.snapTimer.Reset(d)
}

func (ix *Index) snapshotInBackground() {
	ix.snapMu.Lock()
	if ix.snapClosed {
		ix.snapMu.Unlock()
		return
	}
	ix.snapRunning.Add(1)
	ix.snapMu.Unlock()
	defer ix.snapRunning.Done()
	if err := ix.Snapshot(); err != nil {
		ix.log.Warn("knowledge snapshot not written; the next start rebuilds the index from the store", "err", err)
	}
}

// Snapshot writes the snapshot file (SnapshotFile) now, unless it already
// holds the index as it is. It waits for a change in progress and holds
// up the next one while it writes (about a second per 300,000 chunks);
// searches go on.
func (ix *Index) Snapshot() error {
	ix.write.Lock()
	defer ix.write.Unlock()
	if ix.closed { // set holding write: the memory is released, the file must keep what it has
		return nil
	}
	ix.mu.RLock()
	gen, chunks := ix.gen, len(ix.byID)
	ix.mu.RUnlock()
	if ix.snapWritten && ix.snapGen == gen {
		return nil
	}
	start := time.Now()
	if err := ix.writeSnapshot(); err != nil {
		return err
	}
	took := time.Since(start)
	ix.snapWritten, ix.snapGen = true, gen
	ix.snapMu.Lock()
	ix.snapTook = took
	ix.snapMu.Unlock()
	ix.log.Info("knowledge snapshot written", "chunks", chunks, "took", took.Round(time.Millisecond))
	return nil
}

// Close stops the background snapshot writer, writes the snapshot if the
// index changed since the last one, and releases the vectors' memory
// (mapped outside the Go heap, mem.go): a search after Close fails with
// ErrClosed, and the index must not be changed. The store must still be
// open. Closing twice is harmless.
func (ix *Index) Close() error {
	ix.snapMu.Lock()
	ix.snapClosed = true
	if ix.snapTimer != nil {
		ix.snapTimer.Stop()
	}
	ix.snapMu.Unlock()
	ix.snapRunning.Wait()
	err := ix.Snapshot()
	ix.write.Lock() // the snapshot writer reads the vectors holding write
	defer ix.write.Unlock()
	ix.mu.Lock()
	if !ix.closed {
		ix.closed = true
		ix.vecs.release()
	}
	ix.mu.Unlock()
	// The slots' strings: after a running calibration, which reads them
	// between its (now failing) searches, has finished.
	ix.calRun.Lock()
	ix.mu.Lock()
	ix.slots, ix.byID, ix.docs, ix.langs = nil, map[string]int{}, map[uint64][]int{}, map[embed.Lang]int{}
	ix.textMem.release()
	ix.mu.Unlock()
	ix.calRun.Unlock()
	if err != nil {
		return errors.Join(errors.New("close knowledge index"), err)
	}
	return nil
}

// loadFromSnapshot installs the snapshot when it is usable and reports
// whether it did; why not is logged (the index is then rebuilt from the
// store).
func (ix *Index) loadFromSnapshot() bool {
	start := time.Now()
	s, err := ix.readSnapshot()
	switch {
	case errors.Is(err, errNoSnapshot):
		return false
	case err != nil:
		ix.log.Warn("knowledge snapshot not used; rebuilding the index from the store", "file", snapshotPath(ix.st), "reason", err.Error())
		return false
	}
	ix.install(s)
	ix.log.Info("knowledge index loaded from its snapshot", "chunks", len(ix.byID), "took", time.Since(start).Round(time.Millisecond))
	return true
}
