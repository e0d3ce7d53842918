package rag

import (
	"bufio"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// SnapshotFile is the snapshot of the in-memory index (slots, lexical
// postings, vectors, the IVF) in the data directory, next to the store.
// Open loads it instead of rebuilding from the store when it was written
// at the store's current knowledge generation by the same embedder, format
// version and checksum; anything else (a document ingested since, another
// embedder, a damaged or truncated file) rebuilds from the store, which
// stays the source of truth, and logs why. Deleting it is always safe.
const SnapshotFile = "knowledge.snapshot"

// snapshotVersion changes with the encoding below or with what the
// in-memory index means (an analyzer change is in store.IndexInfo).
const snapshotVersion = 2

var snapshotMagic = []byte("CBKSNAP\x00")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotPath is the snapshot file of st's data directory.
func snapshotPath(st *store.Store) string {
	return filepath.Join(filepath.Dir(st.Path()), SnapshotFile)
}

// errNoSnapshot means there is no snapshot file (not worth a warning).
var errNoSnapshot = errors.New("no snapshot")

// indexState is what a snapshot holds: the in-memory index without the
// maps derived from the slots.
type indexState struct {
	slots   []slot
	vecs    *vectors
	lex     *lexical
	dead    int
	maps    slotMaps // derived from slots when decoded
	textMem mapping  // the slots' strings, off the Go heap, when decoded
}

// release unmaps what a decoded state holds off the Go heap (a state
// that is not installed).
func (s *indexState) release() {
	if s.vecs != nil {
		s.vecs.release()
	}
	s.textMem.release()
}

// slotMaps are the Index's lookups derived from its slots.
type slotMaps struct {
	byID  map[string]int
	docs  map[uint64][]int
	langs map[embed.Lang]int
}

func mapSlots(slots []slot) slotMaps {
	m := slotMaps{byID: make(map[string]int, len(slots)), docs: map[uint64][]int{}, langs: map[embed.Lang]int{}}
	for n, sl := range slots {
		if sl.id == "" {
			continue
		}
		m.byID[sl.id] = n
		m.docs[sl.docID] = append(m.docs[sl.docID], n)
		m.langs[sl.lang]++
	}
	return m
}

// writeSnapshot writes the index to the snapshot file atomically (a
// temporary file, fsync'd, renamed over the old one, the directory
// fsync'd). Called with ix.write held: no change can run meanwhile, so
// the store's generation read here is the one the memory reflects; the
// read lock keeps out the background IVF installation only (it takes
// ix.write first, so searches are never held up).
func (ix *Index) writeSnapshot() (err error) {
	if !littleEndian {
		return nil
	}
	gen, err := ix.st.KnowledgeGeneration()
	if err != nil {
		return err
	}
	path := snapshotPath(ix.st)
	tmp, err := os.CreateTemp(filepath.Dir(path), SnapshotFile+".tmp-*")
	if err != nil {
		return fmt.Errorf("write knowledge snapshot: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("write knowledge snapshot %s: %w", path, err)
		}
	}()
	h := crc32.New(castagnoli)
	out := &countWriter{w: io.MultiWriter(tmp, h)}
	e := &snapWriter{w: bufio.NewWriterSize(out, 1<<20), out: out}
	e.w.Write(snapshotMagic)
	e.uvarint(snapshotVersion)
	e.uvarint(gen.Count)
	e.uvarint(gen.Tag)
	e.str(ix.info.Provider)
	e.str(ix.info.Model)
	e.uvarint(uint64(ix.info.Dimension))
	e.str(ix.info.Analyzer)
	ix.mu.RLock()
	rowsAt := encodeState(e, indexState{slots: ix.slots, vecs: ix.vecs, lex: ix.lex, dead: ix.dead})
	ix.mu.RUnlock()
	if e.err != nil {
		return e.err
	}
	if err := e.w.Flush(); err != nil {
		return err
	}
	var sum [4]byte
	putU32(sum[:], h.Sum32())
	if _, err := tmp.Write(sum[:]); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		d.Sync() // the rename survives a crash; a lost rename only costs a rebuild
		d.Close()
	}
	ix.rowsToFile(path, rowsAt)
	return nil
}

