package store

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func openConversationStore(t *testing.T) *Store {
	t.Helper()
	clock := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	s, err := Open(t.TempDir(), Options{NoSync: true, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		s.Close()
	})
	return s
}

func TestConversationNotFound(t *testing.T) {
	s := openConversationStore(t)
	_, err := s.Conversation(ConvRef{Platform: "freshchat", ConversationID: "c1"})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}

func TestAppendTurnsKeepsOrderAndClock(t *testing.T) {
	s := openConversationStore(t)
	if _, err := s.AppendTurns(ConvRef{Platform: "freshchat", ConversationID: "c1"}, 100, 0,
		Turn{Role: RoleUser, Text: "hi", Tokens: 1},
		Turn{Role: RoleAssistant, Text: "hello", ResponseType: "general", Tokens: 2}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conversation(ConvRef{Platform: "freshchat", ConversationID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)
	if len(c.Turns) != 2 || c.Turns[0].Text != "hi" || c.Turns[1].Text != "hello" ||
		c.Turns[1].ResponseType != "general" || !c.Turns[0].At.Equal(want) || c.TotalTurns != 2 ||
		c.Platform != "freshchat" || c.ConversationID != "c1" {
		t.Fatalf("conversation = %+v", c)
	}
}

func TestAppendTurnsBudget(t *testing.T) {
	tests := []struct {
		name     string
		budget   int
		maxTurns int
		tokens   []int
		want     []int // indexes of kept turns
	}{
		{"all fit", 10, 0, []int{2, 3, 4}, []int{0, 1, 2}},
		{"exact fit", 9, 0, []int{2, 3, 4}, []int{0, 1, 2}},
		{"oldest dropped", 8, 0, []int{2, 3, 4}, []int{1, 2}},
		{"newest kept though over budget", 1, 0, []int{2, 3, 4}, []int{2}},
		{"turn cap", 0, 2, []int{1, 1, 1}, []int{1, 2}},
		{"both limits", 5, 3, []int{1, 1, 1, 1}, []int{1, 2, 3}},
		{"no limits", 0, 0, []int{5, 5}, []int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openConversationStore(t)
			var c Conversation
			var err error
			for i, n := range tt.tokens {
				c, err = s.AppendTurns(ConvRef{Platform: "p", ConversationID: "c"}, tt.budget, tt.maxTurns, Turn{Role: RoleUser, Text: fmt.Sprint(i), Tokens: n})
				if err != nil {
					t.Fatal(err)
				}
			}
			var got []int
			for _, turn := range c.Turns {
				var i int
				fmt.Sscan(turn.Text, &i)
				got = append(got, i)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("kept %v, want %v", got, tt.want)
			}
			if c.TotalTurns != len(tt.tokens) {
				t.Fatalf("total = %d, want %d", c.TotalTurns, len(tt.tokens))
			}
		})
	}
}

// Keys are length-prefixed: ("ab", "c") and ("a", "bc") are different
// conversations, whatever bytes the ids hold.
func TestConversationKeysDoNotCollide(t *testing.T) {
	s := openConversationStore(t)
	pairs := [][2]string{{"ab", "c"}, {"a", "bc"}, {"a\x00", "b"}, {"a", "\x00b"}, {"", "abc"}}
	for i, p := range pairs {
		if _, err := s.AppendTurns(ConvRef{Platform: p[0], ConversationID: p[1]}, 0, 0, Turn{Role: RoleUser, Text: fmt.Sprint(i), Tokens: 1}); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pairs {
		c, err := s.Conversation(ConvRef{Platform: p[0], ConversationID: p[1]})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Turns) != 1 || c.Turns[0].Text != fmt.Sprint(i) {
			t.Fatalf("%q: turns %+v", p, c.Turns)
		}
	}
}

func TestDeleteConversation(t *testing.T) {
	s := openConversationStore(t)
	if _, err := s.AppendTurns(ConvRef{Platform: "p", ConversationID: "c"}, 0, 0, Turn{Role: RoleUser, Text: "x", Tokens: 1}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConversation(ConvRef{Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Conversation(ConvRef{Platform: "p", ConversationID: "c"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	if err := s.DeleteConversation(ConvRef{Platform: "p", ConversationID: "c"}); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}

func TestAppendTurnsRequiresTurns(t *testing.T) {
	s := openConversationStore(t)
	if _, err := s.AppendTurns(ConvRef{Platform: "p", ConversationID: "c"}, 0, 0); err == nil {
		t.Fatal("no error for zero turns")
	}
}
