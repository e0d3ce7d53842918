package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// liveChatClock is a settable clock for the live-chat store tests.
type liveChatClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *liveChatClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *liveChatClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openLiveChatStore(t *testing.T) (*Store, *liveChatClock) {
	t.Helper()
	clock := &liveChatClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir(), Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		s.Close()
	})
	return s, clock
}

func TestCreateLiveChatOnePerConversation(t *testing.T) {
	s, _ := openLiveChatStore(t)
	first, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "freshchat", ConversationID: "conv_1", UserID: "u1", State: LiveChatClosed})
	if err != nil {
		t.Fatal(err)
	}
	if first.State != LiveChatWaiting {
		t.Fatalf("state = %q, want waiting (CreateLiveChat ignores the given state)", first.State)
	}
	want := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	if !first.CreatedAt.Equal(want) || !first.UpdatedAt.Equal(want) {
		t.Fatalf("timestamps = %v/%v, want %v", first.CreatedAt, first.UpdatedAt, want)
	}

	cur, err := s.CreateLiveChat(&LiveChatSession{ID: "live_b", Platform: "freshchat", ConversationID: "conv_1"})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second open session: err = %v, want ErrConflict", err)
	}
	if cur == nil || cur.ID != "live_a" {
		t.Fatalf("conflict returned %+v, want the open session live_a", cur)
	}
	if _, err := s.LiveChat("live_b"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("live_b stored despite the conflict: %v", err)
	}

	// Another conversation, or the same conversation id on another platform, is independent.
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_c", Platform: "zendesk", ConversationID: "conv_1"}); err != nil {
		t.Fatal(err)
	}
	// A duplicate id is refused.
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "x", ConversationID: "y"}); !errors.Is(err, ErrConflict) {
		t.Fatalf("duplicate id: err = %v, want ErrConflict", err)
	}
}

func TestUpdateLiveChatLifecycle(t *testing.T) {
	s, clock := openLiveChatStore(t)
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Minute)
	l, err := s.UpdateLiveChat("live_a", func(l *LiveChatSession) error {
		l.State, l.Agent = LiveChatActive, "Sarah"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if l.State != LiveChatActive || l.Agent != "Sarah" || !l.UpdatedAt.Equal(clock.Now()) {
		t.Fatalf("after accept: %+v", l)
	}
	open, err := s.OpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"})
	if err != nil || open.ID != "live_a" {
		t.Fatalf("OpenLiveChat = %+v, %v", open, err)
	}

	if _, err := s.UpdateLiveChat("live_a", func(l *LiveChatSession) error { l.State = LiveChatClosed; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("closed session still open: %v", err)
	}
	// Closed is final.
	if _, err := s.UpdateLiveChat("live_a", func(l *LiveChatSession) error { l.State = LiveChatActive; return nil }); !errors.Is(err, ErrConflict) {
		t.Fatalf("reopen: err = %v, want ErrConflict", err)
	}
	// The conversation may open a new session now.
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_b", Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatal(err)
	}
	// An error from change aborts the update.
	sentinel := errors.New("no")
	if _, err := s.UpdateLiveChat("live_b", func(l *LiveChatSession) error { l.Agent = "X"; return sentinel }); !errors.Is(err, sentinel) {
		t.Fatalf("err = %v, want the change's error", err)
	}
	if l, _ := s.LiveChat("live_b"); l.Agent != "" {
		t.Fatalf("aborted change was stored: %+v", l)
	}
	if _, err := s.UpdateLiveChat("live_missing", func(*LiveChatSession) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown id: err = %v, want ErrNotFound", err)
	}
}

func TestUpdateOpenLiveChat(t *testing.T) {
	s, _ := openLiveChatStore(t)
	inc := func(l *LiveChatSession) error { l.UserMessages++; return nil }
	if _, err := s.UpdateOpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"}, inc); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no session: err = %v, want ErrNotFound", err)
	}
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.UpdateOpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"}, inc)
	if err != nil || l.UserMessages != 1 || l.ID != "live_a" {
		t.Fatalf("got %+v, %v", l, err)
	}
	if _, err := s.UpdateOpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"}, func(l *LiveChatSession) error { l.State = LiveChatClosed; return nil }); !errors.Is(err, ErrConflict) {
		t.Fatalf("closing through UpdateOpenLiveChat: err = %v, want ErrConflict", err)
	}
}

