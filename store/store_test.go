package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	bolt "go.etcd.io/bbolt"
)

// openTest opens a store in a temp dir and checks its consistency at cleanup.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	dir := t.TempDir()
	if opts.Sealer == nil {
		box, err := secret.NewBox(bytes.Repeat([]byte{7}, secret.KeySize))
		if err != nil {
			t.Fatal(err)
		}
		opts.Sealer = box
	}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("Check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestOpenRecordsSchemaVersion(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := Open(dir, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen read-only: %v", err)
	}
	defer ro.Close()
	var got uint64
	ro.view(func(tx *bolt.Tx) error { got = btoi(tx.Bucket(bucketMeta).Get(keySchema)); return nil })
	if got != SchemaVersion {
		t.Fatalf("schema version = %d, want %d", got, SchemaVersion)
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	_, err = Open(dir, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open error = %v, want ErrLocked", err)
	}
	if d := time.Since(start); d > 10*time.Second { // a hang, not scheduling noise
		t.Fatalf("second Open took %v, want it to fail fast", d)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "another chatbot") {
		t.Fatalf("error %q should name the directory and say another chatbot runs", err)
	}
}

func TestOpenDataDirIsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Open(f, Options{})
	if err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Fatalf("Open(file) error = %v", err)
	}
}

func TestOpenUnwritableDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ro")
	if os.Getuid() == 0 {
		dir = "/sys/chatbot-test-data" // root ignores mode bits; sysfs refuses new entries
	} else {
		if err := os.Mkdir(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(dir, "sub")
	}
	_, err := Open(dir, Options{})
	if err == nil || !strings.Contains(err.Error(), "create data directory") {
		t.Fatalf("Open(unwritable) error = %v, want a create data directory error", err)
	}
}

func TestOpenCorruptFileIsReportedNotOverwritten(t *testing.T) {
	for name, content := range map[string][]byte{
		"random bytes": bytes.Repeat([]byte("garbage!"), 2048),
		"truncated":    nil, // filled below from a real database
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if content == nil {
				s, err := Open(dir, Options{})
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				full, _ := os.ReadFile(path)
				content = full[:len(full)/3]
			}
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			// Twice, and read-only too: a failed Open must release the
			// file (a leaked lock would make the next one say ErrLocked).
			for i, ro := range []bool{false, false, true} {
				_, err := Open(dir, Options{ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Open #%d (read-only %v) error = %v, want ErrCorrupt", i+1, ro, err)
				}
				if !strings.Contains(err.Error(), "restore it from a backup") || !strings.Contains(err.Error(), path) {
					t.Fatalf("error %q should name the file and say to restore a backup", err)
				}
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Fatal("the corrupt file was modified")
			}
		})
	}
}

