package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestSourcesRecordAndDeleteTheirDocuments(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := openTest(t, Options{Now: func() time.Time { return now }})
	if got, err := s.Sources(); err != nil || len(got) != 0 {
		t.Fatalf("sources of a new store = %v, %v", got, err)
	}
	web, err := s.CreateSource(Source{Kind: SourceWebsite, Name: "help", Location: "https://help.example.com/", Every: Duration(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.CreateSource(Source{Kind: SourceFolder, Location: "/kb"})
	if err != nil {
		t.Fatal(err)
	}
	if web.ID != 1 || other.ID != 2 || !web.CreatedAt.Equal(now) {
		t.Fatalf("created %+v, %+v", web, other)
	}
	for i, d := range []Document{
		{Path: "https://help.example.com/a", SourceID: web.ID},
		{Path: "https://help.example.com/b", SourceID: web.ID},
		{Path: "/kb/c.md", SourceID: other.ID},
		{Path: "/loose.md"},
	} {
		if _, err := s.PutDocument(testInfo, d, chunks("text "+d.Path)); err != nil {
			t.Fatalf("doc %d: %v", i, err)
		}
	}
	// A re-ingest without a source keeps the document in its source.
	if d, err := s.PutDocument(testInfo, Document{Path: "/kb/c.md"}, chunks("new")); err != nil || d.SourceID != other.ID {
		t.Fatalf("re-put = %+v, %v", d, err)
	}
	if err := s.PutPageStates(web.ID, []PageState{{URL: "https://help.example.com/a", ETag: `"1"`}, {URL: "https://help.example.com/b", Missing: 1}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPageStates(other.ID, []PageState{{URL: "x"}}, nil); err != nil {
		t.Fatal(err)
	}
	ps, err := s.PageStates(web.ID)
	if err != nil || len(ps) != 2 || ps["https://help.example.com/a"].ETag != `"1"` || ps["https://help.example.com/b"].Missing != 1 {
		t.Fatalf("page states = %+v, %v", ps, err)
	}
	up, err := s.UpdateSource(web.ID, func(src *Source) error { src.LastError = "boom"; src.Documents = 2; return nil })
	if err != nil || up.LastError != "boom" || up.Name != "help" {
		t.Fatalf("update = %+v, %v", up, err)
	}
	removed, err := s.DeleteSource(web.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(removed, []uint64{1, 2}) {
		t.Fatalf("removed %v, want [1 2]", removed)
	}
	docs, _ := s.Documents()
	var paths []string
	for _, d := range docs {
		paths = append(paths, d.Path)
	}
	if !reflect.DeepEqual(paths, []string{"/kb/c.md", "/loose.md"}) {
		t.Fatalf("documents left %v", paths)
	}
	if n := len(allChunks(t, s)); n != 2 {
		t.Fatalf("%d chunks left, want 2", n)
	}
	if ps, _ := s.PageStates(web.ID); len(ps) != 0 {
		t.Fatalf("page states left %v", ps)
	}
	if ps, _ := s.PageStates(other.ID); len(ps) != 1 {
		t.Fatalf("other source's page states %v", ps)
	}
	if _, err := s.Source(web.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted source: %v", err)
	}
	if _, err := s.DeleteSource(web.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

// A document stored before sources existed has no source_id: it reads as
// "no source" and survives the removal of every source.
func TestDocumentWithoutSourceIDReadsAsNone(t *testing.T) {
	s := openTest(t, Options{})
	if err := s.update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDocs).Put(itob(7), []byte(`{"id":7,"path":"/old.md","title":"Old","chunks":0}`)); err != nil {
			return err
		}
		return tx.Bucket(bucketDocPaths).Put([]byte("/old.md"), itob(7))
	}); err != nil {
		t.Fatal(err)
	}
	d, err := s.Document(7)
	if err != nil || d.SourceID != 0 {
		t.Fatalf("old document = %+v, %v", d, err)
	}
	src, _ := s.CreateSource(Source{Kind: SourceUpload})
	if removed, err := s.DeleteSource(src.ID); err != nil || len(removed) != 0 {
		t.Fatalf("delete source = %v, %v", removed, err)
	}
	if _, err := s.Document(7); err != nil {
		t.Fatal(err)
	}
}

func TestDurationJSON(t *testing.T) {
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"6h"`)); err != nil || time.Duration(d) != 6*time.Hour {
		t.Fatalf("6h = %v, %v", d, err)
	}
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Fatal("accepted soon")
	}
	b, _ := Duration(90 * time.Minute).MarshalJSON()
	if string(b) != `"1h30m0s"` {
		t.Fatalf("marshal = %s", b)
	}
}
