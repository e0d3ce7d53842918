// Package store keeps the chatbot's state in one bbolt file: webhook
// configurations, messages, conversations, live-chat sessions, the delivery
// queue and the knowledge base's documents. Each method is one transaction;
// values are copied out before the transaction ends.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
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
// newer one and migrates older ones (none yet).
const SchemaVersion = 1

// Sentinel errors; check them with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("already exists")
	// ErrLocked means another process holds the database file.
	ErrLocked = errors.New("data directory is in use by another chatbot process")
	// ErrCorrupt means the file is not a readable bbolt database.
	ErrCorrupt = errors.New("database file is corrupted; restore it from a backup")
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
}

// Sealer encrypts and decrypts secret fields; aad binds a ciphertext to its
// record and field so it cannot be moved onto another one.
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(ciphertext, aad []byte) ([]byte, error)
}

// Store is the bbolt-backed repository of all persistent state.
type Store struct {
	db     *bolt.DB
	sealer Sealer
	now    func() time.Time
	path   string
	queued atomic.Pointer[func()] // called after a commit that queued a delivery
	group  committer              // shares commits between concurrent batch calls
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
	db, err := openBolt(path, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, ReadOnly: opts.ReadOnly})
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("open %q: %w (stop the other one, or use another --data-dir)", dir, ErrLocked)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrChecksum),
			errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, ErrCorrupt):
			return nil, fmt.Errorf("open %q: %w", path, ErrCorrupt)
		case errors.Is(err, os.ErrPermission):
			return nil, fmt.Errorf("open %q: permission denied (check the owner and mode of the data directory)", path)
		}
		return nil, fmt.Errorf("open %q: %w", path, err)
	}
	s := &Store{db: db, sealer: opts.Sealer, now: opts.Now, path: path}
	if opts.ReadOnly {
		return s, s.checkSchema()
	}
	if err := s.init(); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
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

// openBolt turns the panics bbolt raises on some damaged files into ErrCorrupt.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	// A truncated file makes bbolt read past the end of its mmap: SIGBUS,
	// which SetPanicOnFault turns into a panic we can recover.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w (%v)", ErrCorrupt, r)
		}
	}()
	return bolt.Open(path, 0o600, o)
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
			return meta.Put(keySchema, itob(SchemaVersion))
		}
		if got := btoi(v); got > SchemaVersion {
			return fmt.Errorf("database schema version %d is newer than this binary understands (%d); upgrade chatbot", got, SchemaVersion)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("initialise %q: %w", s.path, err)
	}
	return nil
}

func (s *Store) checkSchema() error {
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("%q has no chatbot schema", s.path)
		}
		if got := btoi(meta.Get(keySchema)); got > SchemaVersion {
			return fmt.Errorf("database schema version %d is newer than this binary understands (%d)", got, SchemaVersion)
		}
		return nil
	})
}

// update and view recover a bbolt panic on a damaged page as ErrCorrupt so
// one bad page answers errors instead of crashing the process.
func (s *Store) update(fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer recoverCorrupt(&err)
	return s.db.Update(func(tx *bolt.Tx) error {
		mark := deliveryMarkTx(tx) // deliveries.go: wakes the worker when a job was queued
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
