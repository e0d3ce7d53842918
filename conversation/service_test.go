package conversation

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// scripted answers with what the test says next and records the requests.
type scripted struct {
	mu      sync.Mutex
	replies []chat.Reply
	err     error
	asked   []chat.Request
}

func (s *scripted) Answer(_ context.Context, req chat.Request) (chat.Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, req)
	if s.err != nil {
		return chat.Reply{}, s.err
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return r, nil
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	return st
}

// integration is a webhook integration without an outgoing URL.
func integration(t *testing.T, st *store.Store) uint64 {
	t.Helper()
	c := &store.WebhookConfig{Name: "Chatwoot", Provider: "chatwoot", IsActive: true, ResponseMode: store.ResponseSync,
		IncomingTokenHash: "h1"}
	if err := st.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func inbound(cfg uint64, id, text string) Inbound {
	return Inbound{Channel: Webhook, ConfigID: cfg, Platform: "chatwoot", ConversationID: "c1", UserID: "u1",
		Text: text, PlatformMessageID: id, Mode: store.ResponseSync}
}

// agentReply stores what the live-chat manager stores for an agent's reply.
func agentReply(t *testing.T, st *store.Store, cfg uint64, text string) store.Message {
	t.Helper()
	m := &store.Message{Type: store.MessageAgentOutgoing, ConfigID: cfg, Platform: "chatwoot", ConversationID: "c1",
		UserID: "u1", Text: text, Sender: "Agent Sarah", SenderType: "agent", ResponseType: chat.TypeLiveChatMessage, SessionID: "live_1"}
	job, err := st.AddOutgoingForDelivery(m)
	if err != nil {
		t.Fatal(err)
	}
	if job.MessageID != 0 || m.Status != store.StatusHeld {
		t.Fatalf("agent reply with no outgoing URL: job %+v, status %s; want no job, held", job, m.Status)
	}
	return *m
}

// Agent replies on an integration with no outgoing URL are handed over
// with the user's next message, in order and once; a retry of that
// message gets them again; they are sent only then.
func TestHeldMessagesAreHandedOverOnceWithTheNextMessage(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	ans := &scripted{replies: []chat.Reply{
		{Type: chat.TypeLiveChatMessage, SessionID: "live_1"},
		{Type: chat.TypeLiveChatMessage, SessionID: "live_1"},
	}}
	s := New(st, ans, Options{})
	first := agentReply(t, st, cfg, "Hi, Sarah here.")
	second := agentReply(t, st, cfg, "Your order ships today.")

	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "thanks"))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Handed) != 2 || out.Handed[0].ID != first.ID || out.Handed[1].ID != second.ID ||
		out.Handed[0].Status != store.StatusSent || out.Reply != nil || out.Answer.Type != chat.TypeLiveChatMessage {
		t.Fatalf("outcome = %+v, handed %+v; want the two agent replies, oldest first, sent", out, out.Handed)
	}
	if m, _ := st.Message(first.ID); m.Status != store.StatusSent || m.DeliveredAt.IsZero() {
		t.Fatalf("stored agent reply = %+v, want sent with a delivery time", m)
	}

	retry, err := s.Handle(context.Background(), inbound(cfg, "m1", "thanks"))
	if err != nil {
		t.Fatal(err)
	}
	if !retry.Duplicate || len(retry.Handed) != 2 || retry.Handed[1].Text != "Your order ships today." || len(ans.asked) != 1 {
		t.Fatalf("retry = %+v (asked %d); want the same two, no second answer", retry, len(ans.asked))
	}

	next, err := s.Handle(context.Background(), inbound(cfg, "m2", "great"))
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Handed) != 0 {
		t.Fatalf("next message got %+v handed again", next.Handed)
	}
}

// The hand-off notice of the session the answer itself opened is marked
// sent but not handed: the answer says it.
func TestTheTransferNoticeIsTheAnswerNotAHandedMessage(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	ans := &scripted{replies: []chat.Reply{{Type: chat.TypeLiveChatTransfer, Answer: "Connecting you.", SessionID: "live_1"}}}
	s := New(st, ans, Options{})
	notice := &store.Message{Type: store.MessageOutgoing, ConfigID: cfg, Platform: "chatwoot", ConversationID: "c1",
		UserID: "u1", Text: "Connecting you.", SenderType: "system", ResponseType: chat.TypeLiveChatTransfer, SessionID: "live_1"}
	if _, err := st.AddOutgoingForDelivery(notice); err != nil {
		t.Fatal(err)
	}
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "a human please"))
	if err != nil {
		t.Fatal(err)
	}
	if out.Answer.Answer != "Connecting you." || len(out.Handed) != 0 {
		t.Fatalf("outcome = %+v, handed %+v", out.Answer, out.Handed)
	}
	if m, _ := st.Message(notice.ID); m.Status != store.StatusSent {
		t.Fatalf("notice status = %s, want sent (it went out as the answer)", m.Status)
	}
}

// An engine failure leaves the message stored and unanswered; the
// platform's retry of the same id answers it, once.
func TestARetryAnswersWhatFailed(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	ans := &scripted{err: errors.New("boom")}
	s := New(st, ans, Options{})
	_, err := s.Handle(context.Background(), inbound(cfg, "m1", "hello"))
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || e.RetryAfterSeconds != retryAfter {
		t.Fatalf("err = %v, want Unavailable with Retry-After %d", err, retryAfter)
	}
	ans.err, ans.replies = nil, []chat.Reply{{Type: chat.TypeExtractive, Answer: "Hello!", Sources: []chat.Source{{Title: "Intro", Source: "intro.md"}}}}
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	if !out.Duplicate || out.Reply == nil || out.Reply.Text != "Hello!" || out.Message.ResponseID != out.Reply.ID ||
		out.Reply.Status != store.StatusSent || len(out.Sources()) != 1 {
		t.Fatalf("retry outcome = %+v reply %+v", out, out.Reply)
	}
	again, err := s.Handle(context.Background(), inbound(cfg, "m1", "hello"))
	if err != nil || again.Reply == nil || again.Reply.ID != out.Reply.ID || len(ans.asked) != 2 {
		t.Fatalf("third delivery = %+v, %v (asked %d); want the stored answer", again, err, len(ans.asked))
	}
}

