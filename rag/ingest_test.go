package rag

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func skippedReasons(s Summary) map[string]string {
	out := map[string]string{}
	for _, sk := range s.Skipped {
		out[sk.Path] = sk.Reason
	}
	return out
}

func TestIngestSkipsAndReports(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{
		"good.md":        "# Good\n\nReal content about refunds.",
		"empty.md":       "",
		"blank.txt":      " \n\n\t\n",
		".hidden.md":     "# Secret",
		".git/config.md": "# Not for the index",
		"logo.png":       "\x89PNG",
		"manual.pdf":     "%PDF-1.7",
		"blob.txt":       "abc\x00def",
	})
	// A 50 MB file: sparse, so the test stays fast.
	big, err := os.Create(filepath.Join(dir, "big.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := big.Truncate(50 << 20); err != nil {
		t.Fatal(err)
	}
	big.Close()
	// A symbolic link loop: a folder linking to itself, and a file link to itself.
	if err := os.Symlink(".", filepath.Join(dir, "loop")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("self.md", filepath.Join(dir, "self.md")); err != nil {
		t.Fatal(err)
	}
	var events []Event
	sum, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{Progress: func(e Event) { events = append(events, e) }})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docs/empty.md":   "empty file",
		"docs/blank.txt":  "empty file",
		"docs/.hidden.md": "hidden",
		"docs/.git":       "hidden",
		"docs/logo.png":   "unsupported file type .png",
		"docs/manual.pdf": "PDF is not supported (no maintained pure-Go text extractor); convert it to text first, e.g. pdftotext",
		"docs/blob.txt":   "binary content",
		"docs/big.txt":    "larger than the limit of 16 MB (raise it with --max-file-size)",
		"docs/loop":       "symbolic link loop (folder already visited)",
		"docs/self.md":    "symbolic link loop",
	}
	if got := skippedReasons(sum); !reflect.DeepEqual(got, want) {
		t.Fatalf("skipped:\n got %v\nwant %v", got, want)
	}
	if sum.Added != 1 || sum.Chunks != 1 || ix.Len() != 1 {
		t.Fatalf("summary %+v, %d chunks", sum, ix.Len())
	}
	if len(events) == 0 || events[0].Kind != EventStart || events[len(events)-1].Done != events[0].Total {
		t.Fatalf("events = %+v", events)
	}
}

func TestIngestInvalidUTF8ReadAsLatin1(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{"cafe.txt": "Caf\xe9 opening hours: the caf\xe9 opens at nine.\xff"})
	sum, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{})
	if err != nil || sum.Added != 1 || len(sum.Warnings) != 1 || !strings.Contains(sum.Warnings[0].Reason, "Latin-1") {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	ps, _ := ix.Search(context.Background(), "café opening hours", 1)
	if len(ps) != 1 || !strings.Contains(ps[0].Text, "Café opening hours") {
		t.Fatalf("passages %+v", ps)
	}
}

func TestIngestUnreadableFile(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{"locked.md": "# Locked\n\ntext", "open.md": "# Open\n\ntext"})
	// Tests may run as root, who reads anything: fail the read instead.
	read := func(p string) ([]byte, error) {
		if strings.HasSuffix(p, "locked.md") {
			return nil, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission}
		}
		return os.ReadFile(p)
	}
	sum, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{ReadFile: read})
	if err != nil || sum.Added != 1 {
		t.Fatalf("summary %+v, %v", sum, err)
	}
	if got := skippedReasons(sum)["docs/locked.md"]; got != "unreadable: permission denied" {
		t.Fatalf("reason = %q", got)
	}
}

func TestIngestPathDoesNotExist(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{"a.md": "# A\n\ntext"})
	_, err := ix.Ingest(context.Background(), []string{dir, filepath.Join(dir, "missing")}, IngestOptions{})
	if !errors.Is(err, ErrNoPath) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("err = %v", err)
	}
	if ix.Len() != 0 {
		t.Fatal("something was ingested although an argument is wrong")
	}
}

