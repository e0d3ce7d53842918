package store

import "testing"

// Every write to the knowledge base moves the generation on (count up,
// a new tag); reads do not.
func TestKnowledgeGenerationMovesOnEveryKnowledgeWrite(t *testing.T) {
	s := openTest(t, Options{})
	gen := func() KnowledgeGen {
		t.Helper()
		g, err := s.KnowledgeGeneration()
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	if g := gen(); g != (KnowledgeGen{}) {
		t.Fatalf("new store: generation %+v, want zero", g)
	}
	last := gen()
	step := func(what string, write func() error) {
		t.Helper()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		g := gen()
		if g.Count <= last.Count || g.Tag == last.Tag {
			t.Fatalf("%s: generation %+v after %+v, want it moved on", what, g, last)
		}
		last = g
	}
	var id uint64
	step("put", func() error {
		d, err := s.PutDocument(testInfo, Document{Path: "/a.md"}, chunks("one", "two"))
		id = d.ID
		return err
	})
	step("replace", func() error {
		_, err := s.PutDocument(testInfo, Document{Path: "/a.md"}, chunks("three"))
		return err
	})
	step("rederive", func() error {
		_, err := s.RederiveChunks(testInfo, func(c Chunk) (string, []float32, error) { return c.Terms + " x", c.Vector, nil })
		return err
	})
	step("delete", func() error { return s.DeleteDocument(id) })
	step("reset", func() error { return s.ResetKnowledge(testInfo) })
	if _, err := s.Documents(); err != nil {
		t.Fatal(err)
	}
	if g := gen(); g != last {
		t.Fatalf("a read moved the generation: %+v, was %+v", g, last)
	}
}
