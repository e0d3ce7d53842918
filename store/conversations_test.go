package store

import (
	"errors"
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"
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

// Every kind of scope keys its own conversations: a config, a widget with
// the same number, and a provider-only (fallback) scope whose name holds the
// bytes of the others' tags never share a memory or a transcript.
func TestConvRefKeysDoNotCollide(t *testing.T) {
	s := openConversationStore(t)
	refs := []ConvRef{
		{ConfigID: 1, ConversationID: "c"},
		{WidgetID: 1, ConversationID: "c"},
		{ConfigID: 2, ConversationID: "c"},
		{ConfigID: 1, ConversationID: "c\x00"},
		{Platform: "zendesk", ConversationID: "c"},
		{Platform: "c\x00\x00\x00\x00\x00\x00\x00\x01", ConversationID: "c"},
		{Platform: "", ConversationID: "\x01c"},
		{Platform: "\x01", ConversationID: "c"},
		{ConfigID: 1, Platform: "zendesk", ConversationID: "d"}, // the platform is not part of a config's key
	}
	for i, r := range refs {
		if _, err := s.AppendTurns(r, 0, 0, Turn{Role: RoleUser, Text: fmt.Sprint(i), Tokens: 1}); err != nil {
			t.Fatal(err)
		}
		if err := s.update(func(tx *bolt.Tx) error {
			m := &Message{Type: MessageIncoming, ConfigID: r.ConfigID, WidgetID: r.WidgetID, Platform: r.Platform, ConversationID: r.ConversationID, Text: fmt.Sprint(i)}
			return insertMessageTx(tx, m, s.now())
		}); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range refs {
		c, err := s.Conversation(r)
		if err != nil || len(c.Turns) != 1 || c.Turns[0].Text != fmt.Sprint(i) {
			t.Fatalf("%s: %+v, %v", r, c.Turns, err)
		}
		msgs, err := s.ConversationMessages(r, 10)
		if err != nil || len(msgs) != 1 || msgs[0].Text != fmt.Sprint(i) {
			t.Fatalf("messages of %s: %+v, %v", r, msgs, err)
		}
	}
	if c, err := s.Conversation(ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "d"}); err != nil || c.Turns[0].Text != "8" {
		t.Fatalf("a config's conversation changed with the platform name: %+v, %v", c, err)
	}
}
