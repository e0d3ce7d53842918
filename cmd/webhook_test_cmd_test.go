package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/webhook"
)

// testReceiver answers with the status in code and counts what it got.
func testReceiver(t *testing.T, code *atomic.Int32, got *atomic.Int32) *httptest.Server {
	t.Helper()
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.Header.Get("Authorization") != "Bearer platform-token" || r.Header.Get("webhook-signature") == "" {
			t.Errorf("headers = %v", r.Header)
		}
		w.WriteHeader(int(code.Load()))
	}))
	t.Cleanup(recv.Close)
	return recv
}

func TestWebhookTestCommandLocal(t *testing.T) {
	var code, got atomic.Int32
	code.Store(http.StatusOK)
	recv := testReceiver(t, &code, &got)
	dir := t.TempDir()
	e := mapEnv(nil)
	if _, _, err := run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Freshchat", "--provider", "freshchat",
		"--url", recv.URL, "--auth-token", "platform-token"); err != nil {
		t.Fatal(err)
	}

	out, _, err := run(t, e, "webhook", "test", "freshchat", "--data-dir", dir, "--allow-outgoing", "127.0.0.0/8")
	if err != nil || !strings.HasPrefix(out, "Freshchat: HTTP 200 in ") || !strings.Contains(out, "webhook-id msg_") {
		t.Fatalf("test = %q, %v", out, err)
	}
	out, _, err = run(t, e, "webhook", "test", "Freshchat", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "loopback address; allow it with --allow-outgoing") {
		t.Fatalf("without allow = %q, %v; want a refusal naming the setting", out, err)
	}
	code.Store(http.StatusServiceUnavailable)
	out, _, err = run(t, mapEnv(map[string]string{"CHATBOT_ALLOW_OUTGOING": "loopback"}), "webhook", "test", "1", "--data-dir", dir)
	if err == nil || !strings.HasPrefix(out, "Freshchat: HTTP 503 in ") {
		t.Fatalf("503 = %q, %v", out, err)
	}
	if _, _, err := run(t, e, "webhook", "test", "nope", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown config: %v", err)
	}
	if got.Load() != 2 {
		t.Fatalf("receiver got %d requests, want 2", got.Load())
	}
}

func TestWebhookTestCommandThroughServer(t *testing.T) {
	var code, got atomic.Int32
	code.Store(http.StatusAccepted)
	recv := testReceiver(t, &code, &got)
	const token = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: token, AllowOutgoing: "127.0.0.0/8"})
	e := mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token})
	if _, _, err := run(t, e, "webhook", "add", "--data-dir", a.cfg.DataDir, "--name", "Zendesk", "--provider", "zendesk",
		"--url", recv.URL, "--auth-token", "platform-token"); err != nil {
		t.Fatal(err)
	}
	// The server holds the store: the command uses its API and its allow list.
	out, _, err := run(t, e, "webhook", "test", "Zendesk", "--data-dir", a.cfg.DataDir)
	if err != nil || !strings.HasPrefix(out, "Zendesk: HTTP 202 in ") {
		t.Fatalf("test through server = %q, %v", out, err)
	}
	if _, _, err := run(t, mapEnv(nil), "webhook", "test", "Zendesk", "--data-dir", a.cfg.DataDir); err == nil || !strings.Contains(err.Error(), "CHATBOT_ADMIN_TOKEN") {
		t.Fatalf("without token: %v", err)
	}
	if got.Load() != 1 {
		t.Fatalf("receiver got %d, want 1", got.Load())
	}
}

// The status is printed once: the delivery error's own "HTTP 503" prefix
// is not repeated after the line's (issue 14).
func TestPrintTestResultShowsStatusOnce(t *testing.T) {
	cases := []struct {
		res  webhook.TestResult
		want string
	}{
		{webhook.TestResult{StatusCode: 503, DurationMS: 12, Error: "HTTP 503: upstream down"}, "Freshchat: HTTP 503 in 12 ms: upstream down\n"},
		{webhook.TestResult{StatusCode: 500, DurationMS: 3, Error: "HTTP 500"}, "Freshchat: HTTP 500 in 3 ms\n"},
		{webhook.TestResult{StatusCode: 301, DurationMS: 3, Error: "HTTP 301 redirect not followed; set outgoing_webhook_url to the final address"},
			"Freshchat: HTTP 301 in 3 ms, redirect not followed; set outgoing_webhook_url to the final address\n"},
		{webhook.TestResult{DurationMS: 5000, Error: "timed out after 5s"}, "Freshchat: no HTTP answer in 5000 ms: timed out after 5s\n"},
	}
	for _, c := range cases {
		var b strings.Builder
		if err := printTestResult(&b, "Freshchat", c.res); err == nil {
			t.Errorf("%+v: no error", c.res)
		}
		if b.String() != c.want {
			t.Errorf("printTestResult(%+v) = %q, want %q", c.res, b.String(), c.want)
		}
	}
}

