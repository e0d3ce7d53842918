package insights

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// clock is the injected time of a test, moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// scripted answers by keyword: "human" opens a hand-off, "paypal" has no
// answer, "weak" is answered from a passage that scored low, anything
// else from one that scored high.
type scripted struct{}

func (scripted) Answer(_ context.Context, req chat.Request) (chat.Reply, error) {
	t := strings.ToLower(req.Text)
	switch {
	case strings.Contains(t, "human"):
		return chat.Reply{Type: chat.TypeLiveChatTransfer, Answer: "An agent will be with you.", SessionID: "live_1"}, nil
	case strings.Contains(t, "paypal"):
		return chat.Reply{Type: chat.TypeNoAnswer, Answer: "I could not find that."}, nil
	case strings.Contains(t, "weak"):
		return chat.Reply{Type: chat.TypeExtractive, Answer: "Maybe this.", Sources: []chat.Source{{Title: "Misc", Source: "misc.md", Score: 0.3}}}, nil
	}
	return chat.Reply{Type: chat.TypeExtractive, Answer: "Here is how.", Sources: []chat.Source{{Title: "Guide", Source: "guide.md", Score: 0.9}}}, nil
}

// start is the first day of every test: 2026-03-02 10:00 UTC.
var start = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

type fixture struct {
	t     testing.TB
	clk   *clock
	st    *store.Store
	ins   *Service
	turns *conversation.Service
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	clk := &clock{t: start}
	st, err := store.Open(t.TempDir(), store.Options{Now: clk.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ins := New(st, Options{Now: clk.Now})
	turns := conversation.New(st, scripted{}, conversation.Options{Now: clk.Now, Observers: []conversation.Observer{ins}})
	return &fixture{t: t, clk: clk, st: st, ins: ins, turns: turns}
}

// say sends text in conversation conv of integration 1 as user u1.
func (f *fixture) say(conv, text string) conversation.Outcome {
	return f.sayAs(1, conv, "u1", text)
}

func (f *fixture) sayAs(configID uint64, conv, user, text string) conversation.Outcome {
	f.t.Helper()
	out, err := f.turns.Handle(context.Background(), conversation.Inbound{Channel: conversation.Webhook, ConfigID: configID,
		Platform: "chatwoot", ConversationID: conv, UserID: user, Text: text})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func ref(conv string) store.ConvRef {
	return store.ConvRef{ConfigID: 1, Platform: "chatwoot", ConversationID: conv}
}

// outcome is the conversation's outcome as of the clock.
func (f *fixture) outcome(conv string) store.Outcome {
	f.t.Helper()
	c, err := f.st.ConvOutcomeOf(ref(conv))
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Effective(f.clk.Now(), f.ins.Quiet())
}

// day is the counts of one day (all integrations) as of the clock.
func (f *fixture) day(t time.Time) store.DayCounts {
	f.t.Helper()
	days, err := f.st.OutcomeDays(t, t, store.Scope{}, f.clk.Now(), f.ins.Quiet())
	if err != nil {
		f.t.Fatal(err)
	}
	return days[store.Day(t)]
}

func (f *fixture) rate(answerID uint64, rating store.Rating, rater string) {
	f.t.Helper()
	if _, _, err := f.st.PutFeedback(store.Feedback{MessageID: answerID, Rating: rating, Rater: rater, RaterKind: store.RaterUser}, f.ins.Quiet()); err != nil {
		f.t.Fatal(err)
	}
}

func inbound(conv, text, messageID string) conversation.Inbound {
	return conversation.Inbound{Channel: conversation.Webhook, ConfigID: 1, Platform: "chatwoot",
		ConversationID: conv, UserID: "u1", Text: text, PlatformMessageID: messageID}
}

// widgetAnswer answers one question in conversation visitor-conv-1 of
// widget 1 and returns the answer's id.
func (f *fixture) widgetAnswer(tb testing.TB) uint64 {
	tb.Helper()
	out, err := f.turns.Handle(context.Background(), conversation.Inbound{Channel: conversation.Widget, WidgetID: 1,
		Platform: store.WidgetPlatform, ConversationID: "visitor-conv-1", UserID: "visitor_visitor-conv-1", Text: "how do I reset my password?", Mode: store.ResponseSync})
	if err != nil {
		tb.Fatal(err)
	}
	return out.ResponseID()
}
