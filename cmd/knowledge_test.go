package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"

	"github.com/chatbot/chatbot/internal/server"
)

func writeTestDocs(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "docs")
	files := map[string]string{
		"billing.md": "# Billing\n\n## Refunds\n\nRefunds are issued to the original payment method within 5 business days.\n",
		"account.md": "# Account\n\n## Reset your password\n\nTo reset your password, click Forgot password on the login page.\n",
		"logo.png":   "\x89PNG",
	}
	os.MkdirAll(dir, 0o755)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// noOllama is an environment whose Ollama address has nothing listening.
func noOllama(t *testing.T, extra map[string]string) env {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	m := map[string]string{"OLLAMA_HOST": addr}
	for k, v := range extra {
		m[k] = v
	}
	return mapEnv(m)
}

func TestIngestAskAndDocsCommands(t *testing.T) {
	data := t.TempDir()
	docs := writeTestDocs(t)
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data})

	out, _, err := run(t, e, "ingest", docs) // auto: no Ollama -> built-in embedder
	if err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	for _, want := range []string{"ingesting 2 files", "docs/account.md: added, 1 chunks", "3 files: 2 added, 0 updated, 0 unchanged, 1 skipped",
		"builtin/hash-v3", "skipped docs/logo.png: unsupported file type .png"} {
		if !strings.Contains(out, want) {
			t.Errorf("ingest output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, e, "ingest", docs)
	if err != nil || !strings.Contains(out, "0 added, 0 updated, 2 unchanged") {
		t.Fatalf("second ingest: %v\n%s", err, out)
	}

	out, _, err = run(t, e, "ask", "how do I reset my password?")
	if err != nil {
		t.Fatal(err)
	}
	want := "> To reset your password, click Forgot password on the login page.\n  (Account > Reset your password)\n\nSources:\n  1. docs/account.md#reset-your-password (score "
	if !strings.HasPrefix(out, want) {
		t.Fatalf("ask output:\n%s\nwant prefix:\n%s", out, want)
	}
	out, _, err = run(t, e, "ask", "--json", "what is the capital of france")
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
		Sources      []any  `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &resp); err != nil || resp.ResponseType != "no_answer" || len(resp.Sources) != 0 {
		t.Fatalf("off-topic ask: %+v, %v\n%s", resp, err, out)
	}
	if _, _, err := run(t, e, "ask", "  "); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty question: %v", err)
	}

	out, _, err = run(t, e, "docs", "list")
	if err != nil || !strings.Contains(out, "Account") || !strings.Contains(out, "2 documents, 2 chunks, embedder builtin/hash-v3 (dimension 512)") {
		t.Fatalf("docs list: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "docs", "remove", filepath.Join(docs, "billing.md"))
	if err != nil || !strings.Contains(out, "Removed document") {
		t.Fatalf("docs remove: %v\n%s", err, out)
	}
	if _, _, err := run(t, e, "docs", "remove", "billing.md"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("remove missing: %v", err)
	}
	out, _, _ = run(t, e, "ask", "refund")
	if !strings.Contains(out, "nothing relevant") {
		t.Fatalf("removed document still answers:\n%s", out)
	}
}

func TestIngestBadArguments(t *testing.T) {
	data := t.TempDir()
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data, "CHATBOT_EMBEDDER": "builtin"})
	if _, _, err := run(t, e, "ingest", filepath.Join(data, "nope")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("missing path: %v", err)
	}
	if _, _, err := run(t, e, "ingest"); err == nil {
		t.Fatal("no path accepted")
	}
	if _, _, err := run(t, e, "ingest", data, "--max-file-size", "0"); err == nil || !strings.Contains(err.Error(), "--max-file-size") {
		t.Fatalf("bad size: %v", err)
	}
	if _, _, err := run(t, e, "ingest", data, "--embedder", "magic"); err == nil || !strings.Contains(err.Error(), "--embedder") {
		t.Fatalf("bad embedder: %v", err)
	}
}

func TestIngestWhileStoreIsHeld(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(data, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data, "CHATBOT_EMBEDDER": "builtin"})
	_, _, err = run(t, e, "ingest", writeTestDocs(t))
	if err == nil || !strings.Contains(err.Error(), "held by a running server") || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := run(t, e, "docs", "list"); err == nil || !strings.Contains(err.Error(), "held by a running server") {
		t.Fatalf("docs list: %v", err)
	}
}

// fakeOllamaServer answers /api/embed with 8-dimension vectors.
func fakeOllamaServer(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string   `json:"model"`
			Input []string `json:"input"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || r.URL.Path != "/api/embed" {
			http.Error(w, `{"error":"bad request"}`, http.StatusBadRequest)
			return
		}
		if req.Model != "nomic-embed-text" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":"model \"` + req.Model + `\" not found, try pulling it first"}`))
			return
		}
		var vs [][]float32
		for _, in := range req.Input {
			v := make([]float32, 8)
			for i, c := range in {
				v[i%8] += float32(c % 7)
			}
			v[0]++
			vs = append(vs, v)
		}
		json.NewEncoder(w).Encode(map[string]any{"model": req.Model, "embeddings": vs})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestIngestAnotherEmbedderNeedsReindex(t *testing.T) {
	data := t.TempDir()
	docs := writeTestDocs(t)
	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": data, "OLLAMA_HOST": fakeOllamaServer(t)})
	if _, _, err := run(t, e, "ingest", docs, "--embedder", "builtin"); err != nil {
		t.Fatal(err)
	}
	_, _, err := run(t, e, "ingest", docs, "--embedder", "ollama")
	if err == nil || !strings.Contains(err.Error(), "--reindex") || !strings.Contains(err.Error(), "builtin/hash-v3") {
		t.Fatalf("err = %v", err)
	}
	if _, _, err := run(t, e, "ingest", docs, "--embedder", "ollama", "--embed-model", "missing-model", "--reindex"); err == nil ||
		!strings.Contains(err.Error(), "ollama pull missing-model") {
		t.Fatalf("missing model: %v", err)
	}
	out, _, err := run(t, e, "ingest", docs, "--embedder", "ollama", "--reindex")
	if err != nil || !strings.Contains(out, "2 added") || !strings.Contains(out, "ollama/nomic-embed-text") {
		t.Fatalf("reindex: %v\n%s", err, out)
	}
	// auto now follows the index: Ollama.
	out, _, err = run(t, e, "docs", "list")
	if err != nil || !strings.Contains(out, "embedder ollama/nomic-embed-text (dimension 8)") {
		t.Fatalf("docs list: %v\n%s", err, out)
	}
	if _, _, err := run(t, e, "ask", "refund"); err != nil {
		t.Fatalf("ask with the index's own embedder: %v", err)
	}
}

func TestEvalCommand(t *testing.T) {
	e := noOllama(t, nil)
	runPath := filepath.Join(t.TempDir(), "run.tsv")
	out, _, err := run(t, e, "eval", "--corpus", "testdata/beir/corpus.jsonl", "--queries", "testdata/beir/queries.jsonl",
		"--qrels", "testdata/beir/qrels.tsv", "--mode", "all", "--run", runPath)
	if err != nil {
		t.Fatalf("eval: %v\n%s", err, out)
	}
	for _, want := range []string{
		"indexing 4 documents with builtin/hash-v3",
		"lexical  queries 2  nDCG@10 1.0000  recall@10 1.0000  MRR@10 1.0000",
		"hybrid   queries 2  nDCG@10 1.0000  recall@10 1.0000  MRR@10 1.0000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(runPath)
	if err != nil || !strings.HasPrefix(string(b), "query-id\tcorpus-id\trank\tscore\nq1\td1\t1\t") {
		t.Fatalf("run file: %v\n%s", err, b)
	}
	if _, _, err := run(t, e, "eval", "--corpus", "nope.jsonl", "--queries", "x", "--qrels", "y"); err == nil || !strings.Contains(err.Error(), "--corpus") {
		t.Fatalf("missing corpus: %v", err)
	}
	if _, _, err := run(t, e, "eval", "--corpus", "a", "--queries", "b", "--qrels", "c", "--mode", "best"); err == nil || !strings.Contains(err.Error(), "--mode") {
		t.Fatalf("bad mode: %v", err)
	}
}

func TestIngestGoesThroughRunningServer(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: token, Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}})
	docs := writeTestDocs(t)
	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": token})
	out, _, err := run(t, e, "ingest", docs)
	if err != nil || !strings.Contains(out, "through its API") || !strings.Contains(out, "2 added") {
		t.Fatalf("ingest through server: %v\n%s", err, out)
	}
	if a.index.Len() != 2 {
		t.Fatalf("server index has %d chunks", a.index.Len())
	}
	out, _, err = run(t, e, "ask", "how do I reset my password?")
	if err != nil || !strings.Contains(out, "docs/account.md#reset-your-password") {
		t.Fatalf("ask through server: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "docs", "list")
	if err != nil || !strings.Contains(out, "2 documents, 2 chunks, embedder builtin/hash-v3") {
		t.Fatalf("docs list through server: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "docs", "remove", filepath.Join(docs, "billing.md"))
	if err != nil || !strings.Contains(out, "Removed document") || a.index.Len() != 1 {
		t.Fatalf("docs remove through server: %v, %d chunks left\n%s", err, a.index.Len(), out)
	}
	if _, _, err := run(t, e, "ingest", docs, "--reindex"); err == nil || !strings.Contains(err.Error(), "stop `chatbot serve`") {
		t.Fatalf("--reindex through server: %v", err)
	}
	out, _, err = run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token}), "ingest", docs, "--server", "http://"+a.Addr(), "--data-dir", t.TempDir())
	if err != nil || !strings.Contains(out, "1 added") || !strings.Contains(out, "1 unchanged") {
		t.Fatalf("ingest with --server: %v\n%s", err, out)
	}
}

// roundTripRecorder records the URL of every request and fails it.
type roundTripRecorder struct{ urls []string }

var errRecorded = errors.New("recorded, not sent")

func (r *roundTripRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return nil, errRecorded
}

// Every command reads OLLAMA_HOST the same way: the knowledge commands'
// client (ingest, eval, and the embedder of ask and serve) dials what
// chat.OllamaURL (the answering client of serve and ask) says.
func TestOllamaHostIsReadOneWayByEveryCommand(t *testing.T) {
	for _, c := range []struct{ host, want string }{
		{"", "http://127.0.0.1:11434"},
		{"myhost", "http://myhost:11434"},
		{"myhost:1234", "http://myhost:1234"},
		{"0.0.0.0", "http://127.0.0.1:11434"},
		{"http://h:1", "http://h:1"},
		{"https://h", "https://h:443"},
	} {
		u, err := chat.OllamaURL(c.host)
		if err != nil || u.String() != c.want {
			t.Errorf("chat.OllamaURL(%q) = %v, %v; want %s", c.host, u, err, c.want)
		}
		rec := &roundTripRecorder{}
		client, err := server.OllamaClient(c.host, &http.Client{Transport: rec})
		if err != nil {
			t.Errorf("ollamaClient(%q): %v", c.host, err)
			continue
		}
		if _, err := client.Version(context.Background()); !errors.Is(err, errRecorded) {
			t.Errorf("%q: Version: %v", c.host, err)
		}
		if want := []string{c.want + "/api/version"}; !slices.Equal(rec.urls, want) {
			t.Errorf("ollamaClient(%q) dialled %q, want %q", c.host, rec.urls, want)
		}
	}
}

// A bad OLLAMA_HOST is the same error in every command that reaches Ollama.
func TestBadOllamaHostFailsEveryCommand(t *testing.T) {
	docs := writeTestDocs(t)
	e := mapEnv(map[string]string{"OLLAMA_HOST": "ftp://h", "CHATBOT_DATA_DIR": t.TempDir()})
	const want = `ollama host "ftp://h": scheme must be http or https`
	for _, args := range [][]string{
		{"ingest", docs},
		{"ingest", docs, "--embedder", "ollama"},
		{"ask", "refund"},
		{"eval", "--corpus", "testdata/beir/corpus.jsonl", "--queries", "testdata/beir/queries.jsonl",
			"--qrels", "testdata/beir/qrels.tsv", "--embedder", "ollama"},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		if _, _, err := run(t, e, args...); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err %v, want %q", args, err, want)
		}
	}
}

// ingestWithProgress ingests writeTestDocs into a new data directory,
// reporting to a progress that is told whether it writes to a terminal.
func ingestWithProgress(t *testing.T, tty bool) string {
	t.Helper()
	st, ix, err := openKnowledge(context.Background(), mapEnv(nil), knowledgeFlags{dataDir: t.TempDir(), embedder: "builtin"}, rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var out strings.Builder
	p := newProgress(&out, tty)
	if _, err := ix.Ingest(context.Background(), []string{writeTestDocs(t)}, rag.IngestOptions{Progress: p.event}); err != nil {
		t.Fatal(err)
	}
	p.finish()
	return out.String()
}

// On a terminal ingest draws a bar (cleared when done), and no line per
// file; elsewhere (a pipe, a log) one plain line per file.
func TestIngestProgressIsABarOnATerminalAndLinesElsewhere(t *testing.T) {
	bar := ingestWithProgress(t, true)
	if !strings.HasPrefix(bar, "\ringesting  50% |") || !strings.Contains(bar, "| (1/2) [") ||
		!strings.HasSuffix(bar, "\r"+strings.Repeat(" ", 71)+"\r") {
		t.Errorf("on a terminal: %q, want the bar at 1/2, then cleared", bar)
	}
	if strings.Contains(bar, "docs/") || strings.Contains(bar, "\n") {
		t.Errorf("on a terminal, per-file lines: %q", bar)
	}
	const want = "ingesting 2 files (0.0 MB)\n[1/2] docs/account.md: added, 1 chunks\n[2/2] docs/billing.md: added, 1 chunks\n"
	if lines := ingestWithProgress(t, false); lines != want {
		t.Errorf("not a terminal:\n%q\nwant\n%q", lines, want)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, w := range []io.Writer{&strings.Builder{}, f} {
		if isTerminal(w) {
			t.Errorf("isTerminal(%T) = true", w)
		}
	}
}
