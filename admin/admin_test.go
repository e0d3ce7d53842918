package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const testToken = "test-admin-token-0123456789"

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
	t      *testing.T
	srv    *httptest.Server
	h      *Handler
	st     *store.Store
	clock  *clock
	engine *fakeEngine
	convs  *fakeConversations
	ingest []string
}

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
	e := &env{t: t, st: st, clock: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}, engine: &fakeEngine{}, convs: &fakeConversations{}}
	auth := httpapi.NewAdminAuth(secret.Hash(testToken))
	opts := Options{
		Store: st, Auth: auth, Log: slog.New(slog.DiscardHandler), Turns: conversation.New(st, e.engine, conversation.Options{Now: e.clock.Now}), Now: e.clock.Now, Conversations: e.convs,
		Reingest: func(_ context.Context, id uint64) (any, error) { return map[string]uint64{"id": id}, nil },
		Ingest: func(_ context.Context, name string, data []byte) (any, error) {
			e.ingest = append(e.ingest, name)
			return map[string]int{"chunks": 2}, nil
		},
	}
	if tweak != nil {
		tweak(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	r := mux.NewRouter()
	h.Routes(r)
	// Another package's management API, guarded by the same AdminAuth.
	r.Handle("/api/other", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	}))).Methods(http.MethodGet, http.MethodPost)
	e.srv = httptest.NewServer(h.Metrics().Middleware(RouteOf(r))(h.Protect(r)))
	t.Cleanup(e.srv.Close)
	return e
}

// client returns an HTTP client with its own cookie jar.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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

// login logs c in and returns the CSRF token.
func (e *env) login(c *http.Client) string {
	e.t.Helper()
	r := e.do(c, "POST", "/admin/api/login", map[string]string{"token": testToken}, nil)
	if r.status != 200 {
		e.t.Fatalf("login: %d %s", r.status, r.raw)
	}
	return r.body["csrf_token"].(string)
}

func TestUIFS(t *testing.T) {
	if err := fstest.TestFS(UI(), "index.html", "app.js", "app.css", "widget.js", "icon.svg"); err != nil {
		t.Fatal(err)
	}
}

func TestPageAndAssetHeaders(t *testing.T) {
	e := newEnv(t, nil)
	r := e.do(nil, "GET", "/admin/", nil, nil)
	if r.status != 200 || r.header.Get("Content-Security-Policy") != ContentSecurityPolicy || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("index: %d %v", r.status, r.header)
	}
	m := regexp.MustCompile(`/admin/assets/app\.[0-9a-f]{10}\.js`).FindString(r.raw)
	if m == "" {
		t.Fatalf("index does not reference a fingerprinted app.js:\n%s", r.raw)
	}
	if strings.Contains(r.raw, "http://") || strings.Contains(r.raw, "https://") {
		t.Errorf("index references an outside URL")
	}
	a := e.do(nil, "GET", m, nil, nil)
	if a.status != 200 || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(a.header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("asset: %d %v", a.status, a.header)
	}
	if got := e.do(nil, "GET", "/admin/assets/app.js", nil, nil).status; got != 404 {
		t.Errorf("unfingerprinted asset: %d, want 404", got)
	}
	w := e.do(nil, "GET", "/widget.js", nil, nil)
	if w.status != 200 || w.header.Get("Cache-Control") != "public, max-age=300" || !strings.Contains(w.raw, "/api/chat") {
		t.Errorf("widget.js: %d %v", w.status, w.header)
	}
	if got := e.do(nil, "GET", "/admin", nil, nil); got.status != 200 { // the default client follows the redirect
		t.Errorf("/admin: %d", got.status)
	}
}

