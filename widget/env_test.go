package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fakeEngine struct {
	mu   sync.Mutex
	reqs []chat.Request
}

func (f *fakeEngine) Answer(_ context.Context, req chat.Request) (chat.Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	return chat.Reply{Answer: "Reset it under Settings.", Type: chat.TypeExtractive,
		Sources: []chat.Source{{Title: "Passwords", Source: "docs/passwords.md", Score: 0.9}}}, nil
}

type fakeConversations struct {
	mu   sync.Mutex
	msgs []store.Message
}

func (f *fakeConversations) ConversationMessages(ref store.ConvRef) ([]store.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Message
	for _, m := range f.msgs {
		if m.Ref().Key() == ref.Key() {
			out = append(out, m)
		}
	}
	return out, nil
}

type env struct {
	t       *testing.T
	srv     *httptest.Server
	h       *Handler
	st      *store.Store
	clock   *clock
	engine  *fakeEngine
	convs   *fakeConversations
	metrics *metrics.Registry
}

// newEnv serves the widget's routes over loopback with a real store and
// the conversation service over a fake engine; tweak adjusts the options.
func newEnv(t *testing.T, tweak func(*Options)) *env {
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
	e := &env{t: t, st: st, clock: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}, engine: &fakeEngine{},
		convs: &fakeConversations{}, metrics: metrics.New()}
	opts := Options{
		Store: st, Log: slog.New(slog.DiscardHandler), Turns: conversation.New(st, e.engine, conversation.Options{Now: e.clock.Now}),
		Now: e.clock.Now, Conversations: e.convs, Metrics: e.metrics,
	}
	if tweak != nil {
		tweak(&opts)
	}
	e.h = New(opts)
	r := mux.NewRouter()
	e.h.Routes(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(c *http.Client, method, path string, body any, headers map[string]string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, _ := json.Marshal(b)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	out := resp{status: res.StatusCode, header: res.Header, raw: string(data)}
	_ = json.Unmarshal(data, &out.body)
	return out
}

func itoa(id uint64) string { return strconv.FormatUint(id, 10) }

// createWidget stores an active widget with these (normalised) origins and
// rate, as the panel's management API does.
func createWidget(t *testing.T, e *env, origins []string, rate int) *store.Widget {
	t.Helper()
	w := &store.Widget{Name: "Docs", AllowedOrigins: origins, RatePerMinute: rate, IsActive: true, Key: secret.NewToken("wk_")}
	if err := e.st.CreateWidget(w); err != nil {
		t.Fatalf("create widget: %v", err)
	}
	return w
}
