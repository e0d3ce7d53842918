package rag

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/apperr"
)

func TestPutUploadReplacesByNameAndSurvivesPrune(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t, openStore(t, t.TempDir()), newTestEmbedder(), Options{})

	doc, err := ix.PutUpload(ctx, `C:\Users\me\Desktop\warranty.md`, []byte("# Warranty\n\nEvery kettle has a two year warranty.\n"))
	if err != nil {
		t.Fatal(err)
	}
	if doc.Path != "upload:warranty.md" || doc.Source != "warranty.md" || doc.Chunks != 1 {
		t.Fatalf("uploaded %+v", doc)
	}
	again, err := ix.PutUpload(ctx, "warranty.md", []byte("# Warranty\n\nEvery kettle has a two year warranty.\n"))
	if err != nil || again.ID != doc.ID || !again.UpdatedAt.Equal(doc.UpdatedAt) {
		t.Fatalf("unchanged upload rewrote the document: %+v, %v", again, err)
	}
	if _, err := ix.PutUpload(ctx, "warranty.md", []byte("# Warranty\n\nEvery kettle has a five year warranty.\n")); err != nil {
		t.Fatal(err)
	}
	ps, err := ix.Search(ctx, "kettle warranty years", 5)
	if err != nil || len(ps) != 1 || !strings.Contains(ps[0].Text, "five year") || ps[0].Source != "warranty.md#warranty" {
		t.Fatalf("search after replacing the upload: %+v, %v", ps, err)
	}

	// --prune removes documents whose files are gone; an upload has none.
	if _, err := ix.Ingest(ctx, []string{writeDocs(t, map[string]string{"a.md": "# A\n\nalpha text\n"})}, IngestOptions{Prune: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.st.DocumentByPath("upload:warranty.md"); err != nil {
		t.Fatalf("prune removed the upload: %v", err)
	}

	for name, data := range map[string]string{"photo.png": "x", "manual.pdf": "%PDF", "empty.md": "   \n", "bin.txt": "a\x00b", "../": "x"} {
		_, err := ix.PutUpload(ctx, name, []byte(data))
		if _, ok := apperr.As(err); !ok {
			t.Errorf("upload %q: %v, want a clear client error", name, err)
		}
	}
}

func TestReingestReadsTheFileAgain(t *testing.T) {
	ctx := context.Background()
	ix := openIndex(t, openStore(t, t.TempDir()), newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{"guide/setup.md": "# Setup\n\nPlug the router in.\n"})
	if _, err := ix.Ingest(ctx, []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	docs, err := ix.st.Documents()
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents %v %v", docs, err)
	}
	path := filepath.Join(dir, "guide", "setup.md")
	if err := os.WriteFile(path, []byte("# Setup\n\nPlug the router in and press reset.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	doc, err := ix.Reingest(ctx, docs[0].ID, Access{})
	if err != nil || doc.ID != docs[0].ID || doc.Source != "docs/guide/setup.md" {
		t.Fatalf("reingest: %+v, %v", doc, err)
	}
	ps, _ := ix.Search(ctx, "press reset router", 1)
	if len(ps) != 1 || !strings.Contains(ps[0].Text, "press reset") || ps[0].Source != "docs/guide/setup.md#setup" {
		t.Fatalf("search after reingest: %+v", ps)
	}

	upload, err := ix.PutUpload(ctx, "faq.txt", []byte("Opening hours are nine to five."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Reingest(ctx, upload.ID, Access{}); err == nil || !strings.Contains(err.Error(), "upload it again") {
		t.Fatalf("reingest of an upload: %v", err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Reingest(ctx, doc.ID, Access{}); err == nil || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("reingest of a deleted file: %v", err)
	}
}
