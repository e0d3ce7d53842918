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

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
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

type env struct {
	t        *testing.T
	srv      *httptest.Server
	h        *Handler
	auth     *httpapi.AdminAuth
	st       *store.Store
	clock    *clock
	ingest   []string
	changed  []uint64 // widget ids WidgetChanged was called with
	changeMu sync.Mutex
}

// newEnv serves the panel, /metrics and another package's management API
// behind one authenticator, built from the options' trusted proxies and
// clock; authTweak adjusts the authenticator's options.
func newEnv(t *testing.T, tweak func(*Options)) *env { return newEnvAuth(t, nil, tweak) }

func newEnvAuth(t *testing.T, authTweak func(*httpapi.AuthOptions), tweak func(*Options)) *env {
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
	e := &env{t: t, st: st, clock: &clock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}}
	reg := metrics.New()
	opts := Options{
		Store: st, Log: slog.New(slog.DiscardHandler), Now: e.clock.Now, Metrics: reg,
		Reingest: func(_ context.Context, id uint64) (any, error) { return map[string]uint64{"id": id}, nil },
		Ingest: func(_ context.Context, name string, data []byte) (any, error) {
			e.ingest = append(e.ingest, name)
			return map[string]int{"chunks": 2}, nil
		},
		WidgetChanged: func(id uint64) {
			e.changeMu.Lock()
			defer e.changeMu.Unlock()
			e.changed = append(e.changed, id)
		},
	}
	if tweak != nil {
		tweak(&opts)
	}
	ao := httpapi.AuthOptions{TokenHash: secret.Hash(testToken), TrustedProxies: opts.TrustedProxies, Now: e.clock.Now}
	if authTweak != nil {
		authTweak(&ao)
	}
	e.auth = httpapi.NewAuth(ao)
	opts.Auth = e.auth
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.h = h
	r := mux.NewRouter()
	h.Routes(r)
	reg.Routes(r, e.auth.Require, metricsTokenHash, nil)
	// Another package's management API, guarded by the same authenticator.
	r.Handle("/api/other", e.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
	}))).Methods(http.MethodGet, http.MethodPost)
	e.srv = httptest.NewServer(reg.Middleware(metrics.RouteOf(r))(r))
	t.Cleanup(e.srv.Close)
	return e
}

// metricsTokenHash is the hash of the token that reads /metrics only.
var metricsTokenHash = secret.Hash(metricsToken)

const metricsToken = "metrics-token-0123456789"

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
	if err := fstest.TestFS(UI(), "index.html", "app.js", "app.css", "icon.svg"); err != nil {
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
	// The session check itself refuses a write without the CSRF token (the bearer token is then required).
	req := httptest.NewRequest("POST", "/api/other", nil)
	for _, ck := range c.Jar.Cookies(mustURL(e.srv.URL)) {
		req.AddCookie(ck)
	}
	if e.auth.SessionValid(req) {
		t.Error("SessionValid accepted a POST without the CSRF token")
	}
	req.Header.Set(CSRFHeader, csrf)
	if !e.auth.SessionValid(req) {
		t.Error("SessionValid refused a POST with the CSRF token")
	}
	// Bearer-token clients need no CSRF token.
	if r := e.do(nil, "POST", "/admin/api/widgets", map[string]any{"name": "B", "allowed_origins": []string{"https://b.example"}},
		map[string]string{"Authorization": "Bearer " + testToken}); r.status != 201 {
		t.Errorf("bearer create: %d %s", r.status, r.raw)
	}
}

func TestSessionExpiresAndLogout(t *testing.T) {
	e := newEnvAuth(t, func(o *httpapi.AuthOptions) { o.SessionTTL = time.Hour }, nil)
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
	if w := createWidget(t, e, []string{"http://site.example:8081", "https://Shop.Example/"}, 3); w.AllowedOrigins[1] != "https://shop.example" {
		t.Fatalf("origin not normalised: %v", w.AllowedOrigins)
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
	e := newEnv(t, nil)
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
			`chatbot_outgoing_messages_24h{status="failed"} 0`,
			`chatbot_answer_latency_24h_seconds{quantile="0.95"} 0`,
		} {
			if !strings.Contains(r.raw, line+"\n") {
				t.Errorf("metrics lack %q:\n%s", line, r.raw)
			}
		}
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
