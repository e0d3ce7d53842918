package cmd

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

func TestWebhookTestCommand(t *testing.T) {
	var got atomic.Int32
	var code atomic.Int32
	code.Store(http.StatusOK)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		if r.Header.Get("Authorization") != "Bearer platform-token" || r.Header.Get("webhook-signature") == "" {
			t.Errorf("headers = %v", r.Header)
		}
		w.WriteHeader(int(code.Load()))
	}))
	defer recv.Close()

	dir := t.TempDir()
	key, err := secret.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secret.NewBox(key)
	st, err := store.Open(dir, store.Options{Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	name, provider, url, token := "Freshchat", "freshchat", recv.URL, "platform-token"
	if _, err := webhook.NewConfigs(st).Create(webhook.ConfigInput{Name: &name, Provider: &provider, OutgoingURL: &url, AuthToken: &token}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	run := func(args ...string) (string, error) {
		c := newWebhookTestCommand(func(string) string { return "" })
		var out bytes.Buffer
		c.SetOut(&out)
		c.SetErr(&out)
		c.SetArgs(args)
		err := c.ExecuteContext(context.Background())
		return out.String(), err
	}

	out, err := run("freshchat", "--data-dir", dir, "--allow-outgoing", "127.0.0.0/8")
	if err != nil || !strings.HasPrefix(out, "Freshchat: HTTP 200 in ") || !strings.Contains(out, "webhook-id msg_") {
		t.Fatalf("test = %q, %v", out, err)
	}
	out, err = run("Freshchat", "--data-dir", dir)
	if err == nil || !strings.Contains(out, "loopback address; allow it with --allow-outgoing") {
		t.Fatalf("without allow = %q, %v; want a refusal naming the setting", out, err)
	}
	code.Store(http.StatusServiceUnavailable)
	out, err = run("1", "--data-dir", dir, "--allow-outgoing", "loopback")
	if err == nil || !strings.HasPrefix(out, "Freshchat: HTTP 503 in ") {
		t.Fatalf("503 = %q, %v", out, err)
	}
	if _, err := run("nope", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("unknown config: %v", err)
	}
	if got.Load() != 2 {
		t.Fatalf("receiver got %d requests, want 2", got.Load())
	}

	// While another process holds the store and no server is recorded.
	st, err = store.Open(dir, store.Options{Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := run("Freshchat", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "no running server is recorded") {
		t.Fatalf("locked: %v", err)
	}
}
