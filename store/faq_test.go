package store

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
)

func TestFAQLifecycle(t *testing.T) {
	clock := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	s := openTestStore(t, func() time.Time { return clock })

	f := FAQ{Question: "  How do I reset my password? ", Alternatives: []string{"forgot my password", "", "FORGOT my  password", "how do i reset my password"},
		Answer: "Open Settings, then Security.\r\nChoose *Reset*."}
	if err := s.CreateFAQ(&f); err != nil {
		t.Fatal(err)
	}
	want := FAQ{ID: 1, Question: "How do I reset my password?", Alternatives: []string{"forgot my password"},
		Answer: "Open Settings, then Security.\nChoose *Reset*.", CreatedAt: clock, UpdatedAt: clock}
	if !faqEqual(f, want) {
		t.Fatalf("created %+v, want %+v", f, want)
	}
	got, err := s.FAQ(1)
	if err != nil || !faqEqual(got, want) {
		t.Fatalf("FAQ(1) = %+v, %v", got, err)
	}

	// The same question in other case and spacing is a conflict naming the pair.
	dup := FAQ{Question: "how do i reset my   password", Answer: "x"}
	err = s.CreateFAQ(&dup)
	if !errors.Is(err, ErrConflict) || apperr.CodeOf(err) != apperr.Conflict {
		t.Fatalf("duplicate question: %v", err)
	}
	if e, _ := apperr.As(err); e.Field != "question" || !strings.Contains(e.Message, "curated answer 1") {
		t.Fatalf("duplicate question error = %+v", e)
	}

	clock = clock.Add(time.Hour)
	up, err := s.UpdateFAQ(1, func(f *FAQ) error { f.Question = "How can I reset my password?"; f.Answer = "New answer."; return nil })
	if err != nil || up.Question != "How can I reset my password?" || up.Answer != "New answer." || !up.UpdatedAt.Equal(clock) || !up.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("update = %+v, %v", up, err)
	}
	// The old question is free again; the new one is taken.
	if err := s.CreateFAQ(&FAQ{Question: "How do I reset my password?", Answer: "second"}); err != nil {
		t.Fatalf("old question after rename: %v", err)
	}
	if _, err := s.UpdateFAQ(2, func(f *FAQ) error { f.Question = "how can I reset my password"; return nil }); !errors.Is(err, ErrConflict) {
		t.Fatalf("rename onto a taken question: %v", err)
	}
	// An invalid update changes nothing.
	if _, err := s.UpdateFAQ(1, func(f *FAQ) error { f.Answer = " "; return nil }); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("blank answer on update: %v", err)
	}
	if got, _ := s.FAQ(1); got.Answer != "New answer." {
		t.Fatalf("answer after a refused update = %q", got.Answer)
	}

	list, err := s.FAQs()
	if err != nil || len(list) != 2 || list[0].ID != 1 || list[1].ID != 2 {
		t.Fatalf("FAQs = %+v, %v", list, err)
	}
	if err := s.DeleteFAQ(1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FAQ(1); !errors.Is(err, ErrNotFound) || apperr.CodeOf(err) != apperr.NotFound {
		t.Fatalf("FAQ after delete: %v", err)
	}
	if err := s.DeleteFAQ(1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if _, err := s.UpdateFAQ(99, func(*FAQ) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update unknown: %v", err)
	}
	// The deleted pair's question can be curated again.
	if err := s.CreateFAQ(&FAQ{Question: "how can i reset my password?", Answer: "again"}); err != nil {
		t.Fatalf("question of a deleted pair: %v", err)
	}
}

func TestFAQValidation(t *testing.T) {
	s := openTestStore(t, nil)
	long := func(n int) string { return strings.Repeat("é", n) }
	for _, tc := range []struct {
		name  string
		f     FAQ
		field string
	}{
		{"blank question", FAQ{Question: " \n ", Answer: "a"}, "question"},
		{"question too long", FAQ{Question: long(501), Answer: "a"}, "question"},
		{"question with a newline", FAQ{Question: "two\nlines", Answer: "a"}, "question"},
		{"question with a control char", FAQ{Question: "bell\a", Answer: "a"}, "question"},
		{"invalid UTF-8", FAQ{Question: "bad \xff", Answer: "a"}, "question"},
		{"blank answer", FAQ{Question: "q"}, "answer"},
		{"answer too long", FAQ{Question: "q", Answer: long(4001)}, "answer"},
		{"answer with a NUL", FAQ{Question: "q", Answer: "a\x00b"}, "answer"},
		{"answer with a tab", FAQ{Question: "q", Answer: "a\tb"}, "answer"},
		{"alternative too long", FAQ{Question: "q", Answer: "a", Alternatives: []string{"ok", long(501)}}, "alternatives[1]"},
		{"too many alternatives", FAQ{Question: "q", Answer: "a", Alternatives: manyAlternatives(21)}, "alternatives"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			err := s.CreateFAQ(&f)
			e, ok := apperr.As(err)
			if !ok || e.Code != apperr.Invalid || e.Field != tc.field {
				t.Fatalf("CreateFAQ = %v (%+v), want Invalid on %q", err, e, tc.field)
			}
		})
	}
	// The limits themselves are allowed, and nothing refused was stored.
	ok := FAQ{Question: long(500), Answer: long(4000), Alternatives: []string{"a" + long(499)}}
	if err := s.CreateFAQ(&ok); err != nil {
		t.Fatalf("at the limits: %v", err)
	}
	if list, _ := s.FAQs(); len(list) != 1 || list[0].ID != 1 {
		t.Fatalf("stored after refusals: %+v", list)
	}
}

