package chat

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// openKB ingests files into a real index (bbolt, built-in embedder) with a
// base URL, as `chatbot ingest ./docs --base-url` does.
func openKB(t *testing.T, files map[string]string, baseURL string) *rag.Index {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix, err := rag.Open(context.Background(), st, embed.NewBuiltin(), rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "docs")
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ix.Ingest(context.Background(), []string{dir}, rag.IngestOptions{BaseURL: baseURL}); err != nil {
		t.Fatal(err)
	}
	return ix
}

var citeDocs = map[string]string{
	"account.md": "# Account\n\n## Reset your password\n\nTo reset your password, click Forgot password on the login page.\n",
	"billing.md": "---\nurl: https://shop.example.com/billing\n---\n# Billing\n\n## Refunds\n\nRefunds are issued to the original payment method within 5 business days.\n",
}

// Extractive and LLM answers: the sources carry the document's public URL
// beside its path, and the answer text shows the URL, never the path.
func TestAnswersCitePublicURLs(t *testing.T) {
	ix := openKB(t, citeDocs, "https://help.example.com/")
	llm := &fakeLLM{ready: true, answer: func([]api.Message) (string, error) { return "Use Forgot password on the login page [1].", nil }}
	for _, c := range []struct {
		name string
		llm  LLM
		typ  ResponseType
	}{{"extractive", nil, TypeExtractive}, {"llm", llm, TypeRAG}} {
		e, err := NewEngine(Config{Retriever: ix, Extract: ix.Extract, LLM: c.llm})
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.Answer(context.Background(), Request{Platform: "test", Text: "how do I reset my password?"})
		if err != nil {
			t.Fatal(err)
		}
		if r.Type != c.typ || len(r.Sources) == 0 {
			t.Fatalf("%s: %+v", c.name, r)
		}
		if s := r.Sources[0]; s.URL != "https://help.example.com/account" || s.Source != "docs/account.md#reset-your-password" {
			t.Fatalf("%s: source %+v", c.name, s)
		}
		if strings.Contains(r.Answer, "account.md") || strings.Contains(r.Answer, "docs/") {
			t.Fatalf("%s: answer shows a path: %q", c.name, r.Answer)
		}
		if c.typ == TypeExtractive && !strings.Contains(r.Answer, "(Account > Reset your password, https://help.example.com/account)") {
			t.Fatalf("%s: answer %q", c.name, r.Answer)
		}
	}
	// Front matter wins over the base URL.
	e, _ := NewEngine(Config{Retriever: ix, Extract: ix.Extract})
	r, err := e.Answer(context.Background(), Request{Platform: "test", Text: "when are refunds issued?"})
	if err != nil || len(r.Sources) == 0 || r.Sources[0].URL != "https://shop.example.com/billing" {
		t.Fatalf("refund answer %+v, %v", r, err)
	}
}