// rowsToFile makes a large index read its float32 vectors from the
// snapshot just written at path (vectors_file.go), releasing the memory
// or the older file that held them. Called with ix.write held, so the
// slots are the ones written. A failure to open it keeps them where they
// are.
func (ix *Index) rowsToFile(path string, rowsAt int64) {
	if !rowsFromFile(ix.vecs.slots(), ix.vecs.dim, ix.opts.vectorsInFileFrom) {
		return
	}
	f, err := os.Open(path)
	if err != nil {
		ix.log.Warn("the vectors stay in memory: the snapshot file did not open", "file", path, "err", err)
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		f.Close()
		return
	}
	ix.vecs.useFile(f, rowsAt)
}

func putU32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// slotFields is the number of strings per slot in the snapshot.
const slotFields = 6

// encodeState writes s and returns the offset of its first float32
// vector row in what e writes.
func encodeState(e *snapWriter, s indexState) int64 {
	// The slots' strings are one arena (and their lengths one array), so
	// that loading a million slots is two reads and no allocation per
	// string.
	n := len(s.slots)
	docIDs := make([]uint64, n)
	lens := make([]uint32, 0, n*slotFields)
	var size int
	for i, sl := range s.slots {
		docIDs[i] = sl.docID
		for _, f := range [slotFields]string{sl.id, sl.title, sl.heading, sl.source, sl.text, string(sl.lang)} {
			lens = append(lens, uint32(len(f)))
			size += len(f)
		}
	}
	e.uvarint(uint64(n))
	writeSlice(e, docIDs)
	writeSlice(e, lens)
	e.uvarint(uint64(size))
	for _, sl := range s.slots {
		for _, f := range [slotFields]string{sl.id, sl.title, sl.heading, sl.source, sl.text, string(sl.lang)} {
			e.w.WriteString(f)
		}
	}
	e.uvarint(uint64(s.dead))
	rowsAt := s.vecs.writeRows(e)
	if s.vecs.quant != nil || s.vecs.slots() == 0 {
		writeSlice(e, s.vecs.quant)
	} else { // the IVF holds the rows: written in slot order all the same
		e.uvarint(uint64(s.vecs.slots() * s.vecs.dim))
		for n := range s.vecs.slots() {
			e.w.Write(bytesOf(s.vecs.getQuant(n)))
		}
	}
	writeSlice(e, s.vecs.scale)
	terms := make([]string, len(s.lex.postings))
	for t, id := range s.lex.ids {
		terms[id] = t
	}
	e.uvarint(uint64(len(terms)))
	for id, t := range terms {
		e.str(t)
		writeSlice(e, s.lex.postings[id])
	}
	writeSlice(e, s.lex.lengths)
	e.uvarint(uint64(s.lex.live))
	e.uvarint(uint64(s.lex.total))
	e.uvarint(uint64(s.lex.dead))
	if f := s.vecs.ann; f != nil {
		e.uvarint(1)
		e.uvarint(uint64(f.trained))
		writeSlice(e, f.cents)
		writeSlice(e, f.of)
	} else {
		e.uvarint(0)
	}
	return rowsAt
}

