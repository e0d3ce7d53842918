package platform

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

const (
	testAPIToken = "cw-api-token-SECRET-9876"
	testSecret   = "cw-webhook-secret-5432"
	// waitLimit only turns a hang into a failure; nothing waits for it.
	waitLimit = 30 * time.Second
)

// apiCall is one request the fake Chatwoot received.
type apiCall struct {
	Method, Path, Token, ContentType string
	Auth                             string // Authorization
	Body                             map[string]any
	At                               time.Time
}

// reply is how the fake answers one request: a status (200 when 0), a
// Retry-After, a body, or a dropped connection.
type reply struct {
	status     int
	retryAfter string
	body       string
	drop       bool
}

// fakeChatwoot is a local Chatwoot API over loopback: it records every
// call and answers the scripted replies first, then 200.
type fakeChatwoot struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	calls  []apiCall
	script []reply
	nextID int
	// delivered gets each call answered 2xx.
	delivered chan apiCall
}

func newFakeChatwoot(t *testing.T) *fakeChatwoot {
	f := &fakeChatwoot{t: t, nextID: 9000, delivered: make(chan apiCall, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeChatwoot) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	c := apiCall{Method: r.Method, Path: r.URL.Path, Token: r.Header.Get("api_access_token"), Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), At: time.Now()}
	if err := json.Unmarshal(raw, &c.Body); err != nil {
		f.t.Errorf("fake Chatwoot: body of %s %s is not JSON: %q", r.Method, r.URL.Path, raw)
	}
	f.mu.Lock()
	f.calls = append(f.calls, c)
	rep := reply{}
	if len(f.script) > 0 {
		rep, f.script = f.script[0], f.script[1:]
	}
	f.nextID++
	id := f.nextID
	f.mu.Unlock()
	switch {
	case rep.drop:
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			f.t.Errorf("fake Chatwoot: hijack: %v", err)
			return
		}
		conn.Close()
		return
	case rep.status != 0 && rep.status != http.StatusOK:
		if rep.retryAfter != "" {
			w.Header().Set("Retry-After", rep.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		io.WriteString(w, rep.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Chatwoot answers the message; Sunshine Conversations a list.
	io.WriteString(w, `{"id":`+strconv.Itoa(id)+`,"message_type":"outgoing","messages":[{"id":"sc_`+strconv.Itoa(id)+`"}]}`)
	f.delivered <- c
}

func (f *fakeChatwoot) fail(r ...reply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.script = append(f.script, r...)
}

func (f *fakeChatwoot) recorded() []apiCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]apiCall(nil), f.calls...)
}

// waitDelivered waits for n calls answered 2xx and returns them.
func (f *fakeChatwoot) waitDelivered(t *testing.T, n int) []apiCall {
	t.Helper()
	var out []apiCall
	for len(out) < n {
		select {
		case c := <-f.delivered:
			out = append(out, c)
		case <-time.After(waitLimit):
			t.Fatalf("waited for %d delivered calls, got %d: %+v", n, len(out), out)
		}
	}
	return out
}

// fakeAnswerer answers "Answer: <text>" and counts its calls.
type fakeAnswerer struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeAnswerer) Answer(_ context.Context, req chat.Request) (chat.Reply, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.Text)
	return chat.Reply{Answer: "Answer: " + req.Text, Type: chat.TypeExtractive}, nil
}

func (f *fakeAnswerer) asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// observer passes each finished turn to a channel.
type observer chan conversation.Outcome

func (o observer) Observe(_ context.Context, out conversation.Outcome) { o <- out }

// harness is the bot's side: the store, the turn with the platform step,
// the events endpoint over loopback and the delivery worker with the
// native senders, talking to a fake Chatwoot.
type harness struct {
	st       *store.Store
	turns    *conversation.Service
	h        *Handler
	worker   *webhook.Worker
	srv      *httptest.Server
	cw       *fakeChatwoot
	cfg      webhook.ConfigView
	answerer *fakeAnswerer
	answered observer
	attempts chan webhook.AttemptReport
	now      time.Time
	closed   bool
	// sign authenticates a body as the platform does.
	sign func(body []byte) http.Header
}

func newHarness(t *testing.T, edit func(in *webhook.ConfigInput)) *harness {
	t.Helper()
	return newHarnessWith(t, edit, nil)
}