func TestLoginWrongTokenNoHintAndSlowed(t *testing.T) {
	e := newEnv(t, nil)
	wrong := []string{"", "x", testToken[:len(testToken)-1] + "X", "X" + testToken[1:], strings.Repeat("a", 8<<10)}
	var first string
	for i, tok := range wrong[:3] {
		r := e.do(nil, "POST", "/admin/api/login", map[string]string{"token": tok}, nil)
		if r.status != 401 || r.body["error"] != errLoginFailed || r.header.Get("Retry-After") != "" {
			t.Fatalf("wrong token %d: %d %v %q", i, r.status, r.raw, r.header.Get("Retry-After"))
		}
		if first == "" {
			first = r.raw
		} else if r.raw != first {
			t.Errorf("answers differ: %s vs %s", r.raw, first)
		}
	}
	// The fourth failure starts a 1 s lockout.
	r := e.do(nil, "POST", "/admin/api/login", map[string]string{"token": wrong[3]}, nil)
	if r.status != 401 || r.header.Get("Retry-After") != "1" || r.body["error"] != errLoginFailed {
		t.Fatalf("fourth failure: %d %s retry %q", r.status, r.raw, r.header.Get("Retry-After"))
	}
	// During the lockout even the right token is refused.
	r = e.do(nil, "POST", "/admin/api/login", map[string]string{"token": testToken}, nil)
	if r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("during lockout: %d %s", r.status, r.raw)
	}
	e.clock.Add(time.Second)
	r = e.do(nil, "POST", "/admin/api/login", map[string]string{"token": wrong[4]}, nil)
	if r.status != 401 || r.header.Get("Retry-After") != "2" {
		t.Fatalf("fifth failure doubles the wait: %d retry %q", r.status, r.header.Get("Retry-After"))
	}
	e.clock.Add(2 * time.Second)
	if r := e.do(e.client(), "POST", "/admin/api/login", map[string]string{"token": testToken}, nil); r.status != 200 {
		t.Fatalf("after the lockout: %d %s", r.status, r.raw)
	}
	// Success cleared the record: a new failure is free again.
	if r := e.do(nil, "POST", "/admin/api/login", map[string]string{"token": "nope"}, nil); r.status != 401 || r.header.Get("Retry-After") != "" {
		t.Fatalf("after success: %d %q", r.status, r.header.Get("Retry-After"))
	}
}

func TestLoginLimiterPerClientIPBehindProxy(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	for range 4 {
		e.do(nil, "POST", "/admin/api/login", map[string]string{"token": "bad"}, map[string]string{"X-Forwarded-For": "203.0.113.7"})
	}
	if r := e.do(nil, "POST", "/admin/api/login", map[string]string{"token": testToken}, map[string]string{"X-Forwarded-For": "203.0.113.7"}); r.status != 429 {
		t.Fatalf("locked-out client: %d", r.status)
	}
	if r := e.do(e.client(), "POST", "/admin/api/login", map[string]string{"token": testToken}, map[string]string{"X-Forwarded-For": "203.0.113.8"}); r.status != 200 {
		t.Fatalf("another client: %d %s", r.status, r.raw)
	}
}

func TestLoginLimiterBounded(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	l := newLoginLimiter(c.Now)
	const maxClients = 100
	l.failures = httpapi.NewTable[string, loginFailures](maxClients, c.Now, (*loginFailures).forgotten)
	for i := range 1000 {
		l.fail("198.51.100." + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + string(rune('a'+i/26%26)))
	}
	if n := l.failures.Len(); n > maxClients {
		t.Fatalf("limiter holds %d entries, max %d", n, maxClients)
	}
}