// chatwootCall is one request the fake Chatwoot of the native test got.
type chatwootCall struct{ path, token, body string }

func fakeChatwootAPI(t *testing.T) (*httptest.Server, chan chatwootCall) {
	t.Helper()
	calls := make(chan chatwootCall, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		calls <- chatwootCall{r.URL.Path, r.Header.Get("api_access_token"), string(b)}
		io.WriteString(w, `{"id":901}`)
	}))
	t.Cleanup(srv.Close)
	return srv, calls
}

// A native integration's test goes through the whole path of the running
// server: a signed sample event to its events endpoint, the answer, its
// delivery through Chatwoot's messages API; each step is printed.
func TestWebhookTestCommandNativeChatwootThroughServer(t *testing.T) {
	cw, calls := fakeChatwootAPI(t)
	const token = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: token, AllowOutgoing: "127.0.0.0/8"})
	s := func(v string) *string { return &v }
	v, err := webhook.NewConfigs(a.store).Create(webhook.ConfigInput{Name: s("Chatwoot"), Provider: s("chatwoot"),
		Adapter: s("native"), APIURL: s(cw.URL), APIToken: s("cw-token-1234"), PlatformSecret: s("cw-secret"), Account: s("7")})
	if err != nil {
		t.Fatal(err)
	}
	e := mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token})
	out, _, err := run(t, e, "webhook", "test", "Chatwoot", "--data-dir", a.cfg.DataDir, "--conversation", "58", "--text", "How do I reset my password?")
	if err != nil {
		t.Fatalf("test = %q, %v", out, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 ||
		!strings.HasPrefix(lines[0], "1. sample chatwoot event: a user's message in conversation 58 (message id chatbot-test-") ||
		!strings.HasSuffix(lines[0], "), signed with the platform secret") ||
		!strings.HasPrefix(lines[1], "2. POST "+v.EventsPath+": HTTP 200, stored as message ") ||
		!strings.HasPrefix(lines[2], "3. answer (") ||
		lines[3] != "4. delivered through the chatwoot API: HTTP 200 after 1 attempt(s)" {
		t.Fatalf("output:\n%s", out)
	}
	typing, msg := <-calls, <-calls
	if typing.path != "/api/v1/accounts/7/conversations/58/toggle_typing_status" || typing.token != "cw-token-1234" || typing.body != `{"typing_status":"on"}` {
		t.Fatalf("first call = %+v, want the typing indicator", typing)
	}
	var posted struct {
		Content string `json:"content"`
	}
	if msg.path != "/api/v1/accounts/7/conversations/58/messages" || json.Unmarshal([]byte(msg.body), &posted) != nil ||
		!strings.Contains(lines[2], strconv.Quote(posted.Content)) || posted.Content == "" {
		t.Fatalf("second call = %+v, want the printed answer (%s)", msg, lines[2])
	}
	select {
	case c := <-calls:
		t.Fatalf("unexpected call %+v", c)
	default:
	}
}

// Without a running server a native test says so, and sends nothing.
func TestWebhookTestCommandNativeWithoutServer(t *testing.T) {
	cw, calls := fakeChatwootAPI(t)
	dir := t.TempDir()
	e := mapEnv(nil)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("cw-token-1234\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Chatwoot", "--provider", "chatwoot",
		"--adapter", "native", "--api-url", cw.URL, "--api-token-file", tokenFile, "--platform-secret-file", tokenFile, "--account", "7"); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, e, "webhook", "test", "Chatwoot", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "no server is running: start `chatbot serve` on this data directory, or pass --server URL") ||
		!strings.Contains(out, "Chatwoot: native chatwoot integration: its test posts a signed sample event to the running server's events endpoint (/api/platforms/1/events)") {
		t.Fatalf("test = %q, %v", out, err)
	}
	if len(calls) != 0 {
		t.Fatalf("%d calls to Chatwoot, want none", len(calls))
	}
}
