package cmd

import (
	"net/http"
	"net/http/httptest"
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