// readSnapshot loads the snapshot file into a new index state when it is
// usable for the store as it is now, and says why not otherwise. A large
// index's float32 vectors stay in the file (vectors_file.go), which the
// state then keeps open.
func (ix *Index) readSnapshot() (_ indexState, err error) {
	if !littleEndian {
		return indexState{}, errNoSnapshot
	}
	path := snapshotPath(ix.st)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return indexState{}, errNoSnapshot
	}
	if err != nil {
		return indexState{}, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	fi, err := f.Stat()
	if err != nil {
		return indexState{}, err
	}
	size := fi.Size()
	if size < int64(len(snapshotMagic))+4 {
		return indexState{}, fmt.Errorf("%w: %d bytes", errSnapshotDamaged, size)
	}
	gen, err := ix.st.KnowledgeGeneration()
	if err != nil {
		return indexState{}, err
	}
	body := size - 4
	// The checksum is computed on the other core while this one decodes
	// (it was a fifth of the load's time in line).
	stop := make(chan struct{})
	defer close(stop)
	sumc := make(chan uint32, 1)
	go func() { sumc <- checksumFile(f, body, stop) }()
	d := &snapReader{r: bufio.NewReaderSize(io.NewSectionReader(f, 0, body), 1<<20), left: body, src: f, end: body}
	magic := make([]byte, len(snapshotMagic))
	d.full(magic)
	if d.err != nil || string(magic) != string(snapshotMagic) {
		return indexState{}, fmt.Errorf("%w: not a knowledge snapshot", errSnapshotDamaged)
	}
	if v := d.uvarint(); v != snapshotVersion {
		return indexState{}, fmt.Errorf("format version %d, this build reads %d", v, snapshotVersion)
	}
	have := store.KnowledgeGen{Count: d.uvarint(), Tag: d.uvarint()}
	info := store.IndexInfo{Provider: d.str(), Model: d.str(), Dimension: int(d.uvarint()), Analyzer: d.str()}
	if d.err != nil {
		return indexState{}, d.err
	}
	if have != gen {
		return indexState{}, fmt.Errorf("stale: written at knowledge generation %d, the store is at %d", have.Count, gen.Count)
	}
	if info != ix.info {
		return indexState{}, fmt.Errorf("written by embedder %s/%s (dimension %d, analyzer %q), this index is %s/%s (dimension %d, analyzer %q)",
			info.Provider, info.Model, info.Dimension, info.Analyzer, ix.info.Provider, ix.info.Model, ix.info.Dimension, ix.info.Analyzer)
	}
	s, err := decodeState(d, ix.info.Dimension, ix.opts.vectorsInFileFrom)
	if err != nil {
		return indexState{}, err
	}
	defer func() {
		if err != nil {
			s.release()
		}
	}()
	if d.left != 0 {
		return indexState{}, fmt.Errorf("%w: %d bytes after the index", errSnapshotDamaged, d.left)
	}
	var sum [4]byte
	if _, err := f.ReadAt(sum[:], body); err != nil {
		return indexState{}, fmt.Errorf("%w: %v", errSnapshotDamaged, err)
	}
	if want := <-sumc; uint32(sum[0])|uint32(sum[1])<<8|uint32(sum[2])<<16|uint32(sum[3])<<24 != want {
		return indexState{}, fmt.Errorf("%w: checksum mismatch", errSnapshotDamaged)
	}
	keep = s.vecs.file.f == f
	return s, nil
}

// checksumFile is the CRC-32C of f's first n bytes, read with ReadAt (the
// decoder reads the same file at the same time); 0 when stopped.
func checksumFile(f *os.File, n int64, stop <-chan struct{}) uint32 {
	h := crc32.New(castagnoli)
	buf := make([]byte, 4<<20)
	for off := int64(0); off < n; {
		select {
		case <-stop:
			return 0
		default:
		}
		m, err := f.ReadAt(buf[:min(int64(len(buf)), n-off)], off)
		h.Write(buf[:m])
		off += int64(m)
		if err != nil {
			return 0
		}
	}
	return h.Sum32()
}

