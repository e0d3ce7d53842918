package store

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
)

// The schema-1 fixture (testdata/schema1.db) is a database written by the
// code of schema version 1, the base of every migration test. It was made by
// TestWriteSchema1Fixture at the commit that added it; see testdata/README.md
// for how to make it again.

// fixtureKey is the secret key the fixture's secrets are sealed with.
func fixtureKey() []byte { return bytes.Repeat([]byte{7}, secret.KeySize) }

// fixtureStart is the fixture clock's first reading; each reading after it
// is one second later, so every timestamp in the file is known.
var fixtureStart = time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)

type tickClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// TestWriteSchema1Fixture writes testdata/schema1.db when
// CHATBOT_WRITE_SCHEMA1_FIXTURE names the directory to write it to. It only
// means something with the schema-1 code, so it refuses to run on another.
func TestWriteSchema1Fixture(t *testing.T) {
	dir := os.Getenv("CHATBOT_WRITE_SCHEMA1_FIXTURE")
	if dir == "" {
		t.Skip("set CHATBOT_WRITE_SCHEMA1_FIXTURE=DIR to write DIR/chatbot.db (see testdata/README.md)")
	}
	if SchemaVersion != 1 {
		t.Fatalf("this code writes schema %d; check out the commit named in testdata/README.md to write schema 1", SchemaVersion)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err == nil {
		t.Fatalf("%s already exists; write into an empty directory", filepath.Join(dir, FileName))
	}
	box, err := secret.NewBox(fixtureKey())
	if err != nil {
		t.Fatal(err)
	}
	clock := &tickClock{t: fixtureStart}
	s, err := Open(dir, Options{Sealer: box, Now: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Configs 1 and 2 share a provider; config 3 is its provider's only one.
	for _, c := range []*WebhookConfig{
		{Name: "Zendesk Brand A", Provider: "zendesk", OutgoingURL: "https://a.example/hook", IncomingTokenHash: secret.Hash("token-a")},
		{Name: "Zendesk Brand B", Provider: "zendesk", OutgoingURL: "https://b.example/hook", IncomingTokenHash: secret.Hash("token-b")},
		{Name: "Chatwoot", Provider: "chatwoot", OutgoingURL: "https://c.example/hook", IncomingTokenHash: secret.Hash("token-c")},
	} {
		c.IsActive, c.ResponseMode, c.SigningSecret, c.TimeoutSeconds, c.RetryAttempts = true, "sync", "whsec_fixture_"+c.Provider, 30, 3
		must(s.CreateConfig(c))
	}
	must(s.CreateWidget(&Widget{Name: "Docs site", Key: "wk_fixture", AllowedOrigins: []string{"https://docs.example"}, RatePerMinute: 20, IsActive: true}))

	in := func(cfg uint64, platform, conv, pid, user, text string) uint64 {
		t.Helper()
		res, err := s.InsertIncoming(&Message{ConfigID: cfg, Platform: platform, ConversationID: conv, PlatformMessageID: pid,
			UserID: user, Text: text, SenderType: "user"}, 7*24*time.Hour)
		must(err)
		return res.Message.ID
	}
	reply := func(id, cfg uint64, platform, conv, user, text string, deliver bool) {
		t.Helper()
		must(s.InsertReply(id, &Message{Type: MessageOutgoing, ConfigID: cfg, Platform: platform, ConversationID: conv,
			UserID: user, Text: text, ResponseType: "extractive", Sender: "Assistant", SenderType: "bot"}, deliver))
	}
	// 1, 2: A's message and its answer, still pending delivery.
	reply(in(1, "zendesk", "conv-a", "zd-1001", "user-a", "How do I reset my password?"), 1, "zendesk", "conv-a", "user-a", "Under Settings.", true)
	// 3, 4: B's message and its answer, sent.
	reply(in(2, "zendesk", "conv-b", "zd-2001", "user-b", "Where is my invoice?"), 2, "zendesk", "conv-b", "user-b", "Under Billing.", false)
	// 5, 6: one conversation id used through both A and B.
	in(1, "zendesk", "shared-1", "zd-1002", "user-a", "Hello from A")
	in(2, "zendesk", "shared-1", "zd-2002", "user-b", "Hello from B")
	// 7: C's message.
	in(3, "chatwoot", "cw-1", "cw-5001", "user-c", "Do you ship abroad?")
	// 8, 9: a widget visitor and the answer (schema 1 records no widget id).
	reply(in(0, "widget", "w_visitor0001", "", "visitor_w_visitor0001", "Opening hours?"), 0, "widget", "w_visitor0001", "visitor_w_visitor0001", "9 to 5.", false)
	// 10: A's user asks for a human; the session is accepted (active).
	in(1, "zendesk", "conv-a-live", "zd-1003", "user-a", "I want to talk to a human")
	live, err := s.CreateLiveChat(&LiveChatSession{ID: "live_fixtureactive01", ConfigID: 1, Platform: "zendesk", ConversationID: "conv-a-live", UserID: "user-a"})
	must(err)
	_, err = s.UpdateLiveChat(live.ID, func(l *LiveChatSession) error {
		l.State, l.Agent, l.AcceptedAt = LiveChatActive, "Sarah", clock.now()
		return nil
	})
	must(err)
	// 11: the agent's reply, pending delivery to A.
	_, err = s.AddOutgoingForDelivery(&Message{Type: MessageAgentOutgoing, ConfigID: 1, Platform: "zendesk", ConversationID: "conv-a-live",
		UserID: "user-a", Text: "Hi, Sarah here.", ResponseType: "live_chat_message", SessionID: live.ID, Sender: "Agent Sarah", SenderType: "agent"})
	must(err)
	// 12: B's user asks for a human; the session waits.
	in(2, "zendesk", "conv-b-live", "zd-2003", "user-b", "talk to an agent")
	_, err = s.CreateLiveChat(&LiveChatSession{ID: "live_fixturewaiting1", ConfigID: 2, Platform: "zendesk", ConversationID: "conv-b-live", UserID: "user-b"})
	must(err)
	// A closed session that schema 1 recorded without a config id.
	old, err := s.CreateLiveChat(&LiveChatSession{ID: "live_fixtureclosed01", Platform: "zendesk", ConversationID: "zd-legacy", UserID: "user-x"})
	must(err)
	_, err = s.UpdateLiveChat(old.ID, func(l *LiveChatSession) error {
		l.State, l.ClosedBy, l.ClosedAt = LiveChatClosed, "agent", clock.now()
		return nil
	})
	must(err)
	// Memories: with messages of one config, of two, of none; the CLI's.
	turn := func(platform, conv, text string) {
		t.Helper()
		_, err := s.AppendTurns(ConvRef{Platform: platform, ConversationID: conv}, 0, 0, Turn{Role: RoleUser, Text: text, Tokens: 3}, Turn{Role: RoleAssistant, Text: "ok", Tokens: 1})
		must(err)
	}
	turn("zendesk", "conv-a", "How do I reset my password?")
	turn("zendesk", "conv-b", "Where is my invoice?")
	turn("zendesk", "shared-1", "Hello from A")
	turn("zendesk", "zd-orphan", "no messages of this one")
	turn("chatwoot", "cw-1", "Do you ship abroad?")
	turn("chatwoot", "cw-orphan", "no messages of this one either")
	turn("widget", "w_visitor0001", "Opening hours?")
	turn("cli", "ask-1", "asked on the command line")
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}