// TestAcceptLiveChatConcurrently: of many concurrent accepts of one waiting
// session exactly one sees it waiting.
func TestAcceptLiveChatConcurrently(t *testing.T) {
	s, _ := openLiveChatStore(t)
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatal(err)
	}
	const n = 16
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.UpdateLiveChat("live_a", func(l *LiveChatSession) error {
				if l.State != LiveChatWaiting {
					return fmt.Errorf("taken by %s: %w", l.Agent, ErrConflict)
				}
				l.State, l.Agent = LiveChatActive, fmt.Sprintf("agent%d", i)
				return nil
			})
		})
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won >= 0:
			t.Fatalf("agents %d and %d both won", won, i)
		case err == nil:
			won = i
		case !errors.Is(err, ErrConflict):
			t.Fatalf("agent %d: %v", i, err)
		}
	}
	l, _ := s.LiveChat("live_a")
	if won < 0 || l.Agent != fmt.Sprintf("agent%d", won) {
		t.Fatalf("winner %d, stored agent %q", won, l.Agent)
	}
}

func TestLiveChatsByState(t *testing.T) {
	s, clock := openLiveChatStore(t)
	for i, id := range []string{"live_a", "live_b", "live_c"} {
		if _, err := s.CreateLiveChat(&LiveChatSession{ID: id, Platform: "p", ConversationID: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
		clock.Add(time.Second)
	}
	if _, err := s.UpdateLiveChat("live_b", func(l *LiveChatSession) error { l.State = LiveChatActive; return nil }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		state string
		want  []string
	}{
		{"", []string{"live_c", "live_b", "live_a"}},
		{LiveChatWaiting, []string{"live_c", "live_a"}},
		{LiveChatActive, []string{"live_b"}},
		{LiveChatClosed, []string{}},
	}
	for _, tt := range tests {
		list, err := s.LiveChats(tt.state)
		if err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, l := range list {
			got = append(got, l.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("LiveChats(%q) = %v, want %v", tt.state, got, tt.want)
		}
	}
}

// TestLiveChatSurvivesReopen: sessions and the open index are on disk.
func TestLiveChatSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", Platform: "p", ConversationID: "c", UserID: "u", Username: "John"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l, err := s.OpenLiveChat(ConvRef{Platform: "p", ConversationID: "c"})
	if err != nil || l.ID != "live_a" || l.Username != "John" || l.State != LiveChatWaiting {
		t.Fatalf("after reopen: %+v, %v", l, err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Sessions of one conversation id through two integrations are two
// sessions, and a session cannot be moved to another integration's
// conversation (the open index would then route that one's users into it).
func TestLiveChatPerIntegration(t *testing.T) {
	s, _ := openLiveChatStore(t)
	a, err := s.CreateLiveChat(&LiveChatSession{ID: "live_a", ConfigID: 1, Platform: "zendesk", ConversationID: "42"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateLiveChat(&LiveChatSession{ID: "live_b", ConfigID: 2, Platform: "zendesk", ConversationID: "42"}); err != nil {
		t.Fatalf("integration 2's conversation 42 is taken by integration 1's session: %v", err)
	}
	for config, want := range map[uint64]string{1: "live_a", 2: "live_b"} {
		if l, err := s.OpenLiveChat(ConvRef{ConfigID: config, ConversationID: "42"}); err != nil || l.ID != want {
			t.Fatalf("config %d: %+v, %v", config, l, err)
		}
	}
	if _, err := s.OpenLiveChat(ConvRef{Platform: "zendesk", ConversationID: "42"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the provider name alone finds a session: %v", err)
	}
	if _, err := s.UpdateLiveChat(a.ID, func(l *LiveChatSession) error { l.ConfigID = 3; return nil }); !errors.Is(err, ErrConflict) {
		t.Fatalf("moving a session to another integration: err = %v, want ErrConflict", err)
	}
	if l, err := s.OpenLiveChat(ConvRef{ConfigID: 3, ConversationID: "42"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("config 3 got a session: %+v, %v", l, err)
	}
}
