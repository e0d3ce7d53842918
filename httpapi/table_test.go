package httpapi

import (
	"strconv"
	"testing"
	"time"
)

type seen struct {
	n    int
	last time.Time
}

func (s *seen) old(now time.Time) bool { return now.Sub(s.last) > time.Hour }

// Update creates and keeps or drops, View sees without creating, Delete
// and DeleteFunc drop.
func TestTableUpdateViewDelete(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	tb := NewTable[string, seen](10, clock.Now, (*seen).old)
	count := func(key string) {
		tb.Update(key, func(s *seen, now time.Time) bool { s.n++; s.last = now; return true })
	}
	count("a")
	count("a")
	count("b")
	n := 0
	if !tb.View("a", func(s *seen, _ time.Time) bool { n = s.n; return true }) || n != 2 {
		t.Fatalf("View(a): n=%d, want 2", n)
	}
	if tb.View("missing", func(*seen, time.Time) bool { t.Fatal("f ran for a missing key"); return true }) || tb.Len() != 2 {
		t.Fatalf("View of a missing key created it: Len %d", tb.Len())
	}
	tb.Update("b", func(*seen, time.Time) bool { return false })
	tb.View("a", func(*seen, time.Time) bool { return false })
	if tb.Len() != 0 {
		t.Fatalf("Len %d after both were dropped", tb.Len())
	}
	count("x1")
	count("x2")
	count("y")
	tb.Delete("y")
	tb.DeleteFunc(func(k string) bool { return k[0] == 'x' })
	if tb.Len() != 0 {
		t.Fatalf("Len %d after Delete and DeleteFunc", tb.Len())
	}
}

// When full, stale entries go first; with none stale, arbitrary ones down
// to nine tenths; the bound holds throughout.
func TestTableEvictsStaleFirst(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	tb := NewTable[string, seen](10, clock.Now, (*seen).old)
	touch := func(k string) { tb.Update(k, func(s *seen, now time.Time) bool { s.last = now; return true }) }
	for i := range 9 {
		touch("old" + strconv.Itoa(i))
	}
	clock.Add(2 * time.Hour)
	touch("fresh")
	touch("new") // full: the nine stale go
	if tb.Len() != 2 || !tb.View("fresh", func(*seen, time.Time) bool { return true }) {
		t.Fatalf("Len %d, want fresh and new", tb.Len())
	}
	for i := range 8 {
		touch("k" + strconv.Itoa(i))
	}
	touch("one more") // full, nothing stale: down to 8, then this one
	if n := tb.Len(); n != 9 {
		t.Fatalf("Len %d after evicting to nine tenths, want 9", n)
	}
}
