package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// fakeAnswerer records its calls and answers with reply. With hold set,
// every call waits until hold is closed; entered receives one value per
// call as it starts. With takes set, every call moves clock (the clock of
// the handler and the store) forward by takes, as a slow engine would.
type fakeAnswerer struct {
	mu      sync.Mutex
	calls   []chat.Request
	reply   chat.Reply
	err     error
	hold    chan struct{}
	entered chan struct{}
	panics  bool
	clock   *testClock
	takes   time.Duration
}

// with changes the fake under its lock (the handler reads it concurrently).
func (f *fakeAnswerer) with(fn func(f *fakeAnswerer)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeAnswerer) recorded() []chat.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]chat.Request(nil), f.calls...)
}

func (f *fakeAnswerer) Answer(ctx context.Context, req chat.Request) (chat.Reply, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	reply, err, hold, entered, panics, clock, takes := f.reply, f.err, f.hold, f.entered, f.panics, f.clock, f.takes
	f.mu.Unlock()
	if panics {
		panic("fake engine panics")
	}
	if clock != nil && takes > 0 {
		clock.Add(takes)
	}
	if entered != nil {
		entered <- struct{}{}
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return chat.Reply{}, ctx.Err()
		}
	}
	return reply, err
}

func (f *fakeAnswerer) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// testClock is a settable clock shared by the handler and the store.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type inHarness struct {
	srv      *httptest.Server
	st       *store.Store
	in       *Incoming
	answerer *fakeAnswerer
	configs  *Configs
	clock    *testClock
	dir      string
	once     sync.Once
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newInHarness starts the webhook API over loopback with a real store in
// dir (a fresh temp dir when empty). Logs go to logTo, if given, at debug.
func newInHarness(t testing.TB, dir string, opts IncomingOptions, logTo ...io.Writer) *inHarness {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	clock := &testClock{t: time.Date(2026, 1, 19, 12, 0, 0, 0, time.UTC)}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	st, err := store.Open(dir, store.Options{Sealer: testBox(), Now: opts.Now, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	fa := &fakeAnswerer{reply: chat.Reply{Answer: "Reset it under Settings > Security.", Type: chat.TypeRAG,
		Sources: []chat.Source{{Title: "Passwords", Source: "docs/account.md#reset", Score: 0.82}}}, clock: clock}
	log := quietLog()
	if len(logTo) > 0 {
		log = slog.New(slog.NewJSONHandler(logTo[0], &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	in := NewIncoming(st, conversation.New(st, fa, conversation.Options{Now: opts.Now, Log: log}), log, opts)
	configs := NewConfigs(st)
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowed()
	NewHandler(configs, log).WithIncoming(in).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	srv := httptest.NewServer(httpapi.Logging(log)(r))
	h := &inHarness{srv: srv, st: st, in: in, answerer: fa, configs: configs, clock: clock, dir: dir}
	t.Cleanup(h.close(t))
	return h
}

func (h *inHarness) close(t testing.TB) func() {
	return func() {
		h.once.Do(func() {
			h.srv.Close()
			if err := h.in.Close(context.Background()); err != nil {
				t.Errorf("close incoming: %v", err)
			}
			if err := h.st.Check(); err != nil {
				t.Errorf("store check: %v", err)
			}
			h.st.Close()
		})
	}
}

// addConfig creates an integration and returns its incoming token.
func (h *inHarness) addConfig(t testing.TB, in ConfigInput) string {
	t.Helper()
	v, err := h.configs.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	return v.IncomingToken
}

func ptr[T any](v T) *T { return &v }

func cfgInput(name, provider, url string) ConfigInput {
	return ConfigInput{Name: ptr(name), Provider: ptr(provider), OutgoingURL: ptr(url)}
}

type inResult struct {
	status int
	body   map[string]any
	header http.Header
}

// post sends body to the incoming endpoint with token and extra headers.
func (h *inHarness) post(t testing.TB, token, body string, hdr ...string) inResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/api/webhook/incoming", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Add(hdr[i], hdr[i+1])
	}
	return h.do(t, req)
}

func (h *inHarness) do(t testing.TB, req *http.Request) inResult {
	t.Helper()
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("body is not JSON (%d): %q", resp.StatusCode, data)
	}
	return inResult{status: resp.StatusCode, body: m, header: resp.Header}
}

func (h *inHarness) get(t testing.TB, path, token string) inResult {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(t, req)
}

func (h *inHarness) stored(t testing.TB) []*store.Message {
	t.Helper()
	ms, _, err := h.st.ListMessages(store.MessageFilter{}, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

const validIncoming = `{"user_id": "external_user_123", "username": "John Doe",
 "message": "Hello, I need help with my account", "platform": "freshchat",
 "conversation_id": "conv_456", "timestamp": "2025-01-19T12:00:00Z",
 "metadata": {"channel": "web", "user_agent": "curl", "custom_fields": {}}}`

func withMessageID(id string) string {
	return strings.Replace(validIncoming, `"conv_456",`, `"conv_456", "message_id": "`+id+`",`, 1)
}

func newStoreConfig() *store.WebhookConfig { return &store.WebhookConfig{} }

func testBox() *secret.Box {
	box, _ := secret.NewBox(bytes.Repeat([]byte{3}, 32))
	return box
}