// gated holds each answer until the test releases it.
type gated struct {
	started chan struct{}
	release chan struct{}
	n       int
	mu      sync.Mutex
}

func (g *gated) Answer(ctx context.Context, req chat.Request) (chat.Reply, error) {
	g.mu.Lock()
	g.n++
	g.mu.Unlock()
	g.started <- struct{}{}
	<-g.release
	return chat.Reply{Type: chat.TypeExtractive, Answer: "once"}, nil
}

// A retry racing the first delivery waits for its answer instead of
// answering again (sync), or only for the stored message (async).
func TestARetryRacingTheFirstWaitsForIt(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	g := &gated{started: make(chan struct{}, 1), release: make(chan struct{})}
	s := New(st, g, Options{})
	firstDone := make(chan Outcome, 1)
	go func() {
		out, err := s.Handle(context.Background(), inbound(cfg, "m1", "hi"))
		if err != nil {
			t.Error(err)
		}
		firstDone <- out
	}()
	<-g.started // the first is being answered

	async := inbound(cfg, "m1", "hi")
	async.Mode = store.ResponseAsync
	a, err := s.Accept(context.Background(), async)
	if err != nil || !a.Duplicate || a.Answered() {
		t.Fatalf("async retry = %+v, %v; want the stored message, not yet answered", a, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := s.Handle(ctx, inbound(cfg, "m1", "hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("sync retry whose caller gave up: %v", err)
	}
	retried := make(chan Outcome, 1)
	go func() {
		out, err := s.Handle(context.Background(), inbound(cfg, "m1", "hi"))
		if err != nil {
			t.Error(err)
		}
		retried <- out
	}()
	close(g.release)
	first, second := <-firstDone, <-retried
	if first.Reply == nil || second.Reply == nil || second.Reply.ID != first.Reply.ID || !second.Duplicate || g.n != 1 {
		t.Fatalf("first %+v, retry %+v, answers %d; want one answer given twice", first.Reply, second.Reply, g.n)
	}
}

// The turn refuses what no channel should send.
func TestInboundFloor(t *testing.T) {
	s := New(openStore(t), &scripted{}, Options{})
	for _, in := range []Inbound{
		{Channel: Webhook, Text: "x"},
		{Channel: Widget, Text: "x"},
		{Channel: "fax", Text: "x"},
		{Channel: CLI},
	} {
		if _, err := s.Handle(context.Background(), in); err == nil {
			t.Errorf("%+v accepted", in)
		}
	}
}

type pauseStep struct{ paused map[string]bool }

func (p pauseStep) Before(_ context.Context, msg *store.Message) (chat.Reply, bool, error) {
	if p.paused[msg.ConversationID] {
		return chat.Reply{Type: "paused"}, true, nil
	}
	return chat.Reply{}, false, nil
}

type recorder struct{ seen []Outcome }

func (r *recorder) Observe(_ context.Context, out Outcome) { r.seen = append(r.seen, out) }

// A step that handles a message keeps the engine out of it; an observer
// sees each answered turn once (not a retry of it).
func TestStepsAndObservers(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	ans := &scripted{replies: []chat.Reply{{Type: chat.TypeExtractive, Answer: "Open 9 to 5."}}}
	rec := &recorder{}
	s := New(st, ans, Options{Steps: []Step{pauseStep{paused: map[string]bool{"c1": true}}}, Observers: []Observer{rec}})
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "hours?"))
	if err != nil || out.Reply != nil || out.Answer.Type != "paused" || out.Message.ResponseType != "paused" || len(ans.asked) != 0 {
		t.Fatalf("paused turn = %+v, %v (asked %d)", out, err, len(ans.asked))
	}
	other := inbound(cfg, "m2", "hours?")
	other.ConversationID = "c2"
	if out, err = s.Handle(context.Background(), other); err != nil || out.Reply == nil || out.Reply.Text != "Open 9 to 5." {
		t.Fatalf("unpaused turn = %+v, %v", out, err)
	}
	if _, err := s.Handle(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) != 2 || rec.seen[0].Answer.Type != "paused" || rec.seen[1].Reply.Text != "Open 9 to 5." {
		t.Fatalf("observed %d turns: %+v", len(rec.seen), rec.seen)
	}
}

// The platform's metadata is stored with the message and reaches the
// engine (API tools take identity values from it, never from the text).
func TestMetadataReachesTheEngine(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	ans := &scripted{replies: []chat.Reply{{Type: chat.TypeExtractive, Answer: "ok"}}}
	in := inbound(cfg, "m1", "where is my order?")
	in.Metadata = []byte(`{"customer_id":"c-42"}`)
	out, err := New(st, ans, Options{}).Handle(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(ans.asked) != 1 || ans.asked[0].Metadata != `{"customer_id":"c-42"}` || string(out.Message.Metadata) != `{"customer_id":"c-42"}` {
		t.Fatalf("engine got metadata %q, stored %q", ans.asked[0].Metadata, out.Message.Metadata)
	}
}
