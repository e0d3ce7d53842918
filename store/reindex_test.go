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
	if got := entries(); got != 3*9 {
		t.Fatalf("index entries = %d, want 27 (8 combinations of platform, type and status, and the conversation alone)", got)
	}
	if err := s.update(func(tx *bolt.Tx) error {
		_, err := updateMessageTx(tx, ids[0], time.Now(), func(m *Message) error { m.Status = StatusSent; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := entries(); got != 27 {
		t.Fatalf("index entries after a status change = %d, want 27 (moved, never added)", got)
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
	// Paging through a conversation filter: the total stays exact.
	page, total, err := s.ListMessages(MessageFilter{ConversationID: "c1", Type: MessageOutgoing}, 1, 1)
	if err != nil || total != 2 || len(page) != 1 || page[0].ID != ids[0] {
		t.Fatalf("second page = %v (total %d), %v; want message %d of 2", page, total, err, ids[0])
	}
}

// A database written when the conversation was indexed with the other
// filters too loses those entries and counts at the next Open, and its
// listings stay exact.
func TestOpenDropsTheConversationCombinations(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	m := &Message{Type: MessageIncoming, Platform: "chatwoot", ConversationID: "c1", Text: "hi", Status: StatusSent}
	if err := s.update(func(tx *bolt.Tx) error {
		if err := insertMessageTx(tx, m, time.Now()); err != nil {
			return err
		}
		// What the old index wrote besides: the conversation with the
		// other filters (masks 9 to 15).
		f := indexFieldsOf(m)
		for mask := byte(convMask + 1); mask < 16; mask++ {
			combo := comboKey(mask, f)
			if err := tx.Bucket(bucketMessageIndex).Put(append(combo, itob(m.ID)...), []byte{}); err != nil {
				return err
			}
			if err := addCountTx(tx, combo, 1); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(dir, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	var left int
	if err := s2.view(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMessageIndex, bucketMessageCounts} {
			c := tx.Bucket(name).Cursor()
			for k, _ := c.Seek([]byte{convMask + 1}); k != nil; k, _ = c.Next() {
				left++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("%d entries of the dropped combinations left after Open", left)
	}
	got, total, err := s2.ListMessages(MessageFilter{ConversationID: "c1", Status: StatusSent, Type: MessageIncoming}, 0, 10)
	if err != nil || total != 1 || len(got) != 1 || got[0].ID != m.ID {
		t.Fatalf("listing after the clean-up = %v (total %d), %v; want the message", got, total, err)
	}
	if err := s2.Check(); err != nil {
		t.Fatal(err)
	}
}

// The counts /metrics and the overview show come from the buckets they
// name and from the index's total, not from walking every bucket (the
// knowledge base's pages are most of the file).
func TestCountsReadOnlyWhatIsShown(t *testing.T) {
	s := openTest(t, Options{NoSync: true})
	for i := range 3 {
		m := &Message{Type: MessageIncoming, Platform: "chatwoot", ConversationID: "c1", Text: fmt.Sprint("hi ", i)}
		if err := s.update(func(tx *bolt.Tx) error { return insertMessageTx(tx, m, time.Now()) }); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.MessageCount(); err != nil || n != 3 {
		t.Fatalf("MessageCount = %d, %v; want 3", n, err)
	}
	keys, err := s.BucketKeys("messages", "widgets")
	if err != nil || len(keys) != 2 || keys["messages"] != 3 || keys["widgets"] != 0 {
		t.Fatalf("BucketKeys(messages, widgets) = %v, %v; want exactly those two, 3 and 0", keys, err)
	}
	all, err := s.BucketKeys()
	if err != nil || len(all) != len(allBuckets) {
		t.Fatalf("BucketKeys() = %d buckets, %v; want all %d", len(all), err, len(allBuckets))
	}
}