func TestSessionCookie(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	for _, tc := range []struct {
		name    string
		headers map[string]string
		secure  bool
	}{
		{"plain http", nil, false},
		{"behind a TLS proxy", map[string]string{"X-Forwarded-Proto": "https"}, true},
	} {
		r := e.do(nil, "POST", "/admin/api/login", map[string]string{"token": testToken}, tc.headers)
		cookies := (&http.Response{Header: r.header}).Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%s: cookies %v", tc.name, cookies)
		}
		c := cookies[0]
		if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tc.secure || c.MaxAge != 8*3600 {
			t.Errorf("%s: cookie %+v", tc.name, c)
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	csrf := e.login(c)
	body := map[string]any{"name": "Site", "allowed_origins": []string{"https://shop.example"}}
	cases := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no token", nil, 403},
		{"wrong token", map[string]string{CSRFHeader: "c_wrong"}, 403},
		{"cross-site with the token", map[string]string{CSRFHeader: csrf, "Sec-Fetch-Site": "cross-site"}, 403},
		{"other origin with the token", map[string]string{CSRFHeader: csrf, "Origin": "https://evil.example"}, 403},
		{"same origin with the token", map[string]string{CSRFHeader: csrf, "Sec-Fetch-Site": "same-origin"}, 201},
	}
	for _, tc := range cases {
		if r := e.do(c, "POST", "/admin/api/widgets", body, tc.headers); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
		}
	}
	if r := e.do(e.client(), "POST", "/admin/api/login", map[string]string{"token": testToken}, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.status != 403 {
		t.Errorf("cross-site login: %d, want 403", r.status)
	}
	// Another package's API accepts the session for reads, and for writes only with the token.
	if r := e.do(c, "GET", "/api/other", nil, nil); r.status != 200 {
		t.Errorf("session GET on another API: %d", r.status)
	}
	if r := e.do(c, "POST", "/api/other", map[string]string{}, nil); r.status != 403 {
		t.Errorf("session POST without token on another API: %d", r.status)
	}
	if r := e.do(c, "POST", "/api/other", map[string]string{}, map[string]string{CSRFHeader: csrf}); r.status != 200 {
		t.Errorf("session POST with token on another API: %d", r.status)
	}
	// Without the Protect middleware the session check itself refuses (the bearer token is then required).
	req := httptest.NewRequest("POST", "/api/other", nil)
	for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		req.AddCookie(ck)
	}
	if e.h.SessionValid(req) {
		t.Error("SessionValid accepted a POST without the CSRF token")
	}
	req.Header.Set(CSRFHeader, csrf)
	if !e.h.SessionValid(req) {
		t.Error("SessionValid refused a POST with the CSRF token")
	}
	// Bearer-token clients need no CSRF token.
	if r := e.do(nil, "POST", "/admin/api/widgets", map[string]any{"name": "B", "allowed_origins": []string{"https://b.example"}},
		map[string]string{"Authorization": "Bearer " + testToken}); r.status != 201 {
		t.Errorf("bearer create: %d %s", r.status, r.raw)
	}
}

