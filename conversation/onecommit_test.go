package conversation

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// The guarantees of a synchronous turn whose message is stored with its
// reply in one commit (Receive): what a retry finds, what a failure
// leaves, and that live chat and the steps still see the message stored
// before they write anything.

// heldPassage is a retriever that holds its first search until release is
// closed (started says it began) and counts the searches.
type heldPassage struct {
	started  chan struct{}
	release  chan struct{}
	searches atomic.Int32
}

func (h *heldPassage) Search(ctx context.Context, q string, k int) ([]chat.Passage, error) {
	if h.searches.Add(1) == 1 {
		close(h.started)
		<-h.release
	}
	return onePassage{}.Search(ctx, q, k)
}

func engineWith(t testing.TB, cfg chat.Config) *chat.Engine {
	t.Helper()
	if cfg.Retriever == nil {
		cfg.Retriever = onePassage{}
	}
	cfg.Extract = quote
	e, err := chat.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// messagesOf lists the stored messages of the test's conversation, oldest
// first.
func messagesOf(t *testing.T, st *store.Store) []*store.Message {
	t.Helper()
	list, _, err := st.ListMessages(store.MessageFilter{}, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

func unanswered(t *testing.T, st *store.Store) []*store.Message {
	t.Helper()
	u, err := st.Unanswered(100)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// One commit holds the message, its dedupe key and the reply: the
// message is answered (nothing left unanswered), precedes its reply, and
// a retry after success gets the stored answer without a commit or a
// second search.
func TestASyncTurnStoresItsMessageWithTheReply(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	h := &heldPassage{started: make(chan struct{}), release: make(chan struct{})}
	close(h.release)
	s := New(st, engineWith(t, chat.Config{Retriever: h, Memory: st}), Options{})
	before := st.Commits()
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Commits() - before; got != 1 {
		t.Fatalf("commits = %d, want 1", got)
	}
	msgs := messagesOf(t, st)
	if len(msgs) != 2 || msgs[0].Type != store.MessageIncoming || msgs[0].ID != out.Message.ID || msgs[0].ResponseID != out.Reply.ID ||
		msgs[0].ResponseType != chat.TypeExtractive || msgs[0].PlatformMessageID != "m1" || msgs[1].ID != out.Reply.ID ||
		msgs[1].ReplyTo != out.Message.ID || msgs[1].Text != "Refunds take five days." {
		t.Fatalf("stored %+v %+v; want the message, then its reply", msgs[0], msgs[len(msgs)-1])
	}
	if out.Message.ID == 0 || out.Message.ResponseID != out.Reply.ID || out.Message.Status != store.StatusReceived {
		t.Fatalf("outcome's message = %+v", out.Message)
	}
	if u := unanswered(t, st); len(u) != 0 {
		t.Fatalf("unanswered after the turn: %+v", u)
	}
	before = st.Commits()
	retry, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
	if err != nil || !retry.Duplicate || retry.Reply == nil || retry.Reply.ID != out.Reply.ID || retry.Message.ID != out.Message.ID {
		t.Fatalf("retry = %+v, %v; want the stored answer", retry, err)
	}
	if got := st.Commits() - before; got != 0 || h.searches.Load() != 1 {
		t.Fatalf("retry cost %d commits and %d searches in all; want 0 and 1", got, h.searches.Load())
	}
}

// Retries racing the first delivery wait for it and get its answer; an
// async retry meanwhile stores the message (it must be stored before its
// 202) and the first's answer goes to that message: one message, one
// answer, one search.
func TestConcurrentRetriesOfAOneCommitTurn(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	h := &heldPassage{started: make(chan struct{}), release: make(chan struct{})}
	s := New(st, engineWith(t, chat.Config{Retriever: h, Memory: st}), Options{})
	first := make(chan Outcome, 1)
	go func() {
		out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
		if err != nil {
			t.Error(err)
		}
		first <- out
	}()
	<-h.started
	if msgs := messagesOf(t, st); len(msgs) != 0 {
		t.Fatalf("stored before the answer: %+v", msgs)
	}
	async := inbound(cfg, "m1", "how long do refunds take?")
	async.Mode = store.ResponseAsync
	a, err := s.Accept(context.Background(), async)
	if err != nil || !a.Duplicate || a.Answered() || a.Message.ID == 0 {
		t.Fatalf("async retry = %+v, %v; want the message stored now, unanswered", a, err)
	}
	const retries = 8
	var wg sync.WaitGroup
	got := make(chan Outcome, retries)
	for range retries {
		wg.Go(func() {
			out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
			if err != nil {
				t.Error(err)
			}
			got <- out
		})
	}
	close(h.release)
	wg.Wait()
	close(got)
	out := <-first
	if out.Reply == nil || out.Duplicate || out.Message.ID != a.Message.ID || out.Message.ResponseID != out.Reply.ID {
		t.Fatalf("first = %+v (reply %+v); want the answer to the message the async retry stored (%d)", out, out.Reply, a.Message.ID)
	}
	for r := range got {
		if !r.Duplicate || r.Reply == nil || r.Reply.ID != out.Reply.ID || r.Message.ID != out.Message.ID {
			t.Fatalf("retry = %+v (reply %+v); want the first answer", r, r.Reply)
		}
	}
	if msgs := messagesOf(t, st); len(msgs) != 2 || h.searches.Load() != 1 {
		t.Fatalf("stored %d messages after %d searches; want the message and one answer", len(msgs), h.searches.Load())
	}
	if u := unanswered(t, st); len(u) != 0 {
		t.Fatalf("unanswered: %+v", u)
	}
}

// A turn whose engine fails leaves the message stored and unanswered (the
// platform's retry answers it): here the caller gave up while an earlier
// message of the conversation held it.
func TestAFailedEngineStillStoresTheMessage(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	h := &heldPassage{started: make(chan struct{}), release: make(chan struct{})}
	s := New(st, engineWith(t, chat.Config{Retriever: h, Memory: st}), Options{})
	first := make(chan error, 1)
	go func() {
		_, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
		first <- err
	}()
	<-h.started // m1 holds the conversation
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Handle(gone, inbound(cfg, "m2", "and exchanges?"))
	if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || e.RetryAfterSeconds != retryAfter {
		t.Fatalf("err = %v, want Unavailable with Retry-After %d", err, retryAfter)
	}
	if u := unanswered(t, st); len(u) != 1 || u[0].PlatformMessageID != "m2" || u[0].Text != "and exchanges?" {
		t.Fatalf("unanswered after the failure = %+v; want m2", u)
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	out, err := s.Handle(context.Background(), inbound(cfg, "m2", "and exchanges?"))
	if err != nil || !out.Duplicate || out.Reply == nil || out.Message.PlatformMessageID != "m2" || out.Reply.ReplyTo != out.Message.ID {
		t.Fatalf("retry = %+v, %v; want m2 answered", out, err)
	}
	if u := unanswered(t, st); len(u) != 0 {
		t.Fatalf("unanswered after the retry: %+v", u)
	}
}

// A turn whose reply cannot be stored leaves the message stored and
// unanswered; the platform's retry answers it.
func TestAFailedTurnStillStoresTheMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(st *store.Store) (Store, Answerer)
	}{
		{"reply commit", func(st *store.Store) (Store, Answerer) {
			return &failingReply{Store: st}, engineWith(t, chat.Config{Memory: st})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			cfg := integration(t, st)
			failing, ans := tc.fail(st)
			_, err := New(failing, ans, Options{}).Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
			if e, ok := apperr.As(err); !ok || e.Code != apperr.Unavailable || e.RetryAfterSeconds == 0 {
				t.Fatalf("err = %v, want Unavailable with Retry-After", err)
			}
			u := unanswered(t, st)
			if len(u) != 1 || u[0].Text != "how long do refunds take?" || u[0].PlatformMessageID != "m1" || u[0].ResponseID != 0 {
				t.Fatalf("unanswered after the failure = %+v; want the message", u)
			}
			out, err := New(st, engineWith(t, chat.Config{Memory: st}), Options{}).Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
			if err != nil || !out.Duplicate || out.Message.ID != u[0].ID || out.Reply == nil || out.Reply.ReplyTo != u[0].ID {
				t.Fatalf("retry = %+v, %v; want the stored message answered", out, err)
			}
			if msgs := messagesOf(t, st); len(msgs) != 2 {
				t.Fatalf("stored %d messages; want the message once and its answer", len(msgs))
			}
		})
	}
}

// fakeLive takes a message that asks for a human: it writes its notice
// (as the live-chat manager does) and notes whether the user's message
// was stored by then. As a probe it says so from the text alone
// (fakeLiveNoProbe hides the probe).
type fakeLive struct {
	st              *store.Store
	routed          atomic.Int32
	storedAtRouting atomic.Int32
}

type fakeLiveNoProbe struct{ f *fakeLive }

func (n fakeLiveNoProbe) Route(ctx context.Context, req chat.Request) (chat.Reply, bool, error) {
	return n.f.Route(ctx, req)
}

func (f *fakeLive) MayRoute(_ context.Context, req chat.Request) (bool, error) {
	return strings.Contains(req.Text, "human"), nil
}

func (f *fakeLive) Route(_ context.Context, req chat.Request) (chat.Reply, bool, error) {
	f.routed.Add(1)
	if !strings.Contains(req.Text, "human") {
		return chat.Reply{}, false, nil
	}
	if msgs, _, err := f.st.ListMessages(store.MessageFilter{Type: store.MessageIncoming}, 0, 10); err == nil && len(msgs) > 0 && msgs[0].Text == req.Text {
		f.storedAtRouting.Add(1)
	}
	notice := &store.Message{Type: store.MessageOutgoing, ConfigID: req.ConfigID, Platform: req.Platform, ConversationID: req.ConversationID,
		UserID: req.UserID, Text: "Connecting you.", SenderType: "system", ResponseType: chat.TypeLiveChatTransfer, SessionID: "live_1"}
	if _, err := f.st.AddOutgoingForDelivery(notice); err != nil {
		return chat.Reply{}, false, err
	}
	return chat.Reply{Type: chat.TypeLiveChatTransfer, Answer: "Connecting you.", SessionID: "live_1"}, true, nil
}

// Live chat sees the message stored before it writes (its notice follows
// the message, as before); a message its probe says it does not take is
// one commit and does not reach Route. Without a probe every message is
// stored first and routed.
func TestLiveChatSeesTheMessageStoredFirst(t *testing.T) {
	for _, tc := range []struct {
		name            string
		probe           bool
		commitsAnswered uint64 // a question the bot answers
		routed          int32
	}{
		{name: "probe", probe: true, commitsAnswered: 1, routed: 1},
		{name: "no probe", commitsAnswered: 2, routed: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			cfg := integration(t, st)
			fl := &fakeLive{st: st}
			var live chat.LiveChat = fakeLiveNoProbe{fl}
			if tc.probe {
				live = fl
			}
			s := New(st, engineWith(t, chat.Config{Memory: st, LiveChat: live}), Options{})
			before := st.Commits()
			out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
			if err != nil || out.Reply == nil || out.Reply.Text != "Refunds take five days." {
				t.Fatalf("answered turn = %+v, %v", out, err)
			}
			if got := st.Commits() - before; got != tc.commitsAnswered {
				t.Errorf("commits of a turn the bot answers = %d, want %d", got, tc.commitsAnswered)
			}
			hand, err := s.Handle(context.Background(), inbound(cfg, "m2", "a human please"))
			if err != nil || hand.Answer.Type != chat.TypeLiveChatTransfer || hand.Reply != nil || hand.Message.ID == 0 ||
				hand.Message.ResponseType != chat.TypeLiveChatTransfer || hand.Message.SessionID != "live_1" {
				t.Fatalf("hand-off = %+v, %v", hand, err)
			}
			if fl.routed.Load() != tc.routed || fl.storedAtRouting.Load() != 1 {
				t.Fatalf("routed %d, message stored when routed %d; want %d and 1", fl.routed.Load(), fl.storedAtRouting.Load(), tc.routed)
			}
			notices, _, err := st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 1)
			if err != nil || len(notices) != 1 || notices[0].ID < hand.Message.ID {
				t.Fatalf("notice %+v, message %d; want the notice after the message", notices, hand.Message.ID)
			}
			if u := unanswered(t, st); len(u) != 0 {
				t.Fatalf("unanswered: %+v", u)
			}
		})
	}
}

// idStep records the id the message had when the step ran; as a Prober
// it says whether it may handle the message.
type idStep struct {
	may  *bool // nil: not a Prober
	seen []uint64
}

func (s *idStep) Before(_ context.Context, msg *store.Message) (chat.Reply, bool, error) {
	s.seen = append(s.seen, msg.ID)
	return chat.Reply{}, false, nil
}

type probingStep struct{ *idStep }

func (s probingStep) MayHandle(context.Context, *store.Message) (bool, error) { return *s.may, nil }

// A step that may handle the message runs after it is stored, as before;
// one that says (as a Prober) it will not is not run, and the turn is one
// commit.
func TestStepsSeeTheMessageStoredWhenTheyMayHandleIt(t *testing.T) {
	yes, no := true, false
	for _, tc := range []struct {
		name    string
		step    func(s *idStep) Step
		commits uint64
		runs    bool
	}{
		{"not a prober", func(s *idStep) Step { return s }, 2, true},
		{"prober: may", func(s *idStep) Step { s.may = &yes; return probingStep{s} }, 2, true},
		{"prober: will not", func(s *idStep) Step { s.may = &no; return probingStep{s} }, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			cfg := integration(t, st)
			is := &idStep{}
			s := New(st, engineWith(t, chat.Config{Memory: st}), Options{Steps: []Step{tc.step(is)}})
			before := st.Commits()
			out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
			if err != nil || out.Reply == nil {
				t.Fatalf("turn = %+v, %v", out, err)
			}
			if got := st.Commits() - before; got != tc.commits {
				t.Errorf("commits = %d, want %d", got, tc.commits)
			}
			if tc.runs && (len(is.seen) != 1 || is.seen[0] != out.Message.ID || out.Message.ID == 0) {
				t.Fatalf("step saw message id %v (stored as %d); want it stored first", is.seen, out.Message.ID)
			}
			if !tc.runs && len(is.seen) != 0 {
				t.Fatalf("step ran (saw %v) though its probe said it will not handle the message", is.seen)
			}
		})
	}
}

