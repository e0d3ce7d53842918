package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Two integrations of one provider (two Zendesk brands) must never share a
// dedupe entry, a conversation, a live-chat session or a rate bucket: each
// test is one of the crossings of issue 13, over loopback.

func TestIsolationDedupeDoesNotCrossIntegrations(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	tokA := h.addConfig(t, cfgInput("Zendesk Brand A", "zendesk", ""))
	tokB := h.addConfig(t, cfgInput("Zendesk Brand B", "zendesk", ""))

	// B's user sends zd-1001 first; A then sends the same id.
	victim := h.post(t, tokB, `{"user_id":"victim","username":"Vera Victim","message":"my card ends 4242","conversation_id":"conv-b","message_id":"zd-1001"}`)
	if victim.status != http.StatusOK || victim.body["duplicate"] != nil {
		t.Fatalf("B's message: %d %v", victim.status, victim.body)
	}
	probe := h.post(t, tokA, `{"user_id":"attacker","message":"hi","conversation_id":"conv-a","message_id":"zd-1001"}`)
	if probe.status != http.StatusOK {
		t.Fatalf("A's message: %d %v", probe.status, probe.body)
	}
	if probe.body["duplicate"] != nil {
		t.Fatalf("A's message was taken for B's duplicate: %v", probe.body)
	}
	info := probe.body["response"].(map[string]any)["user_info"].(map[string]any)
	if info["user_id"] != "attacker" || info["conversation_id"] != "conv-a" || info["username"] != "" {
		t.Fatalf("A was answered with someone else's user_info: %v", info)
	}
	if probe.body["message_id"] == victim.body["message_id"] {
		t.Fatalf("A got B's message id %v", probe.body["message_id"])
	}

	// The other way round: A's id first, then B's real message with it.
	h.post(t, tokA, `{"user_id":"attacker","message":"first","conversation_id":"conv-a","message_id":"zd-2002"}`)
	real := h.post(t, tokB, `{"user_id":"victim","message":"where is my order?","conversation_id":"conv-b","message_id":"zd-2002"}`)
	if real.status != http.StatusOK || real.body["duplicate"] != nil {
		t.Fatalf("B's real message was taken for A's duplicate: %d %v", real.status, real.body)
	}
	m, err := h.st.Message(uint64(real.body["message_id"].(float64)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "where is my order?" || m.UserID != "victim" || m.ConfigID != 2 {
		t.Fatalf("B's message stored as %+v", m)
	}
	// Every message reached the engine: 4 answers, none from another's.
	if n := h.answerer.count(); n != 4 {
		t.Fatalf("engine answered %d messages, want 4", n)
	}
	// A retry within one integration is still a duplicate.
	again := h.post(t, tokB, `{"user_id":"victim","message":"where is my order?","conversation_id":"conv-b","message_id":"zd-2002"}`)
	if again.body["duplicate"] != true || again.body["message_id"] != real.body["message_id"] {
		t.Fatalf("B's retry: %v", again.body)
	}
}

func TestIsolationRateBucketPerIntegration(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{RatePerMinute: 2})
	tokA := h.addConfig(t, cfgInput("Zendesk Brand A", "zendesk", ""))
	tokB := h.addConfig(t, cfgInput("Zendesk Brand B", "zendesk", ""))
	body := `{"user_id":"u","message":"hello","conversation_id":"c"}`
	for i := range 2 {
		if r := h.post(t, tokA, body); r.status != http.StatusOK {
			t.Fatalf("A's request %d: %d %v", i+1, r.status, r.body)
		}
	}
	if r := h.post(t, tokA, body); r.status != http.StatusTooManyRequests {
		t.Fatalf("A's third request: %d %v, want 429", r.status, r.body)
	}
	// A's burst leaves B's budget whole.
	for i := range 2 {
		if r := h.post(t, tokB, body); r.status != http.StatusOK {
			t.Fatalf("B's request %d after A's burst: %d %v", i+1, r.status, r.body)
		}
	}
	r := h.post(t, tokA, body)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("A: %d", r.status)
	}
	if msg := r.body["error"]; msg != "rate limit of 2 requests per minute for integration 1 (zendesk) reached; retry later" {
		t.Fatalf("429 message = %q", msg)
	}
}

