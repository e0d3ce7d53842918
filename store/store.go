// Package store keeps the chatbot's state in one bbolt file: webhook
// configurations, messages, conversations, live-chat sessions, the delivery
// queue and the knowledge base's documents. Each method is one transaction;
// values are copied out before the transaction ends.
package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file inside the data directory.
const FileName = "chatbot.db"

// SchemaVersion is the layout this code reads and writes. Open refuses a
// newer one and migrates older ones (migrate.go).
const SchemaVersion = 2

// Sentinel errors; check them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrLocked means another process holds the database file.
	ErrLocked = errors.New("data directory is in use by another chatbot process")
	// ErrCorrupt means the file is not a readable bbolt database.
	ErrCorrupt = errors.New("database file is corrupted; restore it from a backup")
	// ErrNewerSchema means the file was written by a newer chatbot.
	ErrNewerSchema = errors.New("database was written by a newer chatbot")
	// ErrWrongKey means the Sealer cannot open the secrets already stored.
	ErrWrongKey = errors.New("the secret key does not match the one this data directory's secrets were sealed with")
)

var (
	bucketMeta = []byte("meta")
	keySchema  = []byte("schema_version")
)

// allBuckets lists every top-level bucket; Open creates the missing ones so
// a new bucket costs one line here and one constant in its own file.
var allBuckets = [][]byte{
	bucketMeta,
	bucketConfigs, bucketConfigNames, bucketConfigTokens,
	bucketMessages, bucketDeliveryJobs,
	bucketDocs, bucketDocPaths, bucketChunks, bucketVectors,
	bucketConversations,
	bucketMessageIndex, bucketMessageCounts, bucketDedupe, bucketDedupeByTime, bucketUnanswered,
	bucketDeliveryQueue, bucketDeliveryDue, bucketDeliveryIndex, bucketWebhookIDs,
	bucketLiveChats, bucketLiveChatOpen,
	bucketWidgets, bucketWidgetKeys,
	bucketFAQs, bucketFAQQuestions,
	bucketFeedback, bucketOutcomes, bucketOutcomeDays, bucketOutcomePending, bucketGaps,
	bucketTools, bucketToolNames, bucketToolPending, bucketToolCalls,
}

// Options tune Open. The zero value is usable.
type Options struct {
	// LockTimeout bounds the wait for the file lock (default 1s).
	LockTimeout time.Duration
	// Now is the clock; tests inject one (default time.Now).
	Now func() time.Time
	// NoSync skips fsync on commit; only for benchmarks and throwaway tests.
	NoSync bool
	// ReadOnly opens the file for reading only (for CLI look-ups).
	ReadOnly bool
	// Sealer encrypts secrets at rest. Nil stores them in the clear, which
	// only tests that do not care about secrets should do.
	Sealer Sealer
	// CheckLimit is the largest file whose every page Open checks before
	// opening it for writing (default DefaultCheckLimit); a larger file
	// gets the header and freelist checks only. Negative: never.
	CheckLimit int64
}

func (o Options) checkLimit() int64 {
	if o.CheckLimit == 0 {
		return DefaultCheckLimit
	}
	return o.CheckLimit
}

// Sealer encrypts and decrypts secret fields; aad binds a ciphertext to its
// record and field so it cannot be moved onto another one.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Store is the bbolt-backed repository of all persistent state.
type Store struct {
	db      *bolt.DB
	sealer  Sealer
	now     func() time.Time
	path    string
	queued  atomic.Pointer[func()] // called after a commit that queued a delivery
	group   committer              // shares commits between concurrent batch calls
	commits commitCounter          // commits.go
	// claims are the delivery jobs in flight (deliveries.go). One process
	// owns the database (the file lock), so the claim lives in memory: a
	// crash loses it, and the job, still due in the store, is attempted
	// again at the next start, as the at-least-once contract says.
	claims deliveryClaims
	memos  memoCache // conversations' memories as last decoded (memocache.go)
}

