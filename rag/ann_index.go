package rag

// The Index's side of the IVF (ann.go): when to train it, and training it
// again in the background as the knowledge base grows, without holding up
// searches or ingests for more than one batch of slots.

// annBatch is the number of slots a background training assigns per read
// lock.
const annBatch = 16384

// annDue reports whether the IVF should be (re)trained: the index has
// reached the exact-scan threshold and has no IVF, or has grown by
// retrainGrowth since it was trained. Called with ix.mu held.
func (ix *Index) annDue() bool {
	live := len(ix.byID)
	if live == 0 || live < ix.vecs.exactBelow {
		return false
	}
	return ix.vecs.ann == nil || live >= retrainGrowth*ix.vecs.ann.trained
}

// trainANNNow trains the IVF in the caller's goroutine when due (Open,
// before the index is shared).
func (ix *Index) trainANNNow() {
	if ix.annDue() {
		ix.vecs.trainIVF(len(ix.byID))
	}
}

// maybeTrainANN starts a background training when one is due and none is
// running. Called with ix.mu held for writing (after a slot is added).
func (ix *Index) maybeTrainANN() {
	if !ix.annReady || !ix.annDue() || !ix.annBusy.CompareAndSwap(false, true) {
		return
	}
	go ix.trainANN()
}

// trainANN trains a new IVF on a sample taken under the read lock,
// assigns the slots that existed then in batches (each under the read
// lock, so ingests and searches interleave), and installs it under the
// write lock after assigning the slots added meanwhile. A compaction in
// between renumbers the slots: the work is dropped, and the next added
// slot starts again.
func (ix *Index) trainANN() {
	defer ix.annBusy.Store(false)
	ix.mu.RLock()
	vs := ix.vecs
	live, epoch, n0 := len(ix.byID), vs.epoch, vs.slots()
	sample := vs.sample(kmeansPerList * nlistFor(live))
	ix.mu.RUnlock()
	if len(sample) == 0 {
		return
	}
	f := newTrainedIVF(sample, vs.dim, live, nlistFor(live))
	of := make([]int32, n0, n0+n0/4)
	for lo := 0; lo < n0; lo += annBatch {
		ix.mu.RLock()
		ok := vs.epoch == epoch && ix.vecs == vs
		if ok {
			vs.assignRange(f, of, lo, min(lo+annBatch, n0))
		}
		ix.mu.RUnlock()
		if !ok {
			return
		}
	}
	ix.write.Lock() // the snapshot writer reads the IVF holding write
	defer ix.write.Unlock()
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if vs.epoch != epoch || ix.vecs != vs {
		return
	}
	of = append(of, make([]int32, vs.slots()-n0)...)
	vs.assignRange(f, of, n0, len(of))
	f.fill(of, vs)
	vs.install(f)
}
