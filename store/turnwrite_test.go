package store

import (
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A memory append that starts from the memory the caller read uses it
// while the stored record is unchanged, and decodes the stored one when
// another write came between (a purge blanking texts, a retention pass):
// what it writes always builds on what is stored.
func TestMemoryAppendBuildsOnTheStoredRecord(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	ref := ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: "c1"}
	if _, err := s.AppendTurns(ref, 0, 0, Turn{Role: RoleUser, Text: "first"}); err != nil {
		t.Fatal(err)
	}
	base, err := s.Conversation(ref)
	if err != nil {
		t.Fatal(err)
	}
	write := func(text string, base *Conversation) Conversation {
		t.Helper()
		var c Conversation
		if err := s.update(func(tx *bolt.Tx) (err error) {
			c, err = appendTurnsTx(tx, ref, time.Now(), 0, 0, []Turn{{Role: RoleUser, Text: text}}, base)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	if c := write("second", &base); len(c.Turns) != 2 || c.Turns[0].Text != "first" || c.Turns[1].Text != "second" {
		t.Fatalf("append on the current base = %+v", c.Turns)
	}
	if len(base.Turns) != 1 {
		t.Fatalf("the base was changed in place: %+v", base.Turns)
	}
	// base is stale now (the record holds "second"): the stored record wins.
	stale := base
	stale.Turns = []Turn{{Role: RoleUser, Text: "stale"}}
	if c := write("third", &stale); len(c.Turns) != 3 || c.Turns[1].Text != "second" || c.Turns[2].Text != "third" {
		t.Fatalf("append on a stale base = %+v; want the stored turns and the new one", c.Turns)
	}
	got, err := s.Conversation(ref)
	if err != nil || len(got.Turns) != 3 || got.TotalTurns != 3 {
		t.Fatalf("stored memory = %+v (total %d), %v", got.Turns, got.TotalTurns, err)
	}
}
