package conversation

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// onePassage retrieves one passage for every question; the extractive
// answerer quotes it.
type onePassage struct{}

func (onePassage) Search(context.Context, string, int) ([]chat.Passage, error) {
	return []chat.Passage{{Title: "Refunds", Source: "refunds.md", Text: "Refunds take five days.", Score: 0.9}}, nil
}

func quote(_ string, ps []chat.Passage, _ int) (string, []chat.Passage) { return ps[0].Text, ps }

func engine(t *testing.T, st *store.Store) *chat.Engine { return engineFor(t, st) }

func engineFor(t testing.TB, st *store.Store) *chat.Engine {
	t.Helper()
	e, err := chat.NewEngine(chat.Config{Retriever: onePassage{}, Extract: quote, Memory: st})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// outcomes is a Recorder: its record rides in the reply's transaction.
type outcomes struct {
	observed atomic.Int32
	recorded atomic.Int32
}

func (o *outcomes) Record(out Outcome) store.TurnWrite {
	return store.TurnOutcome{Event: store.TurnEvent{Ref: out.Message.Ref(), UserID: out.Message.UserID,
		Kind: store.TurnAnswered, At: time.Now()}, Quiet: time.Hour}
}

func (o *outcomes) Observe(_ context.Context, out Outcome) {
	o.observed.Add(1)
	if out.Recorded {
		o.recorded.Add(1)
	}
}

// A synchronous turn through the engine costs one commit: the incoming
// message with the reply, its memory and its outcome (it was four:
// incoming, memory, reply, outcome, one after the other; then two:
// incoming, then the rest).
func TestATurnStoresReplyMemoryAndOutcomeInOneCommit(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	rec := &outcomes{}
	s := New(st, engine(t, st), Options{Observers: []Observer{rec}})
	before := st.Commits()
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Commits() - before; got != 1 {
		t.Errorf("commits for one turn = %d, want 1 (incoming+reply+memory+outcome)", got)
	}
	if out.Reply == nil || out.Reply.Text != "Refunds take five days." || !out.Recorded {
		t.Fatalf("outcome = %+v, reply %+v", out, out.Reply)
	}
	mem, err := st.Conversation(out.Message.Ref())
	if err != nil || len(mem.Turns) != 2 || mem.Turns[0].Text != "how long do refunds take?" || mem.Turns[1].Text != "Refunds take five days." {
		t.Fatalf("memory = %+v, %v; want the question and the answer", mem.Turns, err)
	}
	oc, err := st.ConvOutcomeOf(out.Message.Ref())
	if err != nil || oc.State != store.OutcomeOpen && oc.State != store.OutcomeAnswered {
		t.Fatalf("outcome record = %+v, %v", oc, err)
	}
	if rec.observed.Load() != 1 || rec.recorded.Load() != 1 {
		t.Errorf("observed %d, recorded %d; want 1 and 1", rec.observed.Load(), rec.recorded.Load())
	}
}

// failingReply fails the first InsertReply, as a full disk would.
type failingReply struct {
	*store.Store
	failed atomic.Bool
}

func (f *failingReply) InsertReply(id uint64, out *store.Message, deliver bool, with ...store.TurnWrite) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New("disk full")
	}
	return f.Store.InsertReply(id, out, deliver, with...)
}

// When the reply cannot be stored, the memory does not keep the turn
// either: the platform's retry answers it again and the memory holds it
// once (it held it twice when the engine wrote the memory itself).
func TestAFailedReplyLeavesNoMemory(t *testing.T) {
	st := openStore(t)
	cfg := integration(t, st)
	s := New(&failingReply{Store: st}, engine(t, st), Options{})
	if _, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?")); err == nil {
		t.Fatal("the first delivery succeeded; want the store failure")
	}
	if mem, err := st.Conversation(store.ConvRef{ConfigID: cfg, Platform: "chatwoot", ConversationID: "c1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("memory after a failed reply = %+v, %v; want none", mem.Turns, err)
	}
	out, err := s.Handle(context.Background(), inbound(cfg, "m1", "how long do refunds take?"))
	if err != nil || out.Reply == nil {
		t.Fatalf("retry = %+v, %v", out, err)
	}
	mem, err := st.Conversation(out.Message.Ref())
	if err != nil || len(mem.Turns) != 2 {
		t.Fatalf("memory after the retry = %+v, %v; want the turn once (2 turns)", mem.Turns, err)
	}
}
