package cmd

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
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/webhook"
)

// The served app takes a signed Chatwoot event at /api/platforms/{id}/events,
// answers it through Chatwoot's messages API, and pauses when an agent
// replies (visible through the pause API).
func TestAppAnswersANativeChatwootEventThroughItsAPI(t *testing.T) {
	type call struct{ path, token, content string }
	calls := make(chan call, 4)
	chatwoot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Content string `json:"content"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("fake Chatwoot: %v", err)
		}
		calls <- call{r.URL.Path, r.Header.Get("api_access_token"), body.Content}
		io.WriteString(w, `{"id":1}`)
	}))
	defer chatwoot.Close()
	cfg := config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), LogLevel: "info", LogFormat: "text",
		AllowOutgoing: "127.0.0.0/8", RetryBase: time.Millisecond, RetryCap: 10 * time.Millisecond,
		DeliveryWorkers: 2, ShutdownTimeout: 5 * time.Second, AdminToken: "admin-token-0123456789"}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s := func(v string) *string { return &v }
	v, err := webhook.NewConfigs(a.store).Create(webhook.ConfigInput{Name: s("Chatwoot"), Provider: s("chatwoot"),
		Adapter: s("native"), APIURL: s(chatwoot.URL), APIToken: s("cw-token-1234"), PlatformSecret: s("cw-secret"), Account: s("7")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	post := func(fixture string) map[string]any {
		body, err := os.ReadFile("../platform/testdata/chatwoot/" + fixture)
		if err != nil {
			t.Fatal(err)
		}
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, []byte("cw-secret"))
		mac.Write([]byte(ts + "."))
		mac.Write(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+v.EventsPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Chatwoot-Timestamp", ts)
		req.Header.Set("X-Chatwoot-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", fixture, resp.StatusCode, m)
		}
		return m
	}
	post("message_created_incoming.json")
	// The typing indicator goes first (best effort), then the answer.
	select {
	case c := <-calls:
		if c.path != "/api/v1/accounts/7/conversations/58/toggle_typing_status" || c.token != "cw-token-1234" {
			t.Fatalf("Chatwoot got %+v first, want the typing indicator", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no typing indicator sent to Chatwoot")
	}
	select {
	case c := <-calls:
		if c.path != "/api/v1/accounts/7/conversations/58/messages" || c.token != "cw-token-1234" || c.content == "" {
			t.Fatalf("Chatwoot got %+v", c)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("nothing delivered to Chatwoot")
	}
	if m := post("message_created_outgoing_agent.json"); m["paused"] != true {
		t.Fatalf("agent reply: %v", m)
	}
	if resp, err := http.Get("http://" + a.Addr() + "/api/platforms/1/conversations/58"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("pause API without the admin token = %v, %v; want 401", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+a.Addr()+"/api/platforms/1/conversations/58", nil)
	req.Header.Set("Authorization", "Bearer admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"paused":true,"cause":"agent_reply"`) {
		t.Fatalf("pause API = %d %s", resp.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