// decodeState reads what encodeState wrote and checks that its parts
// agree (slot numbers in range), so that a decoded state cannot make a
// search index out of bounds.
func decodeState(d *snapReader, dim, inFileFrom int) (indexState, error) {
	n := d.count(8 + 4*slotFields)
	docIDs, lens := readSlice[uint64](d), readSlice[uint32](d)
	// The strings' arena is off the Go heap (mem.go): at a million chunks
	// it is most of what the heap would hold.
	arena, textMem := mapNums[byte](d.count(1))
	arena = arena[:cap(arena)]
	ok := false
	defer func() {
		if !ok {
			textMem.release()
		}
	}()
	d.full(arena)
	if d.err == nil && (len(docIDs) != n || len(lens) != n*slotFields) {
		d.fail(fmt.Errorf("%w: %d slots, %d documents and %d lengths", errSnapshotDamaged, n, len(docIDs), len(lens)))
	}
	if d.err != nil {
		return indexState{}, d.err
	}
	s := indexState{slots: make([]slot, n)}
	adviseHuge(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s.slots))), n*int(unsafe.Sizeof(slot{}))))
	off := 0
	field := func(l uint32) string {
		if int64(off)+int64(l) > int64(len(arena)) {
			d.fail(fmt.Errorf("%w: slot strings past their arena", errSnapshotDamaged))
			return ""
		}
		if l == 0 {
			return ""
		}
		str := unsafe.String(&arena[off], int(l)) // the arena is never written again
		off += int(l)
		return str
	}
	// The languages are a few short strings on the heap, not in the
	// arena: they leave the index (passageLang) without a copy.
	langs := map[string]embed.Lang{}
	lang := func(l string) embed.Lang {
		v, ok := langs[l]
		if !ok {
			v = embed.Lang(strings.Clone(l))
			langs[l] = v
		}
		return v
	}
	for i := range s.slots {
		l := lens[i*slotFields : (i+1)*slotFields]
		s.slots[i] = slot{id: field(l[0]), docID: docIDs[i], title: field(l[1]), heading: field(l[2]), source: field(l[3]), text: field(l[4]), lang: lang(field(l[5]))}
	}
	if d.err == nil && off != len(arena) {
		d.fail(fmt.Errorf("%w: %d bytes of slot strings, %d used", errSnapshotDamaged, len(arena), off))
	}
	if d.err != nil {
		return indexState{}, d.err
	}
	// The maps are built on the other core while the vectors are read.
	maps := make(chan slotMaps, 1)
	go func() { maps <- mapSlots(s.slots) }()
	s.dead = int(d.uvarint())
	vs := &vectors{dim: dim, exactBelow: DefaultExactBelow, parallelRows: parallelScanRows, zero: make([]int8, dim)}
	defer func() {
		if !ok { // a damaged snapshot leaves nothing mapped behind
			vs.release()
		}
	}()
	if d.src != nil && rowsFromFile(n, dim, inFileFrom) {
		// The float32 rows stay in the file (vectors_file.go).
		nb := d.count(1)
		if d.err == nil && nb != n*dim*4 {
			d.fail(fmt.Errorf("%w: %d slots but %d bytes of vectors", errSnapshotDamaged, n, nb))
		}
		vs.file = fileRows{f: d.src, off: d.pos(), slots: n}
		d.skip(int64(nb))
	} else {
		vs.data, vs.dataMem = readMapped[float32](d)
		if d.err == nil && len(vs.data) != n*dim {
			d.fail(fmt.Errorf("%w: %d slots but %d vector values", errSnapshotDamaged, n, len(vs.data)))
		}
	}
	vs.quant, vs.quantMem = readMapped[int8](d)
	vs.scale = readSlice[float32](d)
	if d.err == nil && (len(vs.quant) != n*dim || len(vs.scale) != n) {
		d.fail(fmt.Errorf("%w: %d slots but %d vectors", errSnapshotDamaged, n, len(vs.scale)))
	}
	nt := d.count(1)
	lex := &lexical{ids: make(map[string]int32, nt), postings: make([][]posting, nt)}
	for id := 0; id < nt && d.err == nil; id++ {
		lex.ids[d.str()] = int32(id)
		lex.postings[id] = readSlice[posting](d)
		for _, p := range lex.postings[id] {
			if p.slot < 0 || int(p.slot) >= n {
				d.fail(fmt.Errorf("%w: a posting of slot %d of %d", errSnapshotDamaged, p.slot, n))
				break
			}
		}
	}
	lex.lengths = readSlice[int32](d)
	lex.live, lex.total, lex.dead = int(d.uvarint()), int64(d.uvarint()), int(d.uvarint())
	if d.err == nil && len(lex.lengths) != n {
		d.fail(fmt.Errorf("%w: %d slots but %d lexical lengths", errSnapshotDamaged, n, len(lex.lengths)))
	}
	if d.uvarint() == 1 && d.err == nil {
		trained := int(d.uvarint())
		cents, of := readSlice[float32](d), readSlice[int32](d)
		if d.err == nil && (len(cents) == 0 || len(cents)%dim != 0 || len(of) != n) {
			d.fail(fmt.Errorf("%w: an IVF of %d centroid values and %d slots for %d slots", errSnapshotDamaged, len(cents), len(of), n))
		}
		if d.err == nil {
			f := newIVF(dim, cents, n)
			for _, l := range of {
				if l < -1 || int(l) >= f.nlist {
					d.fail(fmt.Errorf("%w: list %d of %d", errSnapshotDamaged, l, f.nlist))
					break
				}
			}
			if d.err == nil {
				f.trained = trained
				f.fill(of, vs)
				vs.install(f)
			}
		}
	}
	if d.err != nil {
		return indexState{}, d.err
	}
	s.vecs, s.lex, s.maps, s.textMem = vs, lex, <-maps, textMem
	ok = true
	return s, nil
}

// install makes the decoded state the index's, deriving the maps from
// the slots. Called before the index is shared (Open).
func (ix *Index) install(s indexState) {
	ix.slots, ix.vecs, ix.lex, ix.dead, ix.textMem = s.slots, s.vecs, s.lex, s.dead, s.textMem
	ix.byID, ix.docs, ix.langs = s.maps.byID, s.maps.docs, s.maps.langs
}
