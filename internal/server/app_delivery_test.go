package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
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

	cfg := Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), LogLevel: "info", LogFormat: "text",
		AllowOutgoing: "127.0.0.0/8", RetryBase: time.Millisecond, RetryCap: 10 * time.Millisecond,
		DeliveryWorkers: 2, ShutdownTimeout: 5 * time.Second, AdminToken: "admin-token-0123456789"}
	a, err := New(cfg)
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

// The whole path a platform sees: its message comes in, the bot answers from
// the knowledge base, the answer goes out once to the outgoing webhook, a
// retried incoming request does not send it again, and the history says sent.
func TestIncomingAnswerIsDeliveredOnce(t *testing.T) {
	delivered := make(chan string, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		delivered <- string(body)
	}))
	defer recv.Close()

	const admin = "admin-token-0123456789abcdef"
	cfg := Config{AdminToken: admin, AllowOutgoing: "127.0.0.0/8", Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}}
	cfg.Answer.LLM = "none"
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		status, data := apiCall(t, method, base+path, token, body)
		return status, string(data)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shipping.md"), []byte("# Shipping\n\nOrders ship within 2 business days from our Berlin warehouse.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, body := call("POST", "/api/knowledge/ingest", admin, `{"paths":[`+strconv.Quote(dir)+`]}`); status != 200 {
		t.Fatalf("ingest: %d %s", status, body)
	}
	status, body := call("POST", "/api/webhook/config", admin, `{"name":"Chatwoot","provider":"chatwoot","outgoing_webhook_url":`+strconv.Quote(recv.URL)+`}`)
	if status != 201 {
		t.Fatalf("create config: %d %s", status, body)
	}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	msg := `{"user_id":"u1","message":"When do orders ship?","platform":"chatwoot","conversation_id":"c1","message_id":"cw-77"}`
	for i := 0; i < 2; i++ { // the platform retries the same message
		if status, body := call("POST", "/api/webhook/incoming", created.Config.IncomingToken, msg); status != 200 || !strings.Contains(body, "2 business days") {
			t.Fatalf("incoming #%d: %d %s", i+1, status, body)
		}
	}
	select {
	case got := <-delivered:
		if !strings.Contains(got, "2 business days") || !strings.Contains(got, `"conversation_id":"c1"`) {
			t.Fatalf("delivered %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the answer was not delivered")
	}
	// Sent is recorded after the receiver answered; wait for it, then make
	// sure no second copy went out.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, list := call("GET", "/api/webhook/messages?message_type=outgoing&status=sent", admin, "")
		if strings.Contains(list, `"total":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outgoing message never marked sent: %s", list)
		}
		runtime.Gosched()
	}
	_, list := call("GET", "/api/webhook/messages", admin, "")
	if !strings.Contains(list, `"total":2`) {
		t.Fatalf("history holds more than the message and its one answer: %s", list)
	}
	select {
	case got := <-delivered:
		t.Fatalf("delivered twice: %s", got)
	default:
	}
}
