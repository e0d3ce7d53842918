package store

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var testInfo = IndexInfo{Provider: "builtin", Model: "hash-v1", Dimension: 3}

func chunks(texts ...string) []Chunk {
	var out []Chunk
	for i, t := range texts {
		out = append(out, Chunk{Title: "T", Heading: "H", Source: "a.md#h", Text: t, Terms: t, Vector: []float32{float32(i), 1, 0}})
	}
	return out
}

func allChunks(t *testing.T, s *Store) []Chunk {
	t.Helper()
	var out []Chunk
	if err := s.EachChunk(func(c Chunk) error { out = append(out, c); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPutDocumentReplacesChunks(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	if _, err := s.KnowledgeIndexInfo(); !errors.Is(err, ErrNotFound) {
		t.Fatalf("info of empty store: %v", err)
	}
	d, err := s.PutDocument(testInfo, Document{Path: "/docs/a.md", Title: "A", Hash: "h1", Size: 10}, chunks("one", "two", "three"))
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != 1 || d.Chunks != 3 || !d.CreatedAt.Equal(now) {
		t.Fatalf("doc = %+v", d)
	}
	if info, err := s.KnowledgeIndexInfo(); err != nil || info != testInfo {
		t.Fatalf("info = %+v, %v", info, err)
	}
	d2, err := s.PutDocument(testInfo, Document{Path: "/docs/b.md", Title: "B", Hash: "h2"}, chunks("four"))
	if err != nil || d2.ID != 2 {
		t.Fatalf("second doc = %+v, %v", d2, err)
	}
	// Re-put a with two chunks: same id, old third chunk gone.
	now = now.Add(time.Hour)
	d, err = s.PutDocument(testInfo, Document{Path: "/docs/a.md", Title: "A2", Hash: "h3"}, chunks("uno", "dos"))
	if err != nil || d.ID != 1 || !d.UpdatedAt.Equal(now) || d.CreatedAt.Equal(now) {
		t.Fatalf("re-put = %+v, %v", d, err)
	}
	got := allChunks(t, s)
	var texts []string
	for _, c := range got {
		texts = append(texts, c.Text)
	}
	if want := []string{"uno", "dos", "four"}; !reflect.DeepEqual(texts, want) {
		t.Fatalf("chunks = %v, want %v", texts, want)
	}
	if got[1].DocID != 1 || got[1].Seq != 1 || !reflect.DeepEqual(got[1].Vector, []float32{1, 1, 0}) {
		t.Fatalf("chunk = %+v", got[1])
	}
	docs, err := s.Documents()
	if err != nil || len(docs) != 2 || docs[0].Title != "A2" || docs[1].Path != "/docs/b.md" {
		t.Fatalf("documents = %+v, %v", docs, err)
	}
	if byPath, err := s.DocumentByPath("/docs/b.md"); err != nil || byPath.ID != 2 {
		t.Fatalf("by path = %+v, %v", byPath, err)
	}
	if err := s.DeleteDocument(1); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteDocument(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := s.DocumentByPath("/docs/a.md"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted by path: %v", err)
	}
	if _, err := s.Document(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted by id: %v", err)
	}
	if n := len(allChunks(t, s)); n != 1 {
		t.Fatalf("%d chunks left, want 1", n)
	}
}

func TestPutDocumentRefusesAnotherEmbedder(t *testing.T) {
	s := openTest(t, Options{})
	if _, err := s.PutDocument(testInfo, Document{Path: "a"}, chunks("x")); err != nil {
		t.Fatal(err)
	}
	other := IndexInfo{Provider: "ollama", Model: "nomic-embed-text", Dimension: 3}
	_, err := s.PutDocument(other, Document{Path: "b"}, chunks("y"))
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("other embedder: %v, want ErrConflict", err)
	}
	// A vector of the wrong dimension never reaches the store.
	bad := chunks("z")
	bad[0].Vector = []float32{1, 2}
	if _, err := s.PutDocument(testInfo, Document{Path: "c"}, bad); err == nil {
		t.Fatal("vector of 2 dimensions accepted by a 3-dimension index")
	}
	if n := len(allChunks(t, s)); n != 1 {
		t.Fatalf("%d chunks, want 1", n)
	}
	// Reset empties everything and records the new embedder.
	if err := s.ResetKnowledge(other); err != nil {
		t.Fatal(err)
	}
	if docs, _ := s.Documents(); len(docs) != 0 {
		t.Fatalf("documents after reset: %v", docs)
	}
	if _, err := s.PutDocument(other, Document{Path: "b"}, chunks("y")); err != nil {
		t.Fatalf("put after reset: %v", err)
	}
	if info, _ := s.KnowledgeIndexInfo(); info != other {
		t.Fatalf("info = %+v", info)
	}
}

func TestPutDocumentEmptyPath(t *testing.T) {
	s := openTest(t, Options{})
	if _, err := s.PutDocument(testInfo, Document{}, chunks("x")); err == nil {
		t.Fatal("empty path accepted")
	}
}

func TestVectorEncoding(t *testing.T) {
	v := []float32{0, -1.5, 3.25e-7, 1}
	got, err := decodeVector(encodeVector(v))
	if err != nil || !reflect.DeepEqual(got, v) {
		t.Fatalf("round trip = %v, %v", got, err)
	}
	for _, b := range [][]byte{nil, {1, 2, 3}} {
		if _, err := decodeVector(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decode %v: %v", b, err)
		}
	}
}

// A batch is stored whole or not at all: a bad second document leaves no
// trace of the first (what a crash mid-ingest can leave is the same: the
// last committed transaction, never part of one).
func TestPutDocumentsAllOrNothing(t *testing.T) {
	s := openTest(t, Options{})
	bad := chunks("b")
	bad[0].Vector = []float32{1}
	_, err := s.PutDocuments(testInfo, []DocumentChunks{
		{Doc: Document{Path: "a"}, Chunks: chunks("a1", "a2")},
		{Doc: Document{Path: "b"}, Chunks: bad},
	})
	if err == nil {
		t.Fatal("bad batch accepted")
	}
	if docs, _ := s.Documents(); len(docs) != 0 {
		t.Fatalf("documents after a failed batch: %+v", docs)
	}
	if n := len(allChunks(t, s)); n != 0 {
		t.Fatalf("%d chunks after a failed batch", n)
	}
	// A conflict inside the transaction (another embedder) also rolls back.
	if _, err := s.PutDocument(testInfo, Document{Path: "x"}, chunks("x")); err != nil {
		t.Fatal(err)
	}
	other := IndexInfo{Provider: "ollama", Model: "m", Dimension: 3}
	if _, err := s.PutDocuments(other, []DocumentChunks{{Doc: Document{Path: "y"}, Chunks: chunks("y")}}); !errors.Is(err, ErrConflict) {
		t.Fatalf("err = %v", err)
	}
	docs, _ := s.Documents()
	if len(docs) != 1 || docs[0].Path != "x" {
		t.Fatalf("documents = %+v", docs)
	}
	got, err := s.PutDocuments(testInfo, []DocumentChunks{{Doc: Document{Path: "p"}, Chunks: chunks("p")}, {Doc: Document{Path: "q"}, Chunks: chunks("q1", "q2")}})
	if err != nil || len(got) != 2 || got[0].ID != 2 || got[1].ID != 3 || got[1].Chunks != 2 {
		t.Fatalf("batch = %+v, %v", got, err)
	}
}
