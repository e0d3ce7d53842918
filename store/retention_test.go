package store

import (
	"sync"
	"testing"
	"time"
)

func TestRedactBeforeRemovesOldTextsAndKeepsCounts(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := openTest(t, Options{Now: clock})
	seedUser(t, s, "user-old", "conv-old", "12 Elm Street")
	mu.Lock()
	now = now.Add(100 * 24 * time.Hour)
	mu.Unlock()
	seedUser(t, s, "user-new", "conv-new", "7 Oak Road")

	rep, err := s.RedactBefore(clock().Add(-90 * 24 * time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := RetentionReport{Messages: 4, Turns: 1, Feedback: 1, GapQuestions: 1}
	if rep != want {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	if got := traces(t, s, "Elm Street"); len(got) != 0 {
		t.Fatalf("old text left in: %v", got)
	}
	if got := traces(t, s, "Oak Road"); len(got) == 0 {
		t.Fatal("the recent conversation's text is gone too")
	}
	msgs, total, err := s.ListMessages(MessageFilter{}, 0, 100)
	if err != nil || total != 8 || len(msgs) != 8 {
		t.Fatalf("messages: %d of %d, %v; want all 8 kept", len(msgs), total, err)
	}
	old := msgs[len(msgs)-1]
	if old.Text != "" || old.UserID != "user-old" || old.Type != MessageIncoming {
		t.Fatalf("the oldest message after the sweep: %+v, want its record without text", old)
	}
	day := Day(clock().Add(-100 * 24 * time.Hour))
	days, err := s.OutcomeDays(clock().Add(-100*24*time.Hour), clock(), Scope{}, clock(), DefaultQuietPeriod)
	if err != nil || days[day].Conversations != 1 || days[day].RatedNot != 1 {
		t.Fatalf("the old day's counts: %+v, %v; want kept", days[day], err)
	}
	if again, err := s.RedactBefore(clock().Add(-90 * 24 * time.Hour)); err != nil || again != (RetentionReport{}) {
		t.Fatalf("a second sweep: %+v, %v; want nothing", again, err)
	}
}
