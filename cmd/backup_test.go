package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

const backupAdmin = "admin-token-backup-0123456789"

// startOwnApp starts the service and returns a stop that shuts it down and
// waits, so a test can stop it before its end.
func startOwnApp(t *testing.T, cfg config) (*app, func()) {
	t.Helper()
	cfg = testConfig(t, cfg)
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), io.Discard)
	if err != nil {
		t.Fatalf("newApp: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	waitHealthy(t, "http://"+a.Addr())
	return a, stop
}

// flakyReceiver answers 503 until up, then records each body.
type flakyReceiver struct {
	up        atomic.Bool
	attempts  chan struct{}
	delivered chan string
	srv       *httptest.Server
}

func newFlakyReceiver(t *testing.T) *flakyReceiver {
	r := &flakyReceiver{attempts: make(chan struct{}, 100), delivered: make(chan string, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		if !r.up.Load() {
			select {
			case r.attempts <- struct{}{}:
			default:
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.delivered <- string(body)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// seedServer fills a running server: one document, one integration whose
// platform is down, one answered message whose delivery is queued.
func seedServer(t *testing.T, base, receiverURL string) (incomingToken string) {
	t.Helper()
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "shipping.md"), []byte("# Shipping\n\nOrders ship within 2 business days from our Berlin warehouse.\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, body := apiCall(t, "POST", base+"/api/knowledge/ingest", backupAdmin, `{"paths":[`+strconv.Quote(docs)+`]}`); status != 200 {
		t.Fatalf("ingest: %d %s", status, body)
	}
	status, body := apiCall(t, "POST", base+"/api/webhook/config", backupAdmin,
		`{"name":"Chatwoot","provider":"chatwoot","auth_token":"outgoing-secret-9876","retry_attempts":10,"outgoing_webhook_url":`+strconv.Quote(receiverURL)+`}`)
	if status != 201 {
		t.Fatalf("create config: %d %s", status, body)
	}
	var created struct {
		Config struct {
			IncomingToken string `json:"incoming_token"`
		} `json:"config"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	msg := `{"user_id":"u1","message":"When do orders ship?","platform":"chatwoot","conversation_id":"c1","message_id":"cw-1"}`
	if status, body := apiCall(t, "POST", base+"/api/webhook/incoming", created.Config.IncomingToken, msg); status != 200 || !bytes.Contains(body, []byte("2 business days")) {
		t.Fatalf("incoming: %d %s", status, body)
	}
	return created.Config.IncomingToken
}

// Backup while serving, restore into an empty directory, start there: the
// integration (with its secret), the document, the conversation and the
// queued delivery are back, and the delivery goes out once the platform is up.
func TestBackupWhileServingThenRestoreResumesDeliveries(t *testing.T) {
	recv := newFlakyReceiver(t)
	src := t.TempDir()
	cfg := config{DataDir: src, AdminToken: backupAdmin, AllowOutgoing: "127.0.0.0/8", Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()},
		RetryBase: 2 * time.Second, RetryCap: 10 * time.Second}
	cfg.Answer.LLM = "none"
	a, stopA := startOwnApp(t, cfg)
	seedServer(t, "http://"+a.Addr(), recv.srv.URL)
	<-recv.attempts // the first delivery attempt failed: the answer is queued for a retry

	out := filepath.Join(t.TempDir(), "b.backup")
	stdout, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": backupAdmin}), "backup", "--out", out, "--data-dir", src)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	for _, want := range []string{"written and checked (streamed from the running server)", "NOTE: the secret key is NOT in the backup", filepath.Join(src, "secret.key")} {
		if !strings.Contains(stdout, want) {
			t.Errorf("backup said %q, want %q in it", stdout, want)
		}
	}
	stopA()

	dst := filepath.Join(t.TempDir(), "restored")
	stdout, _, err = run(t, mapEnv(nil), "restore", out, "--data-dir", dst, "--key-file", filepath.Join(src, "secret.key"))
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if !strings.Contains(stdout, "1 integrations, 2 messages, 1 conversations, 1 documents, 1 queued deliveries") {
		t.Fatalf("restore said %q", stdout)
	}
	recv.up.Store(true)
	cfg.DataDir = dst
	cfg.RetryBase, cfg.RetryCap = 10*time.Millisecond, 100*time.Millisecond
	b, _ := startOwnApp(t, cfg)
	select {
	case got := <-recv.delivered:
		if !strings.Contains(got, "2 business days") || !strings.Contains(got, `"conversation_id":"c1"`) {
			t.Fatalf("delivered %s", got)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the queued delivery was not delivered after the restore")
	}
	c, err := b.store.ConfigByName("Chatwoot")
	if err != nil || c.AuthToken != "outgoing-secret-9876" || c.OutgoingURL != recv.srv.URL {
		t.Fatalf("restored config = %+v, %v", c, err)
	}
	conv, err := b.store.Conversation(store.ConvRef{ConfigID: c.ID, ConversationID: "c1"})
	if err != nil || len(conv.Turns) != 2 {
		t.Fatalf("restored conversation = %+v, %v", conv, err)
	}
	docs, err := b.store.Documents()
	if err != nil || len(docs) != 1 || !strings.HasSuffix(docs[0].Path, "shipping.md") {
		t.Fatalf("restored documents = %+v, %v", docs, err)
	}
	if b.index.Len() == 0 {
		t.Fatal("the restored knowledge base has no chunks")
	}
}

// Backup under load: answers and deliveries keep running (under -race);
// the backup opens, passes the check, and holds every message the server
// acknowledged before the backup began.
func TestBackupUnderLoadHoldsAcknowledgedMessages(t *testing.T) {
	recv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer recv.Close()
	cfg := config{AdminToken: backupAdmin, AllowOutgoing: "127.0.0.0/8", Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}}
	cfg.Answer.LLM = "none"
	cfg.Incoming.RatePerMinute = 1 << 20
	a, _ := startOwnApp(t, cfg)
	base := "http://" + a.Addr()
	token := seedServer(t, base, recv.URL)

	var (
		mu    sync.Mutex
		acked []string
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		warm  = make(chan struct{})
		once  sync.Once
		fails atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("load-%d-%d", w, i)
				msg := fmt.Sprintf(`{"user_id":"u%d","message":"When do orders ship?","platform":"chatwoot","conversation_id":"c%d","message_id":%q}`, w, w, id)
				req, _ := http.NewRequest("POST", base+"/api/webhook/incoming", strings.NewReader(msg))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					fails.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails.Add(1)
					continue
				}
				mu.Lock()
				acked = append(acked, id)
				n := len(acked)
				mu.Unlock()
				if n >= 40 {
					once.Do(func() { close(warm) })
				}
			}
		}()
	}
	<-warm
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	out := filepath.Join(t.TempDir(), "load.backup")
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": backupAdmin}), "backup", "--out", out, "--data-dir", a.cfg.DataDir)
	mu.Lock()
	during := len(acked) - len(before)
	mu.Unlock()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("backup under load: %v", err)
	}
	if fails.Load() != 0 {
		t.Fatalf("%d requests failed during the backup", fails.Load())
	}
	dir := t.TempDir()
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := store.ExtractSnapshot(f, dir); err != nil {
		t.Fatalf("the backup does not check: %v", err)
	}
	st, err := store.Open(dir, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range before {
		if _, err := st.IncomingByPlatformID(store.ConvRef{ConfigID: 1}, id, 24*time.Hour); err != nil { // the one integration
			t.Fatalf("message %s, acknowledged before the backup began, is not in it: %v", id, err)
		}
	}
	t.Logf("%d messages acknowledged before the backup, %d more while it ran", len(before), during)
}
