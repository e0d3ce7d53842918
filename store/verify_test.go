package store

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// damagedPage3 builds a database with data and overwrites 8 KB at page 3
// with seeded random bytes, the damage of issue 13. It returns the dir.
func damagedPage3(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if err := s.CreateConfig(newConfig(fmt.Sprint("cfg", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	path := filepath.Join(dir, FileName)
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := readBoltMeta(content)
	noise := make([]byte, 8<<10)
	rng := rand.New(rand.NewPCG(13, 3))
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	off := 3 * m.pageSize
	if uint64(len(content)) < off+uint64(len(noise)) {
		t.Fatalf("test database is %d bytes, too small to damage 8 KB at page 3", len(content))
	}
	copy(content[off:], noise)
	if err := os.WriteFile(path, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// A page damaged deep in the file, which the header and freelist checks do
// not see, is caught by the full check at Open: ErrCorrupt with the restore
// message, and the file is not written (bbolt opened it read-write before,
// rewriting its meta pages, and the server then failed on every claim).
func TestOpenDamagedPageIsCorruptAndUntouched(t *testing.T) {
	dir := damagedPage3(t)
	path := filepath.Join(dir, FileName)
	before := fileHash(t, path)
	for i := range 2 {
		_, err := Open(dir, Options{LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open #%d error = %v, want ErrCorrupt", i+1, err)
		}
		if !strings.Contains(err.Error(), "restore it from a backup") || !strings.Contains(err.Error(), path) {
			t.Fatalf("error %q should name the file and say to restore a backup", err)
		}
	}
	if fileHash(t, path) != before {
		t.Fatal("the damaged file was modified")
	}
}

// A 0-byte chatbot.db is refused, not silently replaced by a new database.
func TestOpenEmptyFileIsCorrupt(t *testing.T) {
	path := writeDB(t, nil)
	for i, ro := range []bool{false, true} {
		_, err := Open(filepath.Dir(path), Options{ReadOnly: ro, LockTimeout: 100 * time.Millisecond})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "file is empty (0 bytes)") ||
			!strings.Contains(err.Error(), "restore it from a backup") {
			t.Fatalf("Open #%d error = %v, want ErrCorrupt saying the file is empty", i+1, err)
		}
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, nil) {
		t.Fatalf("the empty file was written: %d bytes, %v", len(b), err)
	}
}

// Seeded noise over each page in turn, whole or behind an intact page
// header (element offsets and key lengths pointing anywhere): Open answers
// ErrCorrupt, or opens a file whose damage was on a free page, and never
// crashes. bbolt's Check alone read outside the mapping on such a page and
// killed the process ("fatal error: fault") from a goroutine that cannot
// recover.
func TestOpenSurvivesNoiseOnAnyPage(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := s.CreateConfig(newConfig(fmt.Sprint("cfg", i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	healthy, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := readBoltMeta(healthy)
	ps := int(m.pageSize)
	corrupt := 0
	for p := 2; p < len(healthy)/ps; p++ {
		for _, keepHeader := range []bool{false, true} {
			c := bytes.Clone(healthy)
			rng := rand.New(rand.NewPCG(uint64(p), 13))
			start := p * ps
			if keepHeader {
				start += boltPageHeader
			}
			for i := start; i < (p+1)*ps; i++ {
				c[i] = byte(rng.Uint32())
			}
			path := writeDB(t, c)
			st, err := Open(filepath.Dir(path), Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				st.Close()
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("page %d (header kept %v): %v, want ErrCorrupt or a clean open", p, keepHeader, err)
			}
			corrupt++
			if after, _ := os.ReadFile(path); !bytes.Equal(after, c) {
				t.Fatalf("page %d (header kept %v): the damaged file was modified", p, keepHeader)
			}
		}
	}
	if corrupt == 0 {
		t.Fatal("no damage was found: the test damages nothing bbolt reads")
	}
	t.Logf("%d of %d damaged files refused", corrupt, 2*(len(healthy)/ps-2))
}