// Open opens (creating if needed) the database in dir. It fails within the
// lock timeout with ErrLocked when another process holds the file, and with
// ErrCorrupt instead of panicking when the file is damaged.
func Open(dir string, opts Options) (*Store, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if !opts.ReadOnly {
		if err := PrepareDir(dir); err != nil {
			return nil, err
		}
	} else if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("data directory %q is a file, not a directory", dir)
	}
	path := filepath.Join(dir, FileName)
	if !opts.ReadOnly {
		// Only a file that passes bbolt's full check is opened for writing:
		// opening a damaged one read-write rewrites its meta pages.
		if err := verifyFile(path, opts.LockTimeout, opts.checkLimit()); err != nil {
			return nil, openError(dir, path, err)
		}
	}
	db, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, openError(dir, path, err)
	}
	s := &Store{db: db, sealer: opts.Sealer, now: opts.Now, path: path}
	if opts.ReadOnly {
		err = s.checkSchema()
	} else {
		err = s.init()
	}
	if err != nil {
		db.Close()
		if errors.Is(err, ErrWrongKey) {
			return nil, fmt.Errorf("open %q: %w", dir, err)
		}
		return nil, err
	}
	return s, nil
}

// openError says what an error of openBolt means for the operator.
func openError(dir, path string, err error) error {
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return fmt.Errorf("open %q: %w (stop the other one, or use another --data-dir)", dir, ErrLocked)
	case errors.Is(err, ErrCorrupt): // from openBolt or verifyFile, saying what is wrong
		return fmt.Errorf("open %q: %w", path, err)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
		errors.Is(err, bolterrors.ErrVersionMismatch):
		return fmt.Errorf("open %q: %w (%v)", path, ErrCorrupt, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("open %q: permission denied (check the owner and mode of the data directory)", path)
	}
	return fmt.Errorf("open %q: %w", path, err)
}

// PrepareDir makes sure dir is a directory we can create, with a message
// that names the problem when it is not.
func PrepareDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("data directory %q is a file, not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data directory %q: %w", dir, err)
	}
	return nil
}

// openBolt checks the file's header and freelist before bbolt maps it, and
// turns any panic bbolt still raises into ErrCorrupt.
//
// The check comes first because a panic inside bolt.Open leaks what it had
// taken: the file descriptor, the mapping and with them the file lock, so
// every later Open in this process would report ErrLocked instead of
// ErrCorrupt. The check reads the file with plain reads, without taking the
// lock, and never writes it.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	// What the check cannot see (a damaged page deep in a file whose freelist
	// is not synced) may still make bbolt read past the end of its mmap:
	// SIGBUS, which SetPanicOnFault turns into a panic we can recover.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	var file *os.File
	opts := *o
	opts.OpenFile = func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				unlockFile(file) // the leaked mapping would keep the lock held
				file.Close()
			}
			db, err = nil, fmt.Errorf("%w (%v)", ErrCorrupt, r)
		}
	}()
	return bolt.Open(path, 0o600, &opts)
}

// The parts of bbolt's file format (version 2) that checkBoltFile reads.
// Every page starts with a 16-byte header (id u64, flags u16, count u16,
// overflow u32); pages 0 and 1 then hold a meta: magic, version, page size,
// flags (u32 each), root bucket (pgid, sequence), freelist pgid, high-water
// pgid, txid and an FNV-64a checksum of the meta's bytes before it (u64 each).
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltPageHeader   = 16
	boltMetaSize     = 64
	boltBranchPage   = 0x01
	boltLeafPage     = 0x02
	boltFreelistPage = 0x10
	boltNoFreelist   = ^uint64(0)
)

type boltMeta struct {
	pageSize                   uint64
	root, freelist, pgid, txid uint64
}

