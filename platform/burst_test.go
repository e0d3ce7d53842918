package platform

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// fakeTimers is the burst window's clock: every After is a channel the
// test fires, and windows records the durations asked for.
type fakeTimers struct {
	mu      sync.Mutex
	pending []chan time.Time
	windows []time.Duration
}

func (f *fakeTimers) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	f.pending = append(f.pending, c)
	f.windows = append(f.windows, d)
	return c
}

// fireAll ends every window started so far.
func (f *fakeTimers) fireAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.pending {
		c <- time.Now()
	}
	f.pending = nil
}

func (f *fakeTimers) started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.windows)
}

func newBurstHarness(t *testing.T, window time.Duration) (*harness, *fakeTimers) {
	ft := &fakeTimers{}
	return newHarnessWith(t, nil, func(o *Options, _ Caller) { o.BurstWindow, o.After = window, ft.After }), ft
}

// inConv edits a message_created fixture: its id, text and conversation.
func inConv(id int, text string, conv int) func(m map[string]any) {
	return func(m map[string]any) {
		message(id, text)(m)
		m["conversation"].(map[string]any)["id"] = conv
	}
}

func TestBurstOfThreeMessagesGetsOneReply(t *testing.T) {
	hs, ft := newBurstHarness(t, 1500*time.Millisecond)
	var ids []any
	for i, text := range []string{"Hi", "I can't log in", "it says my password is wrong"} {
		res := hs.signed(t, fixture(t, "message_created_incoming.json", message(5001+i, text)))
		if res.status != 200 || res.body["duplicate"] != nil {
			t.Fatalf("event %d: %d %v", i, res.status, res.body)
		}
		ids = append(ids, res.body["message_id"])
	}
	if n := ft.started(); n != 3 {
		t.Fatalf("%d windows started, want 3", n)
	}
	if asked := hs.answerer.asked(); len(asked) != 0 {
		t.Fatalf("engine asked before the window ended: %q", asked)
	}
	ft.fireAll()
	got := hs.cw.waitDelivered(t, 1)[0]
	// A retry of the first message of the burst gets no second answer.
	retry := hs.signed(t, fixture(t, "message_created_incoming.json", message(5001, "Hi")))
	if retry.status != 200 || retry.body["duplicate"] != true || retry.body["message_id"] != ids[0] {
		t.Fatalf("retry: %d %v, want duplicate of %v", retry.status, retry.body, ids[0])
	}
	hs.close(t)
	want := "Hi\nI can't log in\nit says my password is wrong"
	if got.Path != messagesPath("58") || got.Body["content"] != "Answer: "+want {
		t.Fatalf("call = %s %v, want the answer to %q", got.Path, got.Body, want)
	}
	if calls := hs.cw.recorded(); len(calls) != 1 {
		t.Fatalf("%d calls, want 1: %+v", len(calls), calls)
	}
	if asked := hs.answerer.asked(); !reflect.DeepEqual(asked, []string{want}) {
		t.Fatalf("engine asked %q, want once %q", asked, want)
	}
	if !reflect.DeepEqual(ft.windows, []time.Duration{1500 * time.Millisecond, 1500 * time.Millisecond, 1500 * time.Millisecond}) {
		t.Fatalf("windows = %v", ft.windows)
	}
	in, _, err := hs.st.ListMessages(store.MessageFilter{Type: store.MessageIncoming}, 0, 10)
	if err != nil || len(in) != 3 {
		t.Fatalf("incoming = %+v, %v", in, err)
	}
	texts := map[string]bool{}
	for _, m := range in {
		texts[m.Text] = true
		if m.ResponseType != "extractive" {
			t.Errorf("message %d %q: response type %q, want extractive (handled by the burst)", m.ID, m.Text, m.ResponseType)
		}
	}
	if !texts["Hi"] || !texts["I can't log in"] || !texts["it says my password is wrong"] {
		t.Errorf("stored texts = %v, want each message's own", texts)
	}
	if n, err := hs.st.Unanswered(10); err != nil || len(n) != 0 {
		t.Errorf("unanswered = %+v, %v; want none", n, err)
	}
}

func TestBurstsOfTwoConversationsDoNotMerge(t *testing.T) {
	hs, ft := newBurstHarness(t, time.Second)
	hs.signed(t, fixture(t, "message_created_incoming.json", inConv(6001, "first question", 58)))
	hs.signed(t, fixture(t, "message_created_incoming.json", inConv(6002, "other question", 59)))
	hs.signed(t, fixture(t, "message_created_incoming.json", inConv(6003, "more of the first", 58)))
	ft.fireAll()
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	got := map[string]any{}
	for _, c := range calls {
		got[c.Path] = c.Body["content"]
	}
	want := map[string]any{messagesPath("58"): "Answer: first question\nmore of the first", messagesPath("59"): "Answer: other question"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("replies = %v\nwant %v", got, want)
	}
	if n := len(hs.cw.recorded()); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

func TestBurstWindowZeroAnswersEachMessage(t *testing.T) {
	hs, ft := newBurstHarness(t, 0)
	hs.signed(t, fixture(t, "message_created_incoming.json", message(7001, "one")))
	hs.cw.waitDelivered(t, 1)
	hs.signed(t, fixture(t, "message_created_incoming.json", message(7002, "two")))
	hs.cw.waitDelivered(t, 1)
	hs.close(t)
	if asked := hs.answerer.asked(); !reflect.DeepEqual(asked, []string{"one", "two"}) {
		t.Fatalf("engine asked %q", asked)
	}
	var contents []any
	for _, c := range hs.cw.recorded() {
		contents = append(contents, c.Body["content"])
	}
	if !reflect.DeepEqual(contents, []any{"Answer: one", "Answer: two"}) {
		t.Fatalf("replies = %v", contents)
	}
	if n := ft.started(); n != 0 {
		t.Fatalf("%d windows started with the window off", n)
	}
}

func TestBurstPendingAtShutdownIsAnsweredWhenItsWindowEnds(t *testing.T) {
	hs, ft := newBurstHarness(t, time.Second)
	hs.signed(t, fixture(t, "message_created_incoming.json", message(8001, "a")))
	hs.signed(t, fixture(t, "message_created_incoming.json", message(8002, "b")))
	closed := make(chan struct{})
	go func() { hs.close(t); close(closed) }()
	ft.fireAll()
	<-closed
	if asked := hs.answerer.asked(); !reflect.DeepEqual(asked, []string{"a\nb"}) {
		t.Fatalf("engine asked %q", asked)
	}
	if n := len(hs.cw.recorded()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
}
