package store

import (
	"os"
	"path/filepath"
	"testing"
)

// checkElements reads pages of a possibly damaged file: whatever the bytes,
// it answers (children or a verdict) without panicking, and every child
// it returns comes from inside the page.
func FuzzCheckElements(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 30 {
		if err := s.CreateConfig(newConfig(string(rune('a' + i)))); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	file, err := os.ReadFile(filepath.Join(dir, FileName))
	if err != nil {
		f.Fatal(err)
	}
	m, _ := readBoltMeta(file)
	for p := uint64(2); p < m.pgid && p < 12; p++ {
		f.Add(file[p*m.pageSize : (p+1)*m.pageSize])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, page []byte) {
		children, verdict := checkElements(page, "page", true)
		if verdict != "" && children != nil {
			t.Fatalf("verdict %q with children %v", verdict, children)
		}
	})
}