func TestSessionExpiresAndLogout(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SessionTTL = time.Hour })
	c := e.client()
	csrf := e.login(c)
	if r := e.do(c, "GET", "/admin/api/overview", nil, nil); r.status != 200 {
		t.Fatalf("overview: %d", r.status)
	}
	e.clock.Add(time.Hour)
	if r := e.do(c, "GET", "/admin/api/overview", nil, nil); r.status != 401 {
		t.Fatalf("expired session: %d, want 401", r.status)
	}
	if r := e.do(c, "GET", "/admin/api/session", nil, nil); r.status != 401 {
		t.Fatalf("expired session check: %d", r.status)
	}

	csrf = e.login(c)
	if r := e.do(c, "POST", "/admin/api/logout", nil, nil); r.status != 403 {
		t.Fatalf("logout without CSRF token: %d", r.status)
	}
	if r := e.do(c, "POST", "/admin/api/logout", nil, map[string]string{CSRFHeader: csrf}); r.status != 200 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := e.do(c, "GET", "/admin/api/overview", nil, nil); r.status != 401 {
		t.Fatalf("after logout: %d", r.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func itoa(id uint64) string { return strconv.FormatUint(id, 10) }

func createWidget(t *testing.T, e *env, origins []string, rate int) *store.Widget {
	t.Helper()
	r := e.do(nil, "POST", "/admin/api/widgets", map[string]any{"name": "Docs", "allowed_origins": origins, "rate_per_minute": rate},
		map[string]string{"Authorization": "Bearer " + testToken})
	if r.status != 201 {
		t.Fatalf("create widget: %d %s", r.status, r.raw)
	}
	w, err := e.st.WidgetByKey(r.body["widget"].(map[string]any)["key"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWidgetChat(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"http://site.example:8081", "https://Shop.Example/"}, 3)
	if w.AllowedOrigins[1] != "https://shop.example" {
		t.Fatalf("origin not normalised: %v", w.AllowedOrigins)
	}
	path := "/api/chat?key=" + w.Key
	ok := map[string]string{"Origin": "http://site.example:8081"}

	pre := e.do(nil, "OPTIONS", path, nil, map[string]string{"Origin": "http://site.example:8081", "Access-Control-Request-Method": "POST"})
	if pre.status != 204 || pre.header.Get("Access-Control-Allow-Origin") != "http://site.example:8081" || pre.header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("preflight: %d %v", pre.status, pre.header)
	}
	bad := e.do(nil, "OPTIONS", path, nil, map[string]string{"Origin": "https://evil.example"})
	if bad.status != 403 || bad.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin: %d %v", bad.status, bad.header)
	}

	r := e.do(nil, "POST", path, map[string]any{"message": "How do I reset my password?"}, ok)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "http://site.example:8081" || r.body["answer"] != "Reset it under Settings." {
		t.Fatalf("chat: %d %s %v", r.status, r.raw, r.header)
	}
	conv := r.body["conversation_id"].(string)
	if !strings.HasPrefix(conv, "w_") || r.body["response_type"] != "extractive" {
		t.Fatalf("chat reply: %s", r.raw)
	}
	if got := e.engine.reqs[0]; got.Platform != WidgetPlatform || got.ConversationID != conv || got.Text != "How do I reset my password?" {
		t.Fatalf("engine request %+v", got)
	}
	// The chat is in the message history: the visitor's message, and the
	// answer linked to it, sent (the widget had it in the response).
	msgs, total, err := e.st.ListMessages(store.MessageFilter{Platform: WidgetPlatform, ConversationID: conv}, 0, 10)
	if err != nil || total != 2 {
		t.Fatalf("history: %d messages, %v", total, err)
	}
	answer, question := msgs[0], msgs[1] // newest first
	if question.Type != store.MessageIncoming || question.Text != "How do I reset my password?" || question.ResponseID != answer.ID ||
		answer.Type != store.MessageOutgoing || answer.Status != store.StatusSent || answer.Text != "Reset it under Settings." || answer.ResponseType != "extractive" {
		t.Fatalf("history: question %+v, answer %+v", question, answer)
	}

	for _, tc := range []struct {
		name    string
		path    string
		headers map[string]string
		body    any
		want    int
	}{
		{"origin not allowed", path, map[string]string{"Origin": "https://evil.example"}, map[string]any{"message": "hi"}, 403},
		{"no origin", path, nil, map[string]any{"message": "hi"}, 403},
		{"unknown key", "/api/chat?key=wk_nope", ok, map[string]any{"message": "hi"}, 401},
		{"no key", "/api/chat", ok, map[string]any{"message": "hi"}, 401},
	} {
		r := e.do(nil, "POST", tc.path, tc.body, tc.headers)
		if r.status != tc.want || r.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s: %d %s ACAO %q, want %d and no CORS", tc.name, r.status, r.raw, r.header.Get("Access-Control-Allow-Origin"), tc.want)
		}
	}
	// Validation after the origin check; invalid requests spend none of
	// the rate (3 per minute; 1 used).
	if r := e.do(nil, "POST", path, map[string]any{"message": strings.Repeat("a", MaxChatMessage+1)}, ok); r.status != 413 {
		t.Errorf("11 KB message: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "POST", path, map[string]any{"message": "hi", "conversation_id": "<script>"}, ok); r.status != 400 || r.body["field"] != "conversation_id" {
		t.Errorf("bad conversation id: %d %s", r.status, r.raw)
	}
	for i := range 2 {
		if r := e.do(nil, "POST", path, map[string]any{"message": "more", "conversation_id": conv}, ok); r.status != 200 {
			t.Fatalf("valid message %d within the rate: %d %s", i+2, r.status, r.raw)
		}
	}
	r = e.do(nil, "POST", path, map[string]any{"message": "again", "conversation_id": conv}, ok)
	if r.status != 429 || r.header.Get("Retry-After") != "20" || r.header.Get("Access-Control-Allow-Origin") == "" {
		t.Fatalf("over the rate: %d retry %q %s", r.status, r.header.Get("Retry-After"), r.raw)
	}
	e.clock.Add(20 * time.Second)
	if r := e.do(nil, "POST", path, map[string]any{"message": "again", "conversation_id": conv}, ok); r.status != 200 {
		t.Fatalf("after Retry-After: %d %s", r.status, r.raw)
	}

	// A disabled widget's key stops working.
	if _, err := e.st.UpdateWidget(w.ID, func(w *store.Widget) error { w.IsActive = false; return nil }); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	if r := e.do(nil, "POST", path, map[string]any{"message": "hi"}, ok); r.status != 401 {
		t.Errorf("disabled widget: %d", r.status)
	}
}

// noPassages is a knowledge base that knows nothing.
type noPassages struct{}

func (noPassages) Search(context.Context, string, int) ([]chat.Passage, error) { return nil, nil }

// TestWidgetHandoffFlagOpensSession: the widget's "Talk to a human" sends
// the visitor's own, neutral words with handoff: true; the flag alone opens
// a live-chat session, through the real engine and live chat, and the text
// reaches the agent unchanged. Without the flag the same words get a bot
// answer.
func TestWidgetHandoffFlagOpensSession(t *testing.T) {
	const neutral = "My parcel 4411 has not arrived yet"
	var lc *livechat.Manager
	e := newEnv(t, func(o *Options) {
		var err error
		if lc, err = livechat.NewManager(o.Store, livechat.Config{TransferAnswer: "An agent will be with you."}, nil); err != nil {
			t.Fatal(err)
		}
		if _, ok := livechat.NewDetector(nil, nil).Detect(neutral); ok {
			t.Fatalf("%q asks for a human by itself; the test needs neutral words", neutral)
		}
		eng, err := chat.NewEngine(chat.Config{Retriever: noPassages{}, LiveChat: lc,
			Extract: func(string, []chat.Passage, int) (string, []chat.Passage) { return "", nil }})
		if err != nil {
			t.Fatal(err)
		}
		o.Turns = conversation.New(o.Store, eng, conversation.Options{})
	})
	w := createWidget(t, e, []string{"https://shop.example"}, 10)
	origin := map[string]string{"Origin": "https://shop.example"}

	r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": neutral, "conversation_id": "conv-no-flag"}, origin)
	if r.status != 200 || r.body["response_type"] != "no_answer" || r.body["session_id"] != nil {
		t.Fatalf("without the flag: %d %s", r.status, r.raw)
	}
	r = e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": neutral, "conversation_id": "conv-handoff-1", "handoff": true}, origin)
	if r.status != 200 || r.body["response_type"] != "live_chat_transfer" || r.body["answer"] != "An agent will be with you." {
		t.Fatalf("with the flag: %d %s", r.status, r.raw)
	}
	open, err := e.st.OpenLiveChat(store.ConvRef{WidgetID: w.ID, ConversationID: "conv-handoff-1"})
	if err != nil {
		t.Fatalf("no open session for the conversation: %v", err)
	}
	if open.ID != r.body["session_id"] || open.State != store.LiveChatWaiting || open.Username != "Website visitor" {
		t.Fatalf("session %+v, reply %s", open, r.raw)
	}
	if _, err := e.st.OpenLiveChat(store.ConvRef{WidgetID: w.ID, ConversationID: "conv-no-flag"}); err == nil {
		t.Fatal("the message without the flag opened a session")
	}
	// The agent reads the visitor's words in the history, as sent.
	msgs, _, err := e.st.ListMessages(store.MessageFilter{Platform: WidgetPlatform, ConversationID: "conv-handoff-1", Type: store.MessageIncoming}, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Text != neutral {
		t.Fatalf("stored visitor message: %+v %v", msgs, err)
	}
}

func TestWidgetChatWithoutEngine(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Turns = nil })
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, map[string]string{"Origin": "https://a.example"})
	if r.status != 503 {
		t.Fatalf("no engine: %d %s", r.status, r.raw)
	}
}

