package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/secret"
)

// copySchema1 copies testdata/schema1.db into a new data directory.
func copySchema1(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "schema1.db"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

var migrationTime = time.Date(2026, 1, 20, 9, 0, 0, 0, time.UTC)

func openFixture(t *testing.T, dir string) *Store {
	t.Helper()
	box, err := secret.NewBox(fixtureKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Sealer: box, Now: func() time.Time { return migrationTime }})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// dump is every key and value of every bucket, to compare two states.
func dump(t *testing.T, s *Store) string {
	t.Helper()
	var b strings.Builder
	err := s.view(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			return bk.ForEach(func(k, v []byte) error {
				fmt.Fprintf(&b, "%s %x %x\n", name, k, v)
				return nil
			})
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestMigrateSchema1(t *testing.T) {
	dir := copySchema1(t)
	s := openFixture(t, dir)

	var version uint64
	var note Migration2
	if err := s.view(func(tx *bolt.Tx) error {
		version = btoi(tx.Bucket(bucketMeta).Get(keySchema))
		return json.Unmarshal(tx.Bucket(bucketMeta).Get(keyMigrated), &note)
	}); err != nil {
		t.Fatal(err)
	}
	if version != 2 {
		t.Fatalf("schema version %d, want 2", version)
	}
	want := Migration2{At: migrationTime, Dedupe: 7, Conversations: 5, ConversationsFallback: 3, LiveChats: 2, LiveChatsFallback: 1, WidgetRecords: 2}
	if note != want {
		t.Fatalf("migration note = %+v, want %+v", note, want)
	}

	// Dedupe: each entry under its own integration.
	const week = 7 * 24 * time.Hour
	for _, tt := range []struct {
		config   uint64
		pid      string
		msg, rsp uint64
	}{{1, "zd-1001", 1, 2}, {2, "zd-2001", 3, 4}, {1, "zd-1002", 5, 0}, {2, "zd-2002", 6, 0}, {3, "cw-5001", 7, 0}, {1, "zd-1003", 10, 0}, {2, "zd-2003", 12, 0}} {
		got, err := s.IncomingByPlatformID(ConvRef{ConfigID: tt.config}, tt.pid, week)
		if err != nil || got.Message.ID != tt.msg || (got.Response == nil) != (tt.rsp == 0) || (got.Response != nil && got.Response.ID != tt.rsp) {
			t.Fatalf("dedupe %d/%s = %+v, %v; want message %d, response %d", tt.config, tt.pid, got, err, tt.msg, tt.rsp)
		}
	}
	// A's id through B is B's own new message, not A's duplicate.
	crossed, err := s.InsertIncoming(&Message{ConfigID: 2, Platform: "zendesk", ConversationID: "conv-b", PlatformMessageID: "zd-1001", UserID: "user-b", Text: "hi"}, week)
	if err != nil || crossed.Duplicate || crossed.Message.ID != 13 {
		t.Fatalf("B's zd-1001 = %+v, %v", crossed, err)
	}

	// Memories: one integration's, the only config's, the only widget's,
	// and the fallback for the ambiguous ones and the CLI's.
	for _, tt := range []struct {
		ref  ConvRef
		text string // first user turn; "" for none
	}{
		{ConvRef{ConfigID: 1, ConversationID: "conv-a"}, "How do I reset my password?"},
		{ConvRef{ConfigID: 2, ConversationID: "conv-a"}, ""},
		{ConvRef{ConfigID: 2, ConversationID: "conv-b"}, "Where is my invoice?"},
		{ConvRef{ConfigID: 1, ConversationID: "shared-1"}, ""},
		{ConvRef{ConfigID: 2, ConversationID: "shared-1"}, ""},
		{ConvRef{Platform: "zendesk", ConversationID: "shared-1"}, "Hello from A"},
		{ConvRef{Platform: "zendesk", ConversationID: "zd-orphan"}, "no messages of this one"},
		{ConvRef{ConfigID: 3, ConversationID: "cw-1"}, "Do you ship abroad?"},
		{ConvRef{ConfigID: 3, ConversationID: "cw-orphan"}, "no messages of this one either"},
		{ConvRef{WidgetID: 1, ConversationID: "w_visitor0001"}, "Opening hours?"},
		{ConvRef{Platform: "widget", ConversationID: "w_visitor0001"}, ""},
		{ConvRef{Platform: "cli", ConversationID: "ask-1"}, "asked on the command line"},
	} {
		c, err := s.Conversation(tt.ref)
		if tt.text == "" {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: %+v, %v; want none", tt.ref, c, err)
			}
			continue
		}
		if err != nil || len(c.Turns) != 2 || c.Turns[0].Text != tt.text || c.ConfigID != tt.ref.ConfigID || c.WidgetID != tt.ref.WidgetID {
			t.Fatalf("%s = %+v, %v", tt.ref, c, err)
		}
	}
	var n int
	if err := s.view(func(tx *bolt.Tx) error { n = tx.Bucket(bucketConversations).Stats().KeyN; return nil }); err != nil || n != 8 {
		t.Fatalf("%d memories after migration, want the 8 of the fixture (%v)", n, err)
	}

	// Live chats: open ones under their integration only.
	active, err := s.OpenLiveChat(ConvRef{ConfigID: 1, ConversationID: "conv-a-live"})
	if err != nil || active.ID != "live_fixtureactive01" || active.State != LiveChatActive || active.Agent != "Sarah" {
		t.Fatalf("active session = %+v, %v", active, err)
	}
	waiting, err := s.OpenLiveChat(ConvRef{ConfigID: 2, ConversationID: "conv-b-live"})
	if err != nil || waiting.ID != "live_fixturewaiting1" || waiting.State != LiveChatWaiting {
		t.Fatalf("waiting session = %+v, %v", waiting, err)
	}
	for _, ref := range []ConvRef{{ConfigID: 2, ConversationID: "conv-a-live"}, {ConfigID: 1, ConversationID: "conv-b-live"}, {Platform: "zendesk", ConversationID: "conv-a-live"}} {
		if l, err := s.OpenLiveChat(ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s has session %+v (%v)", ref, l, err)
		}
	}
	if old, err := s.LiveChat("live_fixtureclosed01"); err != nil || old.State != LiveChatClosed || old.ConfigID != 0 || old.WidgetID != 0 {
		t.Fatalf("closed legacy session = %+v, %v", old, err)
	}
	var openN int
	if err := s.view(func(tx *bolt.Tx) error { openN = tx.Bucket(bucketLiveChatOpen).Stats().KeyN; return nil }); err != nil || openN != 2 {
		t.Fatalf("%d open-session keys, want 2 (%v)", openN, err)
	}

	// Transcripts by integration; widget messages carry the widget id.
	for _, tt := range []struct {
		ref ConvRef
		ids []uint64
	}{
		{ConvRef{ConfigID: 1, ConversationID: "conv-a-live"}, []uint64{10, 11}},
		{ConvRef{ConfigID: 1, ConversationID: "shared-1"}, []uint64{5}},
		{ConvRef{ConfigID: 2, ConversationID: "shared-1"}, []uint64{6}},
		{ConvRef{ConfigID: 2, ConversationID: "conv-b"}, []uint64{3, 4, 13}},
		{ConvRef{WidgetID: 1, ConversationID: "w_visitor0001"}, []uint64{8, 9}},
	} {
		msgs, err := s.ConversationMessages(tt.ref, 10)
		var ids []uint64
		for _, m := range msgs {
			ids = append(ids, m.ID)
		}
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(tt.ids) {
			t.Fatalf("messages of %s = %v, %v; want %v", tt.ref, ids, err, tt.ids)
		}
	}
	if m, err := s.Message(9); err != nil || m.WidgetID != 1 || m.ConfigID != 0 || m.Text != "9 to 5." {
		t.Fatalf("widget answer = %+v, %v", m, err)
	}

	// The pending deliveries are untouched.
	if p, err := s.PendingDeliveries(); err != nil || p != 2 {
		t.Fatalf("pending deliveries = %d, %v; want 2", p, err)
	}
	for id, cfg := range map[uint64]uint64{2: 1, 11: 1} {
		if job, err := s.DeliveryJobFor(id); err != nil || job.ConfigID != cfg {
			t.Fatalf("delivery of message %d = %+v, %v", id, job, err)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check: %v", err)
	}

	// Opening it again changes nothing.
	before := dump(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openFixture(t, dir)
	defer s.Close()
	if after := dump(t, s); after != before {
		t.Fatalf("second Open changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check after reopen: %v", err)
	}
}

// A record the migration cannot read stops Open, and the file stays at
// schema 1 with nothing half-migrated.
func TestMigrateSchema1IsAllOrNothing(t *testing.T) {
	dir := copySchema1(t)
	db, err := bolt.Open(filepath.Join(dir, FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLiveChats).Put([]byte("live_broken"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	box, _ := secret.NewBox(fixtureKey())
	if s, err := Open(dir, Options{Sealer: box}); err == nil || !strings.Contains(err.Error(), `migrate schema 1 to 2: decode live chat session "live_broken"`) {
		if s != nil {
			s.Close()
		}
		t.Fatalf("Open = %v", err)
	}
	db, err = bolt.Open(filepath.Join(dir, FileName), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		if v := btoi(tx.Bucket(bucketMeta).Get(keySchema)); v != 1 {
			return fmt.Errorf("schema %d after a failed migration", v)
		}
		if tx.Bucket(bucketConvMessages) != nil {
			return errors.New("the failed migration left its bucket")
		}
		// Still the schema-1 key of A's first message id.
		if tx.Bucket(bucketDedupe).Get(append([]byte{byte(len("zendesk"))}, "zendeskzd-1001"...)) == nil {
			return errors.New("the failed migration re-keyed dedupe entries")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