// damagedCopies returns a healthy database file and copies of it damaged in
// the ways checkBoltFile looks for, each with the words its error must say.
func damagedCopies(t *testing.T) (healthy []byte, damaged map[string]struct {
	content []byte
	want    string
}) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 { // a few pages of data and a freelist with entries
		if err := s.CreateConfig(newConfig(fmt.Sprint("cfg", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	healthy, err = os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := readBoltMeta(healthy)
	if m1, ok1 := readBoltMeta(healthy[m.pageSize:]); !ok || !ok1 {
		t.Fatalf("test file has invalid metas: %v %v", ok, ok1)
	} else if m1.txid > m.txid {
		m = m1
	}
	ps := m.pageSize
	edit := func(off uint64, b ...byte) []byte {
		c := bytes.Clone(healthy)
		copy(c[off:], b)
		return c
	}
	damaged = map[string]struct {
		content []byte
		want    string
	}{
		"one byte past the header pages": {healthy[:2*ps+1], "truncated"},
		"last page cut":                  {healthy[:m.pgid*ps-1], "truncated"},
		"both headers zeroed":            {edit(0, make([]byte, 2*ps)...), "no valid bbolt header"},
		"freelist page overwritten":      {edit(m.freelist*ps, make([]byte, ps)...), "is not a freelist"},
		"root page overwritten":          {edit(m.root*ps, make([]byte, ps)...), "is not a bucket page"},
		"4 KB of zeros":                  {make([]byte, 4096), "no valid bbolt header"},
	}
	return healthy, damaged
}

// Every damage checkBoltFile knows is ErrCorrupt, saying what is wrong, on
// every Open, with the file untouched; and the healthy file passes.
func TestOpenDamagedFiles(t *testing.T) {
	healthy, damaged := damagedCopies(t)
	if msg, _ := inspectBoltFile(writeDB(t, healthy)); msg != "" {
		t.Fatalf("healthy file: %s", msg)
	}
	for name, d := range damaged {
		t.Run(name, func(t *testing.T) {
			path := writeDB(t, d.content)
			for i := range 2 {
				_, err := Open(filepath.Dir(path), Options{LockTimeout: 100 * time.Millisecond})
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), d.want) {
					t.Fatalf("Open #%d error = %v, want ErrCorrupt saying %q", i+1, err, d.want)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, d.content) {
				t.Fatal("the damaged file was modified")
			}
		})
	}
}

// A file that another process holds gets ErrLocked, not a verdict on its
// contents, and the lock check still comes within the timeout.
func TestOpenHealthyFileHeldElsewhereIsLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
}

func writeDB(t *testing.T, content []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), FileName)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchema, itob(SchemaVersion+1))
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	want := fmt.Sprintf("schema version %d, this binary understands up to %d; upgrade chatbot", SchemaVersion+1, SchemaVersion)
	for _, ro := range []bool{false, true} {
		_, err := Open(dir, Options{ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), FileName) {
			t.Fatalf("Open (read-only %v) = %v, want ErrNewerSchema saying %q and naming the file", ro, err, want)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(after, before) {
		t.Fatal("the newer database was modified")
	}
}

func box(t *testing.T, b byte) *secret.Box {
	t.Helper()
	bx, err := secret.NewBox(bytes.Repeat([]byte{b}, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return bx
}

// wantWrongKey checks the error Open gives for a key that does not match.
func wantWrongKey(t *testing.T, dir string, err error) {
	t.Helper()
	keyFile := filepath.Join(dir, secret.KeyFileName)
	if !errors.Is(err, ErrWrongKey) || !errors.Is(err, secret.ErrDecrypt) {
		t.Fatalf("Open with another key = %v, want ErrWrongKey wrapping secret.ErrDecrypt", err)
	}
	for _, s := range []string{"CHATBOT_SECRET_KEY or " + keyFile, "start with the original key", dir} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
}

func TestOpenWithAnotherSecretKeyFails(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: box(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // no secrets yet: the check value alone tells
	before, _ := os.ReadFile(filepath.Join(dir, FileName))
	for _, ro := range []bool{false, true} {
		_, err = Open(dir, Options{Sealer: box(t, 2), ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
		wantWrongKey(t, dir, err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, FileName)); !bytes.Equal(after, before) {
		t.Fatal("a refused Open modified the file")
	}
	// The right key still opens it, and so does a store without a Sealer
	// (the CLI's read-only look-ups).
	for _, sealer := range []Sealer{box(t, 1), nil} {
		s, err := Open(dir, Options{Sealer: sealer})
		if err != nil {
			t.Fatalf("Open with the original key (sealer %v): %v", sealer != nil, err)
		}
		s.Close()
	}
}

// A database from before the check has secrets but no check value: the
// first config's secret decides, and a wrong key is not recorded as right.
func TestOpenWithoutKeyCheckTestsAStoredSecret(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{Sealer: box(t, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateConfig(newConfig("A")); err != nil {
		t.Fatal(err)
	}
	removeKeyCheck := func(s *Store) {
		if err := s.update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyKeyCheck) }); err != nil {
			t.Fatal(err)
		}
	}
	removeKeyCheck(s)
	s.Close()
	_, err = Open(dir, Options{Sealer: box(t, 2)})
	wantWrongKey(t, dir, err)
	s, err = Open(dir, Options{Sealer: box(t, 1)})
	if err != nil {
		t.Fatalf("original key: %v", err)
	}
	var written bool
	s.view(func(tx *bolt.Tx) error { written = tx.Bucket(bucketMeta).Get(keyKeyCheck) != nil; return nil })
	if !written {
		t.Fatal("Open with the right key did not write the check value")
	}
	if c, err := s.Config(1); err != nil || c.AuthToken != "outgoing-token-PLAINTEXT-1" {
		t.Fatalf("config after the check: %+v, %v", c, err)
	}
	s.Close()
	_, err = Open(dir, Options{Sealer: box(t, 2)})
	wantWrongKey(t, dir, err)
}

func TestEmptyDirOpensAndCheckIsClean(t *testing.T) {
	s := openTest(t, Options{})
	if n, err := s.Size(); err != nil || n == 0 {
		t.Fatalf("Size = %d, %v", n, err)
	}
}