// newHarnessWith is newHarness with the handler's options set by opts,
// which gets the delivery worker's sender (for Options.Call).
func newHarnessWith(t *testing.T, edit func(in *webhook.ConfigInput), opts func(o *Options, sender Caller)) *harness {
	t.Helper()
	box, err := secret.NewBox(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir(), store.Options{Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	hs := &harness{st: st, cw: newFakeChatwoot(t), answerer: &fakeAnswerer{}, answered: make(observer, 100),
		attempts: make(chan webhook.AttemptReport, 1000), now: time.Now(),
		sign: func(body []byte) http.Header { return sign(testSecret, time.Now(), body) }}
	in := webhook.ConfigInput{Name: ptr("Chatwoot"), Provider: ptr("chatwoot"), Adapter: ptr("native"),
		APIURL: ptr(hs.cw.srv.URL), APIToken: ptr(testAPIToken), PlatformSecret: ptr(testSecret), Account: ptr("7"),
		BotID: ptr("agent_bot:3"), RetryAttempts: ptr(5)}
	if edit != nil {
		edit(&in)
	}
	if hs.cfg, err = webhook.NewConfigs(st).Create(in); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	turns := conversation.New(st, hs.answerer, conversation.Options{Log: log,
		Steps:     []conversation.Step{NewSteps(st, livechat.NewDetector(nil, nil))},
		Observers: []conversation.Observer{hs.answered}})
	hs.turns = turns
	policy, err := webhook.ParseAllowList("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	sender := webhook.NewSender(policy, webhook.SenderOptions{})
	var o Options
	if opts != nil {
		opts(&o, sender)
	}
	hs.h = NewHandler(st, turns, Adapters(), log, o)
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	hs.h.Routes(r, func(h http.Handler) http.Handler { return h })
	hs.srv = httptest.NewServer(r)
	hs.worker = webhook.NewWorker(st, sender, log, webhook.WorkerOptions{Workers: 2,
		Retry:  store.RetryPolicy{Base: 20 * time.Millisecond, Cap: 100 * time.Millisecond},
		Native: NewSenders(Adapters(), sender, st, log), CircuitThreshold: 100,
		OnAttempt: func(r webhook.AttemptReport) { hs.attempts <- r }})
	if err := hs.worker.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		hs.srv.Close()
		hs.close(t)
		if err := st.Check(); err != nil {
			t.Errorf("store check: %v", err)
		}
		st.Close()
	})
	return hs
}

// close stops taking events, waits for the answers in progress, then for
// the delivery queue to drain, and stops the worker: after it, every call
// the bot would make has been made.
func (hs *harness) close(t *testing.T) {
	t.Helper()
	if hs.closed {
		return
	}
	hs.closed = true
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := hs.h.Close(ctx); err != nil {
		t.Error(err)
	}
	for {
		n, err := hs.st.PendingDeliveries()
		if err != nil || n == 0 {
			break
		}
		select {
		case <-hs.attempts:
		case <-ctx.Done():
			t.Errorf("%d deliveries still pending", n)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := hs.worker.Stop(ctx); err != nil {
		t.Error(err)
	}
}

func ptr[T any](v T) *T { return &v }

// fixture reads testdata/chatwoot/name and applies edit to it.
func fixture(t *testing.T, name string, edit func(m map[string]any)) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "chatwoot", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// message edits a message_created fixture: its id and text.
func message(id int, text string) func(m map[string]any) {
	return func(m map[string]any) { m["id"], m["content"] = id, text }
}

// sign returns Chatwoot's headers for body signed with secret at ts.
func sign(secret string, ts time.Time, body []byte) http.Header {
	t := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("X-Chatwoot-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("X-Chatwoot-Timestamp", t)
	return h
}

type result struct {
	status int
	body   map[string]any
}

// post sends body to the integration's events endpoint with headers.
func (hs *harness) post(t *testing.T, body []byte, h http.Header) result {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, hs.srv.URL+hs.cfg.EventsPath, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var res result
	res.status = resp.StatusCode
	if err := json.NewDecoder(resp.Body).Decode(&res.body); err != nil {
		t.Fatalf("response body: %v", err)
	}
	return res
}

// signed posts body signed with the integration's secret, now.
func (hs *harness) signed(t *testing.T, body []byte) result {
	t.Helper()
	return hs.post(t, body, hs.sign(body))
}

// waitTurn waits for the next finished turn.
func (hs *harness) waitTurn(t *testing.T) conversation.Outcome {
	t.Helper()
	select {
	case out := <-hs.answered:
		return out
	case <-time.After(waitLimit):
		t.Fatal("no turn finished")
	}
	return conversation.Outcome{}
}

// get reads an admin API path of the handler.
func (hs *harness) get(t *testing.T, path string) map[string]any {
	t.Helper()
	resp, err := http.Get(hs.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// messagesPath is the Chatwoot messages API path of conversation conv.
func messagesPath(conv string) string {
	return "/api/v1/accounts/7/conversations/" + conv + "/messages"
}
