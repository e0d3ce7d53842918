package cmd

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// The served app starts the delivery worker, mounts the delivery routes and
// stops the worker on shutdown.
func TestAppDeliversQueuedMessages(t *testing.T) {
	delivered := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		delivered <- r.Header.Get("User-Agent") + " " + string(body)
	}))
	defer recv.Close()

	cfg := config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), LogLevel: "info", LogFormat: "text",
		AllowOutgoing: "127.0.0.0/8", RetryBase: time.Millisecond, RetryCap: 10 * time.Millisecond,
		DeliveryWorkers: 2, ShutdownTimeout: 5 * time.Second, AdminToken: "admin-token-0123456789"}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.WebhookConfig{Name: "P", Provider: "p", OutgoingURL: recv.URL, TimeoutSeconds: 5, RetryAttempts: 1,
		IsActive: true, SigningSecret: secret.NewSigningSecret()}
	if err := a.store.CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	// Queued before the start: picked up by the worker when it starts.
	if _, err := a.store.AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: c.ID,
		Platform: "p", ConversationID: "c", UserID: "u", Text: "queued before start"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()

	select {
	case got := <-delivered:
		if !strings.HasPrefix(got, "chatbot/") || !strings.Contains(got, `"message":"queued before start"`) {
			t.Errorf("delivered %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing delivered")
	}

	req, _ := http.NewRequest(http.MethodPost, "http://"+a.Addr()+"/api/webhook/config/1/test", nil)
	req.Header.Set("Authorization", "Bearer admin-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"delivered":true,"status_code":200`) {
		t.Fatalf("test endpoint = %d %s", resp.StatusCode, body)
	}
	<-delivered

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