func TestWidgetValidation(t *testing.T) {
	e := newEnv(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	for _, tc := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"allowed_origins": []string{"https://a.example"}}, "name"},
		{map[string]any{"name": "x"}, "allowed_origins"},
		{map[string]any{"name": "x", "allowed_origins": []string{}}, "allowed_origins"},
		{map[string]any{"name": "x", "allowed_origins": []string{"https://a.example/path"}}, "allowed_origins"},
		{map[string]any{"name": "x", "allowed_origins": []string{"javascript:alert(1)"}}, "allowed_origins"},
		{map[string]any{"name": "x", "allowed_origins": []string{"https://a.example"}, "rate_per_minute": 0}, "rate_per_minute"},
	} {
		r := e.do(nil, "POST", "/admin/api/widgets", tc.body, auth)
		if r.status != 400 || r.body["field"] != tc.field {
			t.Errorf("%v: %d %s, want 400 on %s", tc.body, r.status, r.raw, tc.field)
		}
	}
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	r := e.do(nil, "PUT", "/admin/api/widgets/"+itoa(w.ID), map[string]any{"rotate_key": true}, auth)
	if r.status != 200 || r.body["widget"].(map[string]any)["key"] == w.Key {
		t.Fatalf("rotate: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "DELETE", "/admin/api/widgets/"+itoa(w.ID), nil, auth); r.status != 200 {
		t.Fatalf("delete: %d", r.status)
	}
	if r := e.do(nil, "DELETE", "/admin/api/widgets/"+itoa(w.ID), nil, auth); r.status != 404 {
		t.Fatalf("delete again: %d", r.status)
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://Example.com", "https://example.com"},
		{"https://example.com/", "https://example.com"},
		{"https://example.com:443", "https://example.com"},
		{"http://example.com:80", "http://example.com"},
		{"http://127.0.0.1:8081", "http://127.0.0.1:8081"},
		{"https://[::1]:443", "https://[::1]"},
		{"https://example.com/x", ""},
		{"ftp://example.com", ""},
		{"https://u:p@example.com", ""},
		{"example.com", ""},
		{"https://example.com?x=1", ""},
		{"", ""},
		{"http://:80", ""},
	} {
		got, err := NormalizeOrigin(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("NormalizeOrigin(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func multipartBody(t *testing.T, name string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func TestUpload(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	csrf := e.login(c)
	for _, tc := range []struct {
		name string
		file string
		data []byte
		want int
	}{
		{"markdown", "guide.md", []byte("# Guide\nReset your password under Settings."), 200},
		{"20 MB", "big.txt", bytes.Repeat([]byte("a"), 20<<20), 413},
		{"unsupported type", "setup.exe", []byte("MZ\x90\x00"), 415},
		{"binary disguised as text", "notes.txt", []byte("abc\x00def"), 415},
		{"invalid UTF-8", "notes.txt", []byte("caf\xe9"), 415},
		{"path in the name", "../../etc/passwd.md", []byte("# x"), 200},
	} {
		body, ct := multipartBody(t, tc.file, tc.data)
		r := e.do(c, "POST", "/admin/api/knowledge/upload", body, map[string]string{"Content-Type": ct, CSRFHeader: csrf})
		if r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
		}
	}
	if strings.Join(e.ingest, ",") != "guide.md,passwd.md" {
		t.Errorf("ingested %v", e.ingest)
	}
	if r := e.do(c, "POST", "/admin/api/knowledge/upload", []byte("{}"), map[string]string{CSRFHeader: csrf}); r.status != 415 {
		t.Errorf("JSON instead of multipart: %d", r.status)
	}
	if r := e.do(c, "POST", "/admin/api/knowledge/documents/7/reingest", nil, map[string]string{CSRFHeader: csrf}); r.status != 200 || r.raw != "{\"result\":{\"id\":7},\"success\":true}\n" {
		t.Errorf("reingest: %d %s", r.status, r.raw)
	}
	if r := e.do(c, "POST", "/admin/api/knowledge/documents/x/reingest", nil, map[string]string{CSRFHeader: csrf}); r.status != 400 {
		t.Errorf("reingest of a bad id: %d", r.status)
	}
}

func TestMetrics(t *testing.T) {
	const metricsToken = "metrics-token-0123456789"
	e := newEnv(t, func(o *Options) { o.MetricsTokenHash = secret.Hash(metricsToken) })
	createWidget(t, e, []string{"https://a.example"}, 10)
	e.do(nil, "GET", "/admin/", nil, nil)
	if r := e.do(nil, "GET", "/metrics", nil, nil); r.status != 401 {
		t.Fatalf("metrics without a token: %d", r.status)
	}
	if r := e.do(nil, "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer wrong-token-123456789"}); r.status != 401 {
		t.Fatalf("metrics with a wrong token: %d", r.status)
	}
	for _, tok := range []string{metricsToken, testToken} {
		r := e.do(nil, "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + tok})
		if r.status != 200 || r.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
			t.Fatalf("metrics: %d %v", r.status, r.header)
		}
		for _, line := range []string{
			`chatbot_http_requests_total{method="GET",route="/admin/",code="200"} 1`,
			`chatbot_http_requests_total{method="POST",route="/admin/api/widgets",code="201"} 1`,
			`chatbot_http_request_duration_seconds_count{route="/admin/"} 1`,
			`chatbot_widgets 1`,
			`chatbot_delivery_queue_depth 0`,
			`# TYPE chatbot_http_request_duration_seconds histogram`,
			`chatbot_widget_requests_total{outcome="answered"} 0`,
			`chatbot_outgoing_messages_24h{status="failed"} 0`,
			`chatbot_answer_latency_24h_seconds{quantile="0.95"} 0`,
		} {
			if !strings.Contains(r.raw, line+"\n") {
				t.Errorf("metrics lack %q:\n%s", line, r.raw)
			}
		}
	}
}

func TestPromWriterEscapes(t *testing.T) {
	var w PromWriter
	w.Family("x_total", "counter", "Help with \\ and\nnewline.")
	w.Sample("x_total", 3, "path", "a\"b\\c\nd")
	w.Sample("x_total", 0.25)
	want := "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\n" +
		"x_total{path=\"a\\\"b\\\\c\\nd\"} 3\nx_total 0.25\n"
	if got := w.b.String(); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLogsEndpoint(t *testing.T) {
	ring := NewLogRing(10)
	e := newEnv(t, func(o *Options) { o.Logs = ring })
	log := slog.New(ring.Handler(slog.DiscardHandler))
	log.Warn("delivery failed", "config_id", 3, "err", "HTTP 500")
	log.Error("index unavailable", "err", "disk full")
	log.Info("ignored")
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	r := e.do(nil, "GET", "/admin/api/logs", nil, auth)
	recs := r.body["records"].([]any)
	if r.status != 200 || len(recs) != 2 || recs[0].(map[string]any)["message"] != "index unavailable" {
		t.Fatalf("logs: %d %s", r.status, r.raw)
	}
	r = e.do(nil, "GET", "/admin/api/logs?level=error", nil, auth)
	if n := len(r.body["records"].([]any)); n != 1 {
		t.Errorf("level=error: %d records", n)
	}
	r = e.do(nil, "GET", "/admin/api/logs?q=HTTP+500", nil, auth)
	if n := len(r.body["records"].([]any)); n != 1 {
		t.Errorf("q=HTTP 500: %d records", n)
	}
	if r := e.do(nil, "GET", "/admin/api/logs?level=debug", nil, auth); r.status != 400 || r.body["field"] != "level" {
		t.Errorf("level=debug: %d %s", r.status, r.raw)
	}
}

func TestLimiterKey(t *testing.T) {
	for in, want := range map[string]string{
		"203.0.113.7":          "203.0.113.7",
		"2001:db8:1:2:aaaa::1": "2001:db8:1:2::/64",
		"2001:db8:1:2:bbbb::9": "2001:db8:1:2::/64",
		"::ffff:198.51.100.1":  "::ffff:198.51.100.1",
		"not an ip":            "not an ip",
	} {
		if got := limiterKey(in); got != want {
			t.Errorf("limiterKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWidgetPollsAgentReplies(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	const conv = "w_conversation1"
	e.convs.msgs = []store.Message{
		{ID: 1, Type: store.MessageIncoming, WidgetID: w.ID, Platform: WidgetPlatform, ConversationID: conv, Text: "human please"},
		{ID: 2, Type: store.MessageOutgoing, SenderType: "system", WidgetID: w.ID, Platform: WidgetPlatform, ConversationID: conv, Text: "An agent will join."},
		{ID: 3, Type: store.MessageOutgoing, SenderType: "bot", WidgetID: w.ID, Platform: WidgetPlatform, ConversationID: conv, Text: "bot answer"},
		{ID: 4, Type: store.MessageAgentOutgoing, Sender: "Sarah", WidgetID: w.ID, Platform: WidgetPlatform, ConversationID: conv, Text: "<b>Hi</b>"},
		{ID: 5, Type: store.MessageAgentOutgoing, Sender: "Sarah", Platform: "zendesk", ConversationID: conv, Text: "other platform"},
		{ID: 6, Type: store.MessageAgentOutgoing, Sender: "Sam", WidgetID: w.ID + 1, Platform: WidgetPlatform, ConversationID: conv, Text: "another widget's"},
	}
	ok := map[string]string{"Origin": "https://a.example"}
	path := "/api/chat/messages?key=" + w.Key + "&conversation_id=" + conv
	r := e.do(nil, "GET", path, nil, ok)
	if r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "https://a.example" {
		t.Fatalf("poll: %d %s", r.status, r.raw)
	}
	msgs := r.body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["sender_type"] != "system" || msgs[1].(map[string]any)["text"] != "<b>Hi</b>" || msgs[1].(map[string]any)["sender"] != "Sarah" {
		t.Fatalf("poll messages: %s", r.raw)
	}
	r = e.do(nil, "GET", path+"&after=2", nil, ok)
	if msgs := r.body["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["id"] != float64(4) {
		t.Fatalf("after=2: %s", r.raw)
	}
	for _, tc := range []struct {
		name, path string
		headers    map[string]string
		want       int
	}{
		{"foreign origin", path, map[string]string{"Origin": "https://evil.example"}, 403},
		{"bad conversation", "/api/chat/messages?key=" + w.Key + "&conversation_id=x", ok, 400},
		{"bad after", path + "&after=-1", ok, 400},
	} {
		if r := e.do(nil, "GET", tc.path, nil, tc.headers); r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.want)
		}
	}
	// Polls have their own budget: 10 x 10 per minute, apart from chats.
	for i := 0; i < 97; i++ {
		e.do(nil, "GET", path, nil, ok)
	}
	if r := e.do(nil, "GET", path, nil, ok); r.status != 429 {
		t.Errorf("poll over budget: %d", r.status)
	}
	if r := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, ok); r.status != 200 {
		t.Errorf("chat after polls: %d %s", r.status, r.raw)
	}
}