func TestFAQImport(t *testing.T) {
	s := openTestStore(t, nil)
	if err := s.CreateFAQ(&FAQ{Question: "Do you ship to Canada?", Answer: "No.", Alternatives: []string{"canada delivery"}}); err != nil {
		t.Fatal(err)
	}
	in := []FAQ{
		{Question: "do you ship to canada", Answer: "Not yet; we plan to from June."},
		{Question: "What are your opening hours?", Answer: "9 to 5, Monday to Friday."},
		{Question: "Can I pay with PayPal?", Answer: "Yes.", Alternatives: []string{"paypal"}},
	}
	res, err := s.ImportFAQs(in)
	if err != nil || res != (FAQImport{Added: 2, Updated: 1}) {
		t.Fatalf("import = %+v, %v", res, err)
	}
	f, _ := s.FAQ(1)
	if f.Question != "do you ship to canada" || f.Answer != "Not yet; we plan to from June." || len(f.Alternatives) != 1 || f.Alternatives[0] != "canada delivery" {
		t.Fatalf("updated pair = %+v", f)
	}
	// The same file again changes nothing.
	if res, err = s.ImportFAQs(in); err != nil || res != (FAQImport{Unchanged: 3}) {
		t.Fatalf("second import = %+v, %v", res, err)
	}
	// One bad pair refuses the whole import, naming its position.
	bad := []FAQ{{Question: "New one", Answer: "fine"}, {Question: "Broken", Answer: ""}}
	_, err = s.ImportFAQs(bad)
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Invalid || e.Field != "faqs[1].answer" || !strings.HasPrefix(e.Message, "pair 2: ") {
		t.Fatalf("bad import = %v", err)
	}
	if list, _ := s.FAQs(); len(list) != 3 {
		t.Fatalf("after a refused import: %d pairs, want 3", len(list))
	}
}

// TestFAQInBackup checks that a snapshot carries the curated answers: the
// backup copies the whole file, and this pins it for the new buckets.
func TestFAQInBackup(t *testing.T) {
	s := openTestStore(t, nil)
	if err := s.CreateFAQ(&FAQ{Question: "Where is my parcel?", Answer: "Track it at /track."}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := s.WriteSnapshot(&buf, nil); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "restored")
	if err := PrepareDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := ExtractSnapshot(&buf, dir); err != nil {
		t.Fatal(err)
	}
	r, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	list, err := r.FAQs()
	if err != nil || len(list) != 1 || list[0].Question != "Where is my parcel?" || list[0].Answer != "Track it at /track." {
		t.Fatalf("restored FAQs = %+v, %v", list, err)
	}
	// The question index came along: the question is still taken.
	if err := r.CreateFAQ(&FAQ{Question: "where is my parcel", Answer: "x"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("question after restore: %v", err)
	}
}

func faqEqual(a, b FAQ) bool {
	if a.ID != b.ID || a.Question != b.Question || a.Answer != b.Answer || !a.CreatedAt.Equal(b.CreatedAt) || !a.UpdatedAt.Equal(b.UpdatedAt) || len(a.Alternatives) != len(b.Alternatives) {
		return false
	}
	for i := range a.Alternatives {
		if a.Alternatives[i] != b.Alternatives[i] {
			return false
		}
	}
	return true
}

func manyAlternatives(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("phrasing %d", i)
	}
	return out
}
