//go:build linux

package store

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// mappedRSS is how many kB of the file at path are resident in this
// process's mappings (/proc/self/smaps).
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	total, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, _ := strconv.Atoi(strings.Fields(line)[1])
			total += kb
		}
	}
	return total
}

// Reading every chunk leaves none of the file's pages resident in this
// process, and reading them again returns the same chunks.
func TestEachChunkReleasesTheFilePages(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	var batch []DocumentChunks
	text := strings.Repeat("words of a support article ", 40)
	for d := range 40 {
		var cs []Chunk
		for c := range 50 {
			cs = append(cs, Chunk{Title: "T", Source: "a.md", Text: fmt.Sprintf("%d %d %s", d, c, text), Terms: "t", Vector: []float32{float32(d), float32(c), 1}})
		}
		batch = append(batch, DocumentChunks{Doc: Document{Path: fmt.Sprintf("d%02d.md", d)}, Chunks: cs})
	}
	if _, err := s.PutDocuments(testInfo, batch); err != nil {
		t.Fatal(err)
	}
	size, err := s.Size()
	if err != nil || size < 2<<20 {
		t.Fatalf("database is %d bytes (%v), want a few MB", size, err)
	}
	first := allChunks(t, s)
	if rss := mappedRSS(t, s.Path()); rss > 64 {
		t.Fatalf("%d kB of the %d kB file still resident after reading every chunk", rss, size>>10)
	}
	again := allChunks(t, s)
	if len(first) != 2000 || len(again) != 2000 {
		t.Fatalf("read %d then %d chunks, want 2000", len(first), len(again))
	}
	for i := range first {
		if first[i].Text != again[i].Text || first[i].Vector[1] != again[i].Vector[1] {
			t.Fatalf("chunk %d differs after the pages were released", i)
		}
	}
}
