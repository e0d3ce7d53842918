//go:build linux

package cmd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// fSetPipeSize is F_SETPIPE_SZ (linux/fcntl.h), absent from package syscall.
const fSetPipeSize = 1031

// TestIngestKilledMidwayLeavesWholeDocuments runs a real `chatbot ingest`
// (this test binary re-run as chatbot, see TestMain) over 300 files and
// SIGKILLs it once it has reported 20 of them. Its stdout is a one-page
// pipe that the test stops reading, so the child cannot get far past that
// point, let alone finish. The data directory then passes bbolt's check,
// holds the first files in order, each with all its chunks and vectors and
// no stray chunk, and a second run adds exactly the rest.
func TestIngestKilledMidwayLeavesWholeDocuments(t *testing.T) {
	const files, killAfter = 300, 20
	docs := filepath.Join(t.TempDir(), "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	var want []string
	for f := range files {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Guide %d\n\n", f)
		for s := range 4 {
			fmt.Fprintf(&sb, "## Topic %d\n\n%s\n\n", s, strings.Repeat(fmt.Sprintf("Step %d of guide %d explains plans, prices and refunds. ", s, f), 6))
		}
		p := filepath.Join(docs, fmt.Sprintf("g%03d.md", f))
		if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	data := t.TempDir()

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, _, errno := syscall.Syscall(syscall.SYS_FCNTL, w.Fd(), fSetPipeSize, 4096); errno != 0 {
		t.Fatalf("F_SETPIPE_SZ: %v", errno)
	}
	child := exec.Command(os.Args[0])
	child.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join([]string{"ingest", docs, "--data-dir", data, "--embedder", "builtin"}, "\x1f"))
	var stderr bytes.Buffer
	child.Stdout, child.Stderr = w, &stderr
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sc := bufio.NewScanner(r)
	reported := 0
	var out []string
	for reported < killAfter && sc.Scan() {
		out = append(out, sc.Text())
		if strings.HasPrefix(sc.Text(), "[") && strings.Contains(sc.Text(), fmt.Sprintf("/%d] docs/", files)) {
			reported++
		}
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not killed; output %q; stderr %s", err, out, stderr.Bytes())
	}
	if reported != killAfter {
		t.Fatalf("child reported %d files before it ended: %q; stderr %s", reported, out, stderr.Bytes())
	}

	stored := wholeDocuments(t, data)
	n := len(stored)
	if n < killAfter || n >= files || !slices.Equal(stored, want[:n]) {
		t.Fatalf("after the kill %d documents are stored, want the first %d or more of %d in order: %q", n, killAfter, files, stored)
	}

	// A second run completes the rest and leaves the others be.
	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": data, "CHATBOT_EMBEDDER": "builtin"})
	got, _, err := run(t, e, "ingest", docs)
	if summary := fmt.Sprintf("%d files: %d added, 0 updated, %d unchanged, 0 skipped, 0 removed;", files, files-n, n); err != nil || !strings.Contains(got, summary) {
		t.Fatalf("second run: %v, want %q in\n%s", err, summary, got)
	}
	if stored := wholeDocuments(t, data); !slices.Equal(stored, want) {
		t.Fatalf("after the second run %d documents are stored, want all %d", len(stored), files)
	}
}

// wholeDocuments opens the store of the data directory read-only, runs
// bbolt's check, checks that every document has all its chunks (sequences
// 0..n-1), each with a vector, and that no chunk belongs to no document,
// and returns the documents' paths, sorted.
func wholeDocuments(t *testing.T, dir string) []string {
	t.Helper()
	st, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
	docs, err := st.Documents()
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64][]uint32{}
	// EachChunk fails on a chunk whose vector is missing or malformed.
	if err := st.EachChunk(func(c store.Chunk) error {
		if len(c.Vector) == 0 {
			return fmt.Errorf("chunk %d-%d has no vector", c.DocID, c.Seq)
		}
		seqs[c.DocID] = append(seqs[c.DocID], c.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range docs {
		got := seqs[d.ID]
		if d.Chunks == 0 || len(got) != d.Chunks {
			t.Errorf("%s: %d chunks stored, the document says %d", d.Path, len(got), d.Chunks)
		}
		for i, s := range got {
			if s != uint32(i) {
				t.Errorf("%s: chunk sequence %v", d.Path, got)
				break
			}
		}
		if byPath, err := st.DocumentByPath(d.Path); err != nil || byPath.ID != d.ID {
			t.Errorf("%s: by path %+v, %v", d.Path, byPath, err)
		}
		delete(seqs, d.ID)
		paths = append(paths, d.Path)
	}
	if len(seqs) != 0 {
		t.Errorf("chunks of no document: %v", seqs)
	}
	return paths
}
