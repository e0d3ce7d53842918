package store

import (
	"bytes"
	"errors"
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
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second Open took %v, want under 2s", d)
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
			_, err := Open(dir, Options{})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open error = %v, want ErrCorrupt", err)
			}
			if !strings.Contains(err.Error(), "restore it from a backup") {
				t.Fatalf("error %q should say to restore a backup", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(after, content) {
				t.Fatal("the corrupt file was modified")
			}
		})
	}
}

func TestEmptyDirOpensAndCheckIsClean(t *testing.T) {
	s := openTest(t, Options{})
	if n, err := s.Size(); err != nil || n == 0 {
		t.Fatalf("Size = %d, %v", n, err)
	}
}