func TestIngestIncrementalAndPrune(t *testing.T) {
	st := openStore(t, t.TempDir())
	emb := newTestEmbedder()
	ix := openIndex(t, st, emb, Options{})
	dir := writeDocs(t, supportDocs)
	ctx := context.Background()
	if sum, err := ix.Ingest(ctx, []string{dir}, IngestOptions{}); err != nil || sum.Added != 3 {
		t.Fatalf("first: %+v, %v", sum, err)
	}
	calls := emb.calls.Load()
	sum, err := ix.Ingest(ctx, []string{dir}, IngestOptions{})
	if err != nil || sum.Unchanged != 3 || sum.Chunks != 0 || emb.calls.Load() != calls {
		t.Fatalf("unchanged run: %+v, %v, %d embed calls", sum, err, emb.calls.Load()-calls)
	}
	// Change one file: its chunks are replaced, the others untouched.
	os.WriteFile(filepath.Join(dir, "billing.md"), []byte("# Billing\n\nWe accept Bitcoin payments now."), 0o644)
	sum, err = ix.Ingest(ctx, []string{dir}, IngestOptions{})
	if err != nil || sum.Updated != 1 || sum.Unchanged != 2 {
		t.Fatalf("changed run: %+v, %v", sum, err)
	}
	ps, _ := ix.Search(ctx, "refund business days", 5)
	for _, p := range ps {
		if strings.Contains(p.Text, "Refunds are issued") {
			t.Fatalf("old chunk still found: %+v", p)
		}
	}
	if ps, _ := ix.Search(ctx, "bitcoin", 5); len(ps) != 1 {
		t.Fatalf("new chunk not found: %+v", ps)
	}
	// Emptying a file removes its document.
	os.WriteFile(filepath.Join(dir, "billing.md"), nil, 0o644)
	if sum, _ := ix.Ingest(ctx, []string{dir}, IngestOptions{}); sum.Removed != 1 {
		t.Fatalf("emptied: %+v", sum)
	}
	// A deleted file stays until --prune.
	os.Remove(filepath.Join(dir, "shipping.html"))
	if sum, _ := ix.Ingest(ctx, []string{dir}, IngestOptions{}); sum.Removed != 0 {
		t.Fatalf("removed without --prune: %+v", sum)
	}
	sum, err = ix.Ingest(ctx, []string{dir}, IngestOptions{Prune: true})
	if err != nil || sum.Removed != 1 {
		t.Fatalf("prune: %+v, %v", sum, err)
	}
	docs, _ := st.Documents()
	if len(docs) != 1 || !strings.HasSuffix(docs[0].Path, "account.md") {
		t.Fatalf("documents = %+v", docs)
	}
}

// Ollama failing mid-ingest: the run stops, names the file, keeps the
// documents before it, and leaves the failing one as it was.
func TestIngestEmbedderFailsMidway(t *testing.T) {
	st := openStore(t, t.TempDir())
	emb := newTestEmbedder()
	ix := openIndex(t, st, emb, Options{})
	dir := writeDocs(t, supportDocs)
	ctx := context.Background()
	if _, err := ix.Ingest(ctx, []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	// billing.md gets 200 chunks; the failure hits its second embedding batch.
	var sb strings.Builder
	sb.WriteString("# Billing\n\n")
	for i := 0; i < 200; i++ {
		if i == 100 {
			sb.WriteString("## Poison\n\nPOISON text.\n\n")
		}
		sb.WriteString("## Section\n\nSome text about plans and prices.\n\n")
	}
	os.WriteFile(filepath.Join(dir, "billing.md"), []byte(sb.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "zz-new.md"), []byte("# New\n\nBrand new document."), 0o644)
	emb.failOn = "POISON"
	sum, err := ix.Ingest(ctx, []string{dir}, IngestOptions{})
	if err == nil || !strings.Contains(err.Error(), "docs/billing.md") || !strings.Contains(err.Error(), "llama runner") {
		t.Fatalf("err = %v", err)
	}
	if sum.Unchanged != 1 || sum.Added != 0 {
		t.Fatalf("summary %+v", sum)
	}
	// The old billing.md is still complete, in the store and in memory.
	old, _ := st.DocumentByPath(filepath.Join(dir, "billing.md"))
	if old.Chunks != 3 {
		t.Fatalf("billing.md has %d chunks, want its old 3", old.Chunks)
	}
	if ps, _ := ix.Search(ctx, "refund", 1); len(ps) != 1 || ps[0].Source != "docs/billing.md#refunds" {
		t.Fatalf("old version not searchable: %+v", ps)
	}
	if _, err := st.DocumentByPath(filepath.Join(dir, "zz-new.md")); err == nil {
		t.Fatal("the run went on after the failure")
	}
	// After a restart the index agrees with the store.
	ix2 := openIndex(t, st, newTestEmbedder(), Options{})
	if ix2.Len() != ix.Len() {
		t.Fatalf("reloaded %d chunks, memory had %d", ix2.Len(), ix.Len())
	}
}

func TestIngestCancelled(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, supportDocs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := ix.Ingest(ctx, []string{dir}, IngestOptions{})
	if !errors.Is(err, context.Canceled) || ix.Len() != 0 {
		t.Fatalf("err = %v, %d chunks", err, ix.Len())
	}
}
