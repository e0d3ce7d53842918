package webhook

import (
	"errors"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// A synchronous webhook request is one commit: the message, its reply and
// the reply's delivery job together (it was two: the message on arrival,
// then the reply). A retry of the answered message id costs none.
func TestIncomingSyncIsOneCommit(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	before := h.st.Commits()
	res := h.post(t, token, withMessageID("fc-1"))
	if res.status != 200 || res.body["message_id"] != 1.0 || res.body["response_id"] != 2.0 {
		t.Fatalf("sync: %d %v", res.status, res.body)
	}
	if got := h.st.Commits() - before; got != 1 {
		t.Fatalf("commits for a sync request = %d, want 1", got)
	}
	ms := h.stored(t)
	if len(ms) != 2 || ms[0].ID != 2 || ms[0].Status != store.StatusPending || ms[1].ID != 1 || ms[1].ResponseID != 2 {
		t.Fatalf("stored %+v; want the message and its pending reply", ms)
	}
	before = h.st.Commits()
	dup := h.post(t, token, withMessageID("fc-1"))
	if dup.status != 200 || dup.body["duplicate"] != true || dup.body["response_id"] != 2.0 || h.st.Commits() != before || h.answerer.count() != 1 {
		t.Fatalf("retry: %d %v, %d commits, %d answers", dup.status, dup.body, h.st.Commits()-before, h.answerer.count())
	}
}

// When the engine fails, the message is stored all the same (alone) and
// the platform gets 503 with Retry-After; its retry answers that message.
func TestIncomingSyncFailureKeepsTheMessage(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	h.answerer.with(func(f *fakeAnswerer) { f.err = errors.New("engine down") })
	res := h.post(t, token, withMessageID("fc-1"))
	if res.status != 503 || res.header.Get("Retry-After") == "" {
		t.Fatalf("failed turn: %d %v (Retry-After %q)", res.status, res.body, res.header.Get("Retry-After"))
	}
	ms := h.stored(t)
	if len(ms) != 1 || ms[0].Type != store.MessageIncoming || ms[0].PlatformMessageID != "fc-1" || ms[0].ResponseID != 0 {
		t.Fatalf("stored after the failure %+v; want the message, unanswered", ms)
	}
	h.answerer.with(func(f *fakeAnswerer) { f.err = nil })
	retry := h.post(t, token, withMessageID("fc-1"))
	if retry.status != 200 || retry.body["message_id"] != 1.0 || retry.body["response_id"] != 2.0 {
		t.Fatalf("retry: %d %v", retry.status, retry.body)
	}
}
