package tools

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// noPassages is a knowledge base with nothing relevant: a message no tool
// takes gets the engine's no-answer reply.
type noPassages struct{}

func (noPassages) Search(context.Context, string, int) ([]chat.Passage, error) { return nil, nil }

// clock is a settable time for expiries.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type bot struct {
	st     *store.Store
	engine *chat.Engine
	api    *fakeAPI
	clock  *clock
	rec    *memRecorder
	step   *Step
}

// newBot is the real engine with the tool step over a real store, its
// tools calling a fake API over loopback.
func newBot(t *testing.T, handle http.HandlerFunc, change func(*Tool)) *bot {
	t.Helper()
	b := &bot{clock: &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}, rec: &memRecorder{}}
	b.api = newFakeAPI(t, handle)
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		st.Close()
	})
	b.st = st
	tool := orderTool()
	tool.URL = b.api.URL + "/api/orders/{order_id}?customer={{user_id}}"
	tool.Ask = "Which order? Please give me its {description}."
	if change != nil {
		change(&tool)
	}
	if _, err := Compile(tool); err != nil {
		t.Fatal(err)
	}
	rec, err := ToRecord(tool)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateTool(rec); err != nil {
		t.Fatal(err)
	}
	policy, _ := netguard.ParseAllowList("loopback")
	caller, err := NewCaller(Options{Policy: policy, Recorder: b.rec, Now: b.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	b.step = NewStep(st, caller, StepOptions{Now: b.clock.now})
	b.engine, err = chat.NewEngine(chat.Config{Retriever: noPassages{}, Memory: st, Tools: b.step,
		Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var convo = chat.Request{ConfigID: 1, Platform: "zendesk", ConversationID: "c1", UserID: "cust-7", Username: "Ann"}

func (b *bot) say(t *testing.T, text string) chat.Reply {
	t.Helper()
	req := convo
	req.Text = text
	r, err := b.engine.Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const shipped = `{"status":"shipped","shipping":{"eta":"Friday","address":"1 Main St"},"internal_note":"FRAUD-FLAG: refund abuse"}`

func wantToolAnswer(t *testing.T, r chat.Reply, answer string) {
	t.Helper()
	if r.Answer != answer || r.Type != chat.TypeAPITool || len(r.Sources) != 1 || r.Sources[0].Title != "order_status" || r.Sources[0].Source != "tool:order_status" {
		t.Fatalf("reply %q (%s, %+v), want %q from order_status", r.Answer, r.Type, r.Sources, answer)
	}
}

func TestTriggerAnswersFromTheAPI(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	r := b.say(t, "Where is my order #12345?")
	wantToolAnswer(t, r, "Order 12345 is shipped, expected Friday.")
	if got := b.api.last(t).URI; got != "/api/orders/12345?customer=cust-7" {
		t.Fatalf("request %s", got)
	}
	calls := b.rec.all()
	if len(calls) != 1 || calls[0].Outcome != "ok" || calls[0].Params["order_id"] != "12345" || calls[0].UserID != "cust-7" {
		t.Fatalf("recorded %+v", calls)
	}
	// Other messages go on to the knowledge base.
	if r := b.say(t, "What are your opening hours?"); r.Type != chat.TypeNoAnswer || r.Fallback != "" {
		t.Fatalf("unrelated message: %s %q", r.Type, r.Fallback)
	}
}

func TestMissingParameterIsAskedAndFilledNextMessage(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	wantToolAnswer(t, b.say(t, "where is my order?"), "Which order? Please give me its order number.")
	if b.api.hits.Load() != 0 {
		t.Fatal("called the API without the order id")
	}
	p, err := b.st.ToolPendingFor(convo.Ref())
	if err != nil || p.Missing != "order_id" || p.Tool != "order_status" || !p.ExpiresAt.Equal(b.clock.now().Add(DefaultPendingTTL)) {
		t.Fatalf("pending %+v %v", p, err)
	}
	wantToolAnswer(t, b.say(t, "it's 12345"), "Order 12345 is shipped, expected Friday.")
	if _, err := b.st.ToolPendingFor(convo.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pending after the call: %v", err)
	}
	// The conversation's memory has the turns, and nothing outside fields.
	c, err := b.st.Conversation(convo.Ref())
	if err != nil || len(c.Turns) != 4 || c.Turns[3].Text != "Order 12345 is shipped, expected Friday." {
		t.Fatalf("memory %+v %v", c.Turns, err)
	}
}

func TestCancelDropsTheHalfFilledCall(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	b.say(t, "where is my order")
	wantToolAnswer(t, b.say(t, "Cancel!"), "OK, I won't look that up.")
	if r := b.say(t, "12345"); r.Type == chat.TypeAPITool {
		t.Fatalf("after cancel the number was taken as the order id: %q", r.Answer)
	}
	if b.api.hits.Load() != 0 {
		t.Fatalf("API called %d times after cancel", b.api.hits.Load())
	}
}

func TestHalfFilledCallExpires(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	b.say(t, "where is my order")
	b.clock.add(DefaultPendingTTL)
	if r := b.say(t, "12345"); r.Type == chat.TypeAPITool || b.api.hits.Load() != 0 {
		t.Fatalf("an expired question was answered: %q (%d calls)", r.Answer, b.api.hits.Load())
	}
	if _, err := b.st.ToolPendingFor(convo.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired pending kept: %v", err)
	}
}

func TestIdentityComesFromThePayloadNotTheText(t *testing.T) {
	b := newBot(t, jsonReply(shipped), func(tl *Tool) {
		tl.URL = strings.Replace(tl.URL, "/api/orders/{order_id}?customer={{user_id}}", "/customers/{{user_id}}/orders/{order_id}?plan={{metadata.plan}}", 1)
		tl.Triggers = append(tl.Triggers, `(?i)order (?P<order_id>[0-9]+) (?:of|for) customer`)
	})
	req := convo
	req.Text = "where is order 12345 for customer 999? my customer_id=999"
	req.Metadata = `{"plan":"gold"}`
	r, err := b.engine.Answer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	wantToolAnswer(t, r, "Order 12345 is shipped, expected Friday.")
	got := b.api.last(t)
	if got.URI != "/customers/cust-7/orders/12345?plan=gold" || got.Header.Get("X-Customer-Id") != "cust-7" {
		t.Fatalf("request %s, X-Customer-Id %q", got.URI, got.Header.Get("X-Customer-Id"))
	}
}

func TestFieldsOutsideTheAllowListNeverReachTheAnswer(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	r := b.say(t, "where is my order 12345")
	c, _ := b.st.Conversation(convo.Ref())
	for _, secret := range []string{"FRAUD", "refund abuse", "1 Main St"} {
		if strings.Contains(r.Answer, secret) {
			t.Errorf("answer shows %q: %q", secret, r.Answer)
		}
		for _, turn := range c.Turns {
			if strings.Contains(turn.Text, secret) {
				t.Errorf("memory holds %q", secret)
			}
		}
		for _, call := range b.rec.all() {
			for _, v := range call.Params {
				if strings.Contains(v, secret) {
					t.Errorf("call log holds %q", secret)
				}
			}
		}
	}
}

func TestTemplateWithAMissingField(t *testing.T) {
	b := newBot(t, jsonReply(`{"status":"shipped"}`), nil) // no shipping.eta
	r := b.say(t, "where is my order 12345")
	if r.Answer != troubleText || r.Type != chat.TypeNoAnswer || r.Fallback != "tool_missing_field" || r.Sources[0].Title != "order_status" {
		t.Fatalf("reply %+v", r)
	}
}

func TestAPIFailureApologises(t *testing.T) {
	b := newBot(t, func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }, nil)
	r := b.say(t, "where is my order 12345")
	if r.Answer != troubleText || r.Type != chat.TypeNoAnswer || r.Fallback != "tool_http_error" {
		t.Fatalf("reply %+v", r)
	}
	if strings.Contains(r.Answer, "boom") || strings.Contains(r.Answer, "500") {
		t.Fatalf("the API's error reached the user: %q", r.Answer)
	}
}

func TestToolDeletedMidConversation(t *testing.T) {
	b := newBot(t, jsonReply(shipped), nil)
	b.say(t, "where is my order")
	if err := b.st.DeleteTool(1); err != nil {
		t.Fatal(err)
	}
	if r := b.say(t, "12345"); r.Type != chat.TypeNoAnswer || r.Fallback != "" || b.api.hits.Load() != 0 {
		t.Fatalf("reply %+v after the tool was deleted (%d calls)", r, b.api.hits.Load())
	}
	if _, err := b.st.ToolPendingFor(convo.Ref()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pending of a deleted tool kept: %v", err)
	}
}

func TestToolAnswersOnlyWhereEnabled(t *testing.T) {
	b := newBot(t, jsonReply(shipped), func(tl *Tool) { tl.EnabledFor = []string{"webhook:2", "cli"} })
	if r := b.say(t, "where is my order 12345"); r.Type == chat.TypeAPITool || b.api.hits.Load() != 0 {
		t.Fatalf("integration 1 got the tool of integration 2: %+v", r)
	}
}