// The outcome's gap question names the stored message even though the
// outcome record was made before the message had an id.
func TestAGapQuestionNamesTheMessageStoredWithIt(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	rec := &gapRecorder{}
	s := New(st, engineWith(t, chat.Config{Memory: st}), Options{Observers: []Observer{rec}})
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
	if err != nil {
		t.Fatal(err)
	}
	gaps, err := st.GapQuestions(time.Time{}, 10)
	if err != nil || len(gaps) != 1 || gaps[0].QuestionID != out.Message.ID || gaps[0].AnswerID != out.Reply.ID || out.Message.ID == 0 {
		t.Fatalf("gaps = %+v, %v; want question %d answered by %d", gaps, err, out.Message.ID, out.Reply.ID)
	}
}

type gapRecorder struct{}

func (gapRecorder) Observe(context.Context, Outcome) {}
func (gapRecorder) Record(out Outcome) store.TurnWrite {
	msg := out.Message
	now := time.Now()
	return store.TurnOutcome{Event: store.TurnEvent{Ref: msg.Ref(), UserID: msg.UserID, Kind: store.TurnNoAnswer, At: now,
		Gap: &store.GapQuestion{QuestionID: msg.ID, ConfigID: msg.ConfigID, Platform: msg.Platform, ConversationID: msg.ConversationID,
			UserID: msg.UserID, Question: msg.Text, Reason: "no_answer", At: now}}, Quiet: time.Hour}
}

// panicky is an engine that panics.
type panicky struct{}

func (panicky) Answer(context.Context, chat.Request) (chat.Reply, error) { panic("engine bug") }

// A panicking engine fails the turn like an error does: the message is
// stored before the panic goes on (the channel's server recovers it).
func TestAPanickingTurnStillStoresTheMessage(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	s := New(st, panicky{}, Options{})
	func() {
		defer func() {
			if p := recover(); p != "engine bug" {
				t.Fatalf("recovered %v, want the engine's panic", p)
			}
		}()
		_, _ = s.Handle(context.Background(), inbound(cfg, "m1", "hello"))
	}()
	if u := unanswered(t, st); len(u) != 1 || u[0].PlatformMessageID != "m1" {
		t.Fatalf("unanswered after the panic = %+v; want the message", u)
	}
}
