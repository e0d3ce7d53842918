package rag

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
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

// refusingOllama speaks Ollama's /api/embed (8 dimensions derived from
// each text) until it has answered `serve` requests, then closes its
// listener: from then on connections are refused, as when Ollama dies.
type refusingOllama struct {
	srv   *httptest.Server
	serve int

	mu       sync.Mutex
	requests int
}

func newRefusingOllama(t *testing.T, serve int) *refusingOllama {
	f := &refusingOllama{serve: serve}
	f.srv = httptest.NewServer(http.HandlerFunc(f.embed))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *refusingOllama) embed(w http.ResponseWriter, r *http.Request) {
	var req api.EmbedRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/api/embed" {
		http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	if f.serve > 0 && f.requests == f.serve {
		// A request that raced the closing listener (embeddings run in
		// parallel): the process is gone, so its connection drops unanswered.
		f.mu.Unlock()
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	f.requests++
	if f.requests == f.serve {
		f.srv.Listener.Close() // this answer is the last
	}
	f.mu.Unlock()
	inputs, _ := req.Input.([]any)
	resp := api.EmbedResponse{Model: req.Model}
	for _, in := range inputs {
		s, _ := in.(string)
		v := make([]float32, 8)
		for i, c := range s {
			v[i%8] += float32(c % 7)
		}
		v[0]++
		resp.Embeddings = append(resp.Embeddings, v)
	}
	json.NewEncoder(w).Encode(resp)
}

// embedder is an Ollama embedder on this server; no keep-alive, so that
// every request dials (and is refused once the listener is closed).
func (f *refusingOllama) embedder() *embed.Ollama {
	u, _ := url.Parse(f.srv.URL)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	return embed.NewOllama(api.NewClient(u, hc), "m", 32)
}

// knownEmbedder reports an identity and embeds nothing: enough to reopen
// an index built by an Ollama that is gone.
type knownEmbedder struct{ info embed.Info }

func (k knownEmbedder) Info() embed.Info { return k.info }
func (k knownEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("not reachable")
}

// checkWhole checks that every stored document has all its chunks, each
// with a vector, and no chunk belongs to no document; it returns the
// stored paths, sorted.
func checkWhole(t *testing.T, st *store.Store) []string {
	t.Helper()
	docs, err := st.Documents()
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[uint64][]uint32{}
	if err := st.EachChunk(func(c store.Chunk) error { // fails on a chunk without its vector
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
		for i, s := range got {
			if s != uint32(i) {
				t.Errorf("%s: chunk sequence %v", d.Path, got)
				break
			}
		}
		if len(got) != d.Chunks || d.Chunks == 0 {
			t.Errorf("%s: %d chunks stored, the document says %d", d.Path, len(got), d.Chunks)
		}
		delete(seqs, d.ID)
		paths = append(paths, d.Path)
	}
	if len(seqs) != 0 {
		t.Errorf("chunks of no document: %v", seqs)
	}
	return paths
}

// Ollama refusing connections in the middle of a run (the process died,
// not an HTTP error): the run stops with an error naming the first file not
// indexed; the files before it are whole, that file and the ones after it
// are not stored at all (not even the batch of it that was embedded), and a
// run against an Ollama that is back indexes the rest.
func TestIngestOllamaRefusesConnectionsMidway(t *testing.T) {
	const files, sections = 12, 40 // 40 chunks a file: two requests of 32 and 8
	docs := map[string]string{}
	for f := range files {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# File %d\n\n", f)
		for s := range sections {
			fmt.Fprintf(&sb, "## Section %d\n\nText %d of file %d about plans and prices.\n\n", s, s, f)
		}
		docs[fmt.Sprintf("f%02d.md", f)] = sb.String()
	}
	dir := writeDocs(t, docs)
	var want []string
	for f := range files {
		want = append(want, filepath.Join(dir, fmt.Sprintf("f%02d.md", f)))
	}
	st := openStore(t, t.TempDir())
	// The probe at Open, then 12 embed requests: at least five whole files
	// (at most two are part-way), of which, since no file more than three
	// places after the first unfinished one is started, the first ones.
	ollama := newRefusingOllama(t, 13)
	ix := openIndex(t, st, ollama.embedder(), Options{})
	sum, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{})
	// Refused, or reset for a request that raced the close: unreachable.
	if !errors.Is(err, embed.ErrUnreachable) {
		t.Fatalf("err = %v", err)
	}
	ollama.mu.Lock()
	served := ollama.requests
	ollama.mu.Unlock()
	if served != 13 {
		t.Fatalf("Ollama answered %d requests before it was gone, want 13", served)
	}
	stored := checkWhole(t, st)
	n := len(stored)
	if n == 0 || n >= files || !slices.Equal(stored, want[:n]) {
		t.Fatalf("stored %q, want the first files in order", stored)
	}
	if first := fmt.Sprintf("ingest docs/f%02d.md: ", n); !strings.HasPrefix(err.Error(), first) {
		t.Fatalf("err = %v, want it to start with %q", err, first)
	}
	if sum.Added != n || sum.Chunks != n*sections || ix.Len() != n*sections {
		t.Fatalf("summary %+v, %d chunks in memory, want %d documents of %d", sum, ix.Len(), n, sections)
	}
	// A restart loads exactly what is stored.
	info := embed.Info{Provider: "ollama", Model: "m", Dimension: 8}
	if got := openIndex(t, st, knownEmbedder{info}, Options{}).Len(); got != n*sections {
		t.Fatalf("reopened index has %d chunks, want %d", got, n*sections)
	}

	// Ollama is back: the next run adds the rest and leaves the others be.
	ix = openIndex(t, st, newRefusingOllama(t, 0).embedder(), Options{})
	sum, err = ix.Ingest(context.Background(), []string{dir}, IngestOptions{})
	if err != nil || sum.Unchanged != n || sum.Added != files-n || ix.Len() != files*sections {
		t.Fatalf("second run: %+v, %v, %d chunks", sum, err, ix.Len())
	}
	if stored := checkWhole(t, st); !slices.Equal(stored, want) {
		t.Fatalf("stored %q after the second run", stored)
	}
}
