package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

// The memory read from the cache is the stored record's: a change of the
// record (an append, a delete) is seen at once, and a caller changing
// what it got changes neither the cache nor the next reader's copy.
func TestConversationMemoryCacheFollowsTheRecord(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	if _, err := s.AppendTurns(ref, 0, 0, Turn{Role: RoleUser, Text: "first"}); err != nil {
		t.Fatal(err)
	}
	a, err := s.Conversation(ref)
	if err != nil || len(a.Turns) != 1 || a.Turns[0].Text != "first" {
		t.Fatalf("first read = %+v, %v", a.Turns, err)
	}
	a.Turns[0].Text = "changed by a caller"
	b, err := s.Conversation(ref)
	if err != nil || len(b.Turns) != 1 || b.Turns[0].Text != "first" || b.stored != a.stored {
		t.Fatalf("second read = %+v, %v; want the stored turn", b.Turns, err)
	}
	if _, err := s.AppendTurns(ref, 0, 0, Turn{Role: RoleAssistant, Text: "second"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.Conversation(ref)
	if err != nil || len(c.Turns) != 2 || c.Turns[1].Text != "second" || c.TotalTurns != 2 {
		t.Fatalf("read after an append = %+v (total %d), %v", c.Turns, c.TotalTurns, err)
	}
	if err := s.DeleteConversation(ref); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Conversation(ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("read after delete = %+v, %v; want not found", got.Turns, err)
	}
}

// The cache holds at most maxMemos memories.
func TestConversationMemoryCacheIsBounded(t *testing.T) {
	var c memoCache
	for i := range maxMemos + 10 {
		c.put([]byte(fmt.Sprint("k", i)), Conversation{Turns: []Turn{{Text: "x"}}, stored: recordSum{n: i}})
	}
	if len(c.m) != maxMemos {
		t.Fatalf("cache holds %d, want %d", len(c.m), maxMemos)
	}
	if got, ok := c.get([]byte(fmt.Sprint("k", maxMemos+9)), recordSum{n: maxMemos + 9}); !ok || got.Turns[0].Text != "x" {
		t.Fatalf("the newest entry = %+v, %v", got, ok)
	}
	if _, ok := c.get([]byte(fmt.Sprint("k", maxMemos+9)), recordSum{n: 1}); ok {
		t.Fatal("an entry of another record was returned")
	}
}

// Readers and writers of one conversation at once (-race): each read is a
// memory that was stored, never a torn one.
func TestConversationMemoryCacheUnderConcurrency(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	const writes = 50
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range writes {
			if _, err := s.AppendTurns(ref, 0, 0, Turn{Role: RoleUser, Text: fmt.Sprint("t", i)}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for range writes {
				c, err := s.Conversation(ref)
				if errors.Is(err, ErrNotFound) {
					continue
				}
				if err != nil || c.TotalTurns != len(c.Turns) || c.Turns[len(c.Turns)-1].Text != fmt.Sprint("t", c.TotalTurns-1) {
					t.Errorf("read %d turns (total %d), %v", len(c.Turns), c.TotalTurns, err)
					return
				}
				c.Turns[0].Text = "scribbled"
			}
		})
	}
	wg.Wait()
	c, err := s.Conversation(ref)
	if err != nil || len(c.Turns) != writes || c.Turns[0].Text != "t0" {
		t.Fatalf("final memory = %d turns, first %q, %v", len(c.Turns), c.Turns[0].Text, err)
	}
}

// failWrite fails the turn's transaction after the records before it.
type failWrite struct{}

func (failWrite) applyTx(turnTx) error { return errors.New("disk full") }

// A turn whose transaction rolls back after its memory append was cached
// leaves the stored memory, and that is what the next read gets.
func TestConversationMemoryCacheAfterARollback(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	if _, err := s.AppendTurns(ref, 0, 0, Turn{Role: RoleUser, Text: "kept"}); err != nil {
		t.Fatal(err)
	}
	in, err := s.InsertIncoming(&Message{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1", Text: "q"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	mem := MemoryAppend{Ref: ref, Turns: []Turn{{Role: RoleUser, Text: "rolled back"}}}
	if err := s.InsertReply(in.Message.ID, replyMsg("a"), false, mem, failWrite{}); err == nil {
		t.Fatal("the failing turn was stored")
	}
	c, err := s.Conversation(ref)
	if err != nil || len(c.Turns) != 1 || c.Turns[0].Text != "kept" {
		t.Fatalf("memory after the rollback = %+v, %v; want the stored one", c.Turns, err)
	}
}
