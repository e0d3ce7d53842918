package webhook

import (
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// The engine takes 1.5 s on the injected clock: the incoming message and
// its answer both record latency_ms 1500, in the store and in the listing.
func TestIncomingRecordsAnswerLatency(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	h.answerer.with(func(f *fakeAnswerer) { f.takes = 1500 * time.Millisecond })
	if res := h.post(t, token, validIncoming); res.status != 200 {
		t.Fatalf("%d %v", res.status, res.body)
	}
	ms := h.stored(t)
	if len(ms) != 2 {
		t.Fatalf("stored %d messages, want 2", len(ms))
	}
	for _, m := range ms {
		if m.LatencyMS != 1500 {
			t.Errorf("%s message %d latency_ms = %d, want 1500", m.Type, m.ID, m.LatencyMS)
		}
	}
	list := h.get(t, "/api/webhook/messages", testAdminToken)
	for _, v := range list.body["messages"].([]any) {
		m := v.(map[string]any)
		if m["latency_ms"] != 1500.0 {
			t.Errorf("listed %v message latency_ms = %v, want 1500", m["message_type"], m["latency_ms"])
		}
	}
}

// A message routed to a live-chat agent stores no answer of ours, but its
// incoming record still says how long the engine took.
func TestIncomingLiveChatRecordsLatency(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	token := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	h.answerer.with(func(f *fakeAnswerer) {
		f.reply = chat.Reply{Type: chat.TypeLiveChatMessage, SessionID: "live_abc"}
		f.takes = 1500 * time.Millisecond
	})
	if res := h.post(t, token, validIncoming); res.status != 200 {
		t.Fatalf("%d %v", res.status, res.body)
	}
	ms := h.stored(t)
	if len(ms) != 1 || ms[0].Type != store.MessageIncoming || ms[0].LatencyMS != 1500 {
		t.Fatalf("stored %+v, want one incoming message with latency_ms 1500", ms)
	}
}

// A token whose platform contradicts the payload is refused (403) before
// the platform's budget is counted: 100 such requests leave all 100
// tokens of the minute to the real platform, and the 101st real one is
// the first to get 429.
func TestIncomingPlatformMismatchDoesNotSpendBudget(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	zendesk := h.addConfig(t, cfgInput("Zendesk", "zendesk", ""))
	for i := range 100 {
		res := h.post(t, zendesk, validIncoming) // says "platform": "freshchat"
		if res.status != 403 || !strings.Contains(res.body["error"].(string), "does not match") {
			t.Fatalf("mismatched request %d: %d %v", i+1, res.status, res.body)
		}
	}
	own := strings.Replace(validIncoming, "freshchat", "zendesk", 1)
	for i := range 100 {
		if res := h.post(t, zendesk, own); res.status != 200 {
			t.Fatalf("request %d after 100 mismatches: %d %v", i+1, res.status, res.body)
		}
	}
	if res := h.post(t, zendesk, own); res.status != 429 {
		t.Fatalf("101st matching request: %d, want 429 (the budget is still counted)", res.status)
	}
	if s := h.in.Stats(); s.Forbidden != 100 || s.Accepted != 100 || s.RateLimited != 1 {
		t.Fatalf("stats = %+v", s)
	}
}
