package livechat

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// conversations is the fake of the messages work: an in-memory message
// log that is both the Outbox and the Transcript.
type conversations struct {
	mu   sync.Mutex
	msgs []store.Message
	now  func() time.Time
	fail error // AddOutgoingForDelivery returns it when set
}

func (c *conversations) AddOutgoingForDelivery(m *store.Message) (store.DeliveryJob, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return store.DeliveryJob{}, c.fail
	}
	if m.Type != store.MessageOutgoing && m.Type != store.MessageAgentOutgoing {
		return store.DeliveryJob{}, errors.New("not outgoing")
	}
	m.ID = uint64(len(c.msgs) + 1)
	m.Status, m.CreatedAt, m.UpdatedAt = store.StatusPending, c.now(), c.now()
	c.msgs = append(c.msgs, *m)
	return store.DeliveryJob{MessageID: m.ID, ConfigID: m.ConfigID, ConversationID: m.ConversationID}, nil
}

func (c *conversations) ConversationMessages(ref store.ConvRef, _ int) ([]store.Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []store.Message
	for _, m := range c.msgs {
		if m.Ref().Key() == ref.Key() {
			out = append(out, m)
		}
	}
	return out, nil
}

// incoming records a user's message the way the webhook stores it.
func (c *conversations) incoming(configID uint64, platform, conv, user, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, store.Message{ID: uint64(len(c.msgs) + 1), Type: store.MessageIncoming, Status: store.StatusReceived,
		ConfigID: configID, Platform: platform, ConversationID: conv, UserID: user, Username: "John Doe", Text: text, CreatedAt: c.now()})
}

// bot records a bot answer.
func (c *conversations) bot(configID uint64, platform, conv, text string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, store.Message{ID: uint64(len(c.msgs) + 1), Type: store.MessageOutgoing, Status: store.StatusSent,
		ConfigID: configID, Platform: platform, ConversationID: conv, Text: text, ResponseType: "rag_knowledge_base",
		Sender: "Assistant", SenderType: "bot", CreatedAt: c.now()})
}

// outgoing returns the outgoing and agent_outgoing messages so far.
func (c *conversations) outgoing() []store.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []store.Message
	for _, m := range c.msgs {
		if m.Type != store.MessageIncoming && m.Status == store.StatusPending {
			out = append(out, m)
		}
	}
	return out
}

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixtureStore is the real store for the sessions, with convs standing in
// for its messages, so tests read what the manager queued.
type fixtureStore struct {
	*store.Store
	convs *conversations
}

func (f fixtureStore) AddOutgoingForDelivery(m *store.Message) (store.DeliveryJob, error) {
	return f.convs.AddOutgoingForDelivery(m)
}

func (f fixtureStore) ConversationMessages(ref store.ConvRef, limit int) ([]store.Message, error) {
	return f.convs.ConversationMessages(ref, limit)
}

type fixture struct {
	st    *store.Store
	m     *Manager
	convs *conversations
	clock *testClock
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	clock := &testClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	st, err := store.Open(t.TempDir(), store.Options{Now: clock.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		st.Close()
	})
	convs := &conversations{now: clock.Now}
	m, err := NewManager(fixtureStore{st, convs}, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, m: m, convs: convs, clock: clock}
}