// readBoltMeta parses and validates the meta in the page starting at buf.
func readBoltMeta(buf []byte) (boltMeta, bool) {
	if len(buf) < boltPageHeader+boltMetaSize {
		return boltMeta{}, false
	}
	m := buf[boltPageHeader : boltPageHeader+boltMetaSize]
	ne := binary.NativeEndian // bbolt writes its structs in the machine's byte order
	if ne.Uint32(m[0:]) != boltMagic || ne.Uint32(m[4:]) != boltVersion {
		return boltMeta{}, false
	}
	h := fnv.New64a()
	h.Write(m[:56])
	if h.Sum64() != ne.Uint64(m[56:]) {
		return boltMeta{}, false
	}
	return boltMeta{
		pageSize: uint64(ne.Uint32(m[8:])), root: ne.Uint64(m[16:]),
		freelist: ne.Uint64(m[32:]), pgid: ne.Uint64(m[40:]), txid: ne.Uint64(m[48:]),
	}, true
}

// checkBoltFile reports ErrCorrupt, with what is wrong, for a file that
// bolt.Open would panic on or refuse: no valid meta page, a file shorter than
// its meta says (truncated), an empty file, or a root or freelist page that
// is not one. A missing file passes (bbolt creates it), and so does a file that
// changes while it is read: another process is writing it, and bolt.Open
// will report the lock.
func checkBoltFile(path string) error {
	verdict, snapshot := inspectBoltFile(path)
	if verdict == "" {
		return nil
	}
	if _, again := inspectBoltFile(path); !bytes.Equal(again, snapshot) {
		return nil
	}
	return fmt.Errorf("%w (%s)", ErrCorrupt, verdict)
}

// inspectBoltFile returns what is wrong with the file ("" for nothing) and
// its size and two meta pages, to tell a damaged file from a live one.
func inspectBoltFile(path string) (verdict string, snapshot []byte) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil // missing or unreadable: bolt.Open reports it
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", nil
	}
	if fi.Size() == 0 {
		// bbolt would silently write a new database into it: every
		// configuration and message gone without a word.
		return "file is empty (0 bytes), not a database", nil
	}
	size := uint64(fi.Size())
	page := func(off, n uint64) []byte {
		buf := make([]byte, n)
		k, _ := f.ReadAt(buf, int64(off))
		return buf[:k]
	}
	// bbolt finds the page size in meta 0, else by trying meta 1 at each
	// power of two from 1 KB.
	first := page(0, 4096)
	m0, ok0 := readBoltMeta(first)
	pageSize := m0.pageSize
	if !ok0 {
		for off := uint64(1024); off <= 1024<<14 && off+1024 < size; off <<= 1 {
			if m, ok := readBoltMeta(page(off, 4096)); ok {
				pageSize = m.pageSize
				break
			}
		}
	}
	snapshot = binary.BigEndian.AppendUint64(first, size)
	if pageSize < 1024 || pageSize&(pageSize-1) != 0 || pageSize > 1<<24 {
		return "no valid bbolt header: not a chatbot database, or both header pages are damaged", snapshot
	}
	second := page(pageSize, 4096)
	snapshot = append(snapshot, second...)
	m1, ok1 := readBoltMeta(second)
	// The meta bbolt uses: the valid one with the higher txid.
	m, ok := m0, ok0
	if ok1 && (!ok0 || m1.txid > m0.txid) {
		m = m1
	}
	switch {
	case !ok:
		return "no valid bbolt header: both header pages are damaged", snapshot
	case m.pgid < 4 || m.root < 2 || m.root >= m.pgid:
		return fmt.Sprintf("header names root page %d of %d pages", m.root, m.pgid), snapshot
	case m.pgid > size/pageSize:
		return fmt.Sprintf("file is %d bytes, its header needs %d: truncated", size, m.pgid*pageSize), snapshot
	}
	if hdr := page(m.root*pageSize, boltPageHeader); len(hdr) < boltPageHeader ||
		binary.NativeEndian.Uint16(hdr[8:])&(boltBranchPage|boltLeafPage) == 0 {
		return fmt.Sprintf("root page %d is not a bucket page", m.root), snapshot
	}
	if m.freelist == boltNoFreelist {
		return "", snapshot // bbolt rebuilds the freelist by walking the tree
	}
	if m.freelist < 2 || m.freelist >= m.pgid {
		return fmt.Sprintf("header names freelist page %d of %d pages", m.freelist, m.pgid), snapshot
	}
	return checkFreelist(page, m, pageSize), snapshot
}

