package store

import (
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A status change moves the index entries whose combination names the
// status (reindexMessageTx skips the others), and every filter's listing
// and exact total stay right.
func TestStatusChangeMovesOnlyTheStatusCombinations(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	var ids []uint64
	for i, conv := range []string{"c1", "c1", "c2"} {
		m := &Message{Type: MessageOutgoing, Platform: "chatwoot", ConversationID: conv, Text: fmt.Sprint("answer ", i), Status: StatusPending}
		if err := s.update(func(tx *bolt.Tx) error { return insertMessageTx(tx, m, time.Now()) }); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	entries := func() int {
		n := 0
		if err := s.view(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMessageIndex).ForEach(func(_, _ []byte) error { n++; return nil })
		}); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := entries(); got != 3*16 {
		t.Fatalf("index entries = %d, want 48", got)
	}
	if err := s.update(func(tx *bolt.Tx) error {
		_, err := updateMessageTx(tx, ids[0], time.Now(), func(m *Message) error { m.Status = StatusSent; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := entries(); got != 48 {
		t.Fatalf("index entries after a status change = %d, want 48 (moved, never added)", got)
	}
	for _, tc := range []struct {
		f    MessageFilter
		want []uint64
	}{
		{MessageFilter{}, []uint64{ids[2], ids[1], ids[0]}},
		{MessageFilter{Status: StatusSent}, []uint64{ids[0]}},
		{MessageFilter{Status: StatusPending}, []uint64{ids[2], ids[1]}},
		{MessageFilter{Status: StatusPending, ConversationID: "c1"}, []uint64{ids[1]}},
		{MessageFilter{Status: StatusSent, ConversationID: "c1", Platform: "chatwoot", Type: MessageOutgoing}, []uint64{ids[0]}},
		{MessageFilter{Status: StatusSent, ConversationID: "c2"}, nil},
		{MessageFilter{ConversationID: "c1", Type: MessageOutgoing}, []uint64{ids[1], ids[0]}},
	} {
		got, total, err := s.ListMessages(tc.f, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var gotIDs []uint64
		for _, m := range got {
			gotIDs = append(gotIDs, m.ID)
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(tc.want) || total != len(tc.want) {
			t.Errorf("ListMessages(%+v) = %v (total %d), want %v", tc.f, gotIDs, total, tc.want)
		}
	}
}