// nothingRetriever finds nothing: the bot answers no_answer, no LLM.
type nothingRetriever struct{}

func (nothingRetriever) Search(context.Context, string, int) ([]chat.Passage, error) { return nil, nil }

// liveHarness is the incoming endpoint over the real engine and live-chat
// manager, as serve wires them.
type liveHarness struct {
	srv *httptest.Server
	st  *store.Store
	lc  *livechat.Manager
	cfg *Configs
}

func newLiveHarness(t *testing.T) *liveHarness {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{Sealer: testBox(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	lc, err := livechat.NewManager(st, livechat.Config{}, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	eng, err := chat.NewEngine(chat.Config{Retriever: nothingRetriever{}, LiveChat: lc, Memory: st,
		Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	in := NewIncoming(st, conversation.New(st, eng, conversation.Options{}), quietLog(), IncomingOptions{})
	r := mux.NewRouter()
	NewHandler(NewConfigs(st), quietLog()).WithIncoming(in).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	h := &liveHarness{srv: httptest.NewServer(r), st: st, lc: lc, cfg: NewConfigs(st)}
	t.Cleanup(func() {
		h.srv.Close()
		if err := in.Close(context.Background()); err != nil {
			t.Errorf("close incoming: %v", err)
		}
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	return h
}

func TestIsolationLiveChatNotHijackedAcrossIntegrations(t *testing.T) {
	h := newLiveHarness(t)
	ih := &inHarness{srv: h.srv, configs: h.cfg}
	tokA := ih.addConfig(t, cfgInput("Zendesk Brand A", "zendesk", ""))
	tokB := ih.addConfig(t, cfgInput("Zendesk Brand B", "zendesk", ""))

	// The victim talks to the bot through B.
	first := ih.post(t, tokB, `{"user_id":"victim","message":"what is my balance?","conversation_id":"conv-victim"}`)
	if first.status != http.StatusOK {
		t.Fatalf("victim: %d %v", first.status, first.body)
	}
	// The attacker, with A's token, asks for a human in B's conversation.
	hijack := ih.post(t, tokA, `{"user_id":"attacker","message":"I want to talk to a human","conversation_id":"conv-victim"}`)
	resp := hijack.body["response"].(map[string]any)
	if hijack.status != http.StatusOK || resp["response_type"] != string(chat.TypeLiveChatTransfer) {
		t.Fatalf("attacker: %d %v", hijack.status, hijack.body)
	}
	sessions, err := h.lc.Sessions("open")
	if err != nil || len(sessions) != 1 {
		t.Fatalf("open sessions = %v, %v", sessions, err)
	}
	s := sessions[0]
	if s.ConfigID != 1 || s.ConversationID != "conv-victim" || s.UserID != "attacker" {
		t.Fatalf("session = %+v", s)
	}
	// The victim's next message through B is answered by the bot, not
	// routed into the attacker's session.
	next := ih.post(t, tokB, `{"user_id":"victim","message":"my account number is 12345","conversation_id":"conv-victim"}`)
	nresp := next.body["response"].(map[string]any)
	if next.status != http.StatusOK || nresp["response_type"] != string(chat.TypeNoAnswer) {
		t.Fatalf("victim's message went to %v (%d %v)", nresp["response_type"], next.status, next.body)
	}
	after, err := h.lc.Session(s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.UserMessages != 0 || after.MessageCount != 0 {
		t.Fatalf("the attacker's session counted the victim's message: %+v", after)
	}
	// The agent accepts and replies: the reply is for A's conversation only.
	if _, err := h.lc.Accept(context.Background(), s.ID, "Sarah"); err != nil {
		t.Fatal(err)
	}
	_, msg, err := h.lc.Send(context.Background(), s.ID, "Hello, how can I help?")
	if err != nil {
		t.Fatal(err)
	}
	if msg.ConfigID != 1 {
		t.Fatalf("agent reply queued for config %d", msg.ConfigID)
	}
	// B's conversation has no open session at all.
	if _, err := h.st.OpenLiveChat(store.ConvRef{ConfigID: 2, ConversationID: "conv-victim"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B's conversation has an open session: %v", err)
	}
}