// checkFreelist checks that the freelist page is one and lists only pages
// that exist; bbolt reads it unchecked when it opens the file.
func checkFreelist(page func(off, n uint64) []byte, m boltMeta, pageSize uint64) string {
	ne := binary.NativeEndian
	hdr := page(m.freelist*pageSize, boltPageHeader+8)
	if len(hdr) < boltPageHeader+8 || ne.Uint16(hdr[8:])&boltFreelistPage == 0 {
		return fmt.Sprintf("freelist page %d is not a freelist", m.freelist)
	}
	span := (1 + uint64(ne.Uint32(hdr[12:]))) * pageSize // the page and its overflow
	idx, count := uint64(0), uint64(ne.Uint16(hdr[10:]))
	if count == 0xFFFF { // the count is the first element
		idx, count = 1, ne.Uint64(hdr[boltPageHeader:])
	}
	if m.freelist*pageSize+span > m.pgid*pageSize || count > (span-boltPageHeader)/8-idx {
		return fmt.Sprintf("freelist page %d runs past the end of the data", m.freelist)
	}
	ids := page(m.freelist*pageSize+boltPageHeader+idx*8, count*8)
	for i := 0; i+8 <= len(ids); i += 8 {
		if id := ne.Uint64(ids[i:]); id < 2 || id >= m.pgid {
			return fmt.Sprintf("freelist lists page %d of %d pages", id, m.pgid)
		}
	}
	return ""
}

func (s *Store) init() error {
	err := s.update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(keySchema)
		if v == nil {
			if err := meta.Put(keySchema, itob(SchemaVersion)); err != nil {
				return err
			}
		} else if err := checkSchemaVersion(btoi(v)); err != nil {
			return err
		}
		if err := migrateTx(tx, s.now()); err != nil {
			return err
		}
		return s.checkKeyTx(tx)
	})
	if err != nil && !errors.Is(err, ErrWrongKey) {
		return fmt.Errorf("initialise %q: %w", s.path, err)
	}
	return err
}

func (s *Store) checkSchema() error {
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%q has no chatbot schema", s.path)
		}
		if err := checkSchemaVersion(btoi(meta.Get(keySchema))); err != nil {
			return fmt.Errorf("%q: %w", s.path, err)
		}
		return s.checkKeyTx(tx)
	})
}

func checkSchemaVersion(got uint64) error {
	if got > SchemaVersion {
		return fmt.Errorf("%w: schema version %d, this binary understands up to %d; upgrade chatbot (or restore a backup made by this version)",
			ErrNewerSchema, got, SchemaVersion)
	}
	return nil
}

// update and view recover a bbolt panic on a damaged page as ErrCorrupt so
// one bad page answers errors instead of crashing the process.
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.Update(func(tx *bolt.Tx) error {
		mark := deliveryMarkTx(tx) // deliveries.go: wakes the worker when a job was queued
		tx.OnCommit(s.commits.add)
		if err := fn(tx); err != nil {
			return err
		}
		s.notifyIfQueuedTx(tx, mark)
		return nil
	})
}

func (s *Store) view(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.View(fn)
}

func recoverCorrupt(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w (%v)", ErrCorrupt, r)
	}
}

// Close closes the database file.
func (s *Store) Close() error { return s.db.Close() }

// Path is the database file's path.
func (s *Store) Path() string { return s.path }

// Check runs bbolt's consistency check and returns the first problem found.
func (s *Store) Check() error {
	return s.view(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() { // drain: Check's goroutine sends every problem
			if first == nil {
				first = err
			}
		}
		return first
	})
}

// Size is the size in bytes of the database file as of a read transaction.
func (s *Store) Size() (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}

// Now is the store's clock.
func (s *Store) Now() time.Time { return s.now() }

func itob(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func btoi(b []byte) uint64 {
	if len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// clone copies a value out of a transaction.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
