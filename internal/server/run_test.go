package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const runAdmin = "admin-token-run-0123456789"

// stepLog records the shutdown steps the server logs, in order, and tells
// a test as each one is done.
type stepLog struct {
	mu    sync.Mutex
	steps []string
	done  chan string
}

func newStepLog() *stepLog { return &stepLog{done: make(chan string, 64)} }

func (l *stepLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *stepLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *stepLog) WithGroup(string) slog.Handler            { return l }

func (l *stepLog) Handle(_ context.Context, r slog.Record) error {
	if !strings.HasPrefix(r.Message, "shutdown: ") {
		return nil
	}
	var step string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "step" {
			step = a.Value.String()
		}
		return true
	})
	if strings.Contains(r.Message, "did not") {
		step += " FAILED"
	}
	l.mu.Lock()
	l.steps = append(l.steps, step)
	l.mu.Unlock()
	l.done <- step
	return nil
}

func (l *stepLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.steps)
}

// waitStep waits for the shutdown step named to be logged as done.
func (l *stepLog) waitStep(t *testing.T, name string) {
	t.Helper()
	timeout := time.After(60 * time.Second) // a guard against a hang, not a synchronisation
	for {
		select {
		case s := <-l.done:
			if s == name {
				return
			}
		case <-timeout:
			t.Fatalf("step %q not logged; steps so far: %v", name, l.list())
		}
	}
}

func runConfig(t *testing.T, log *slog.Logger) Config {
	t.Helper()
	return Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), AdminToken: runAdmin, Embedder: "builtin",
		AllowOutgoing: "127.0.0.0/8", RetryBase: 10 * time.Millisecond, RetryCap: 100 * time.Millisecond,
		ShutdownTimeout: time.Minute, Answer: AnswerConfig{LLM: LLMNone}, Log: log}
}

// storeLocked says whether another process (here: another open) is kept
// out of the data directory: the server still holds its store.
func storeLocked(t *testing.T, dir string) bool {
	t.Helper()
	st, err := store.Open(dir, store.Options{LockTimeout: 50 * time.Millisecond})
	if errors.Is(err, store.ErrLocked) {
		return true
	}
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	st.Close()
	return false
}

// Cancelling Run's context shuts the server down in the documented order:
// HTTP, background answers (webhook, then platforms), live chat, the LLM checker, syncs, the
// delivery worker (a delivery in flight finishes and is recorded), backups,
// and the store last, whose lock is held until then.
func TestRunShutsDownInOrder(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		once.Do(func() { close(arrived) })
		<-release
	}))
	defer recv.Close()

	steps := newStepLog()
	cfg := runConfig(t, slog.New(steps))
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &store.WebhookConfig{Name: "P", Provider: "p", OutgoingURL: recv.URL, TimeoutSeconds: 60, RetryAttempts: 1,
		IsActive: true, SigningSecret: secret.NewSigningSecret()}
	if err := a.Store().CreateConfig(c); err != nil {
		t.Fatal(err)
	}
	job, err := a.Store().AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: c.ID,
		Platform: "p", ConversationID: "c", UserID: "u", Text: "in flight at shutdown"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-arrived // the delivery is in flight
	cancel()

	// Shutdown reaches the worker and waits there for the delivery: the
	// store stays open (locked) and Run has not returned.
	steps.waitStep(t, "source syncs")
	if !storeLocked(t, cfg.DataDir) {
		t.Fatal("the store was released while a delivery was in flight")
	}
	select {
	case err := <-done:
		t.Fatalf("Run returned %v while a delivery was in flight", err)
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}

	want := []string{"http", "background answers", "platform answers", "live chat", "llm checker", "source syncs", "delivery worker", "scheduled backups", "knowledge snapshot", "store"}
	if got := steps.list(); !slices.Equal(got, want) {
		t.Fatalf("shutdown steps = %v, want %v", got, want)
	}
	// The store is free now, and the delivery was recorded before it closed.
	st, err := store.Open(cfg.DataDir, store.Options{LockTimeout: 50 * time.Millisecond, Sealer: sealerOf(t, cfg.DataDir)})
	if err != nil {
		t.Fatalf("the store is still held after Run returned: %v", err)
	}
	defer st.Close()
	m, err := st.Message(job.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != store.StatusSent {
		t.Fatalf("the in-flight delivery ended as %q, want %q", m.Status, store.StatusSent)
	}
	if _, err := os.Stat(filepath.Join(cfg.DataDir, RecordFile)); !os.IsNotExist(err) {
		t.Fatalf("server record left behind: %v", err)
	}
}

// sealerOf opens the secret box of a data directory, as New does.
func sealerOf(t *testing.T, dir string) store.Sealer {
	t.Helper()
	key, err := secret.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// A busy port fails in New, synchronously, before the data directory is
// created or opened (issue 14: it was opened first).
func TestNewFailsOnABusyPortBeforeOpeningTheStore(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := runConfig(t, nil)
	cfg.Addr = ln.Addr().String()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "listen on "+cfg.Addr) || !strings.Contains(err.Error(), "--addr") {
		t.Fatalf("New on a busy port = %v, want a listen error naming --addr", err)
	}
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Fatalf("the data directory was created before the port was found busy: %v", err)
	}
}

// A start that fails after the store is open (here: --llm ollama with no
// Ollama to reach) releases the port and the store for the next try.
func TestNewReleasesWhatAFailedStartOpened(t *testing.T) {
	cfg := runConfig(t, nil)
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused.Close() // nothing listens there now
	cfg.Addr = a.Addr()
	cfg.Answer = AnswerConfig{LLM: LLMOllama, OllamaHost: refused.Addr().String()}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "--llm ollama") {
		t.Fatalf("New with --llm ollama and no Ollama = %v, want the --llm ollama error", err)
	}
	if storeLocked(t, cfg.DataDir) {
		t.Fatal("a failed New left the store locked")
	}
	ln, err := net.Listen("tcp", a.Addr())
	if err != nil {
		t.Fatalf("a failed New left %s in use: %v", a.Addr(), err)
	}
	ln.Close()
}

// New checks the config before it touches the disk.
func TestNewValidatesBeforeOpening(t *testing.T) {
	cfg := runConfig(t, nil)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.Addr = "127.0.0.1:99999"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), `--addr "127.0.0.1:99999"`) {
		t.Fatalf("New = %v, want the --addr error", err)
	}
	if _, err := os.Stat(cfg.DataDir); !os.IsNotExist(err) {
		t.Fatalf("the data directory was created before the config was checked: %v", err)
	}
}

// Close releases a server that never ran: its port and its store.
func TestCloseReleasesAServerThatNeverRan(t *testing.T) {
	cfg := runConfig(t, nil)
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addr := a.Addr()
	if !storeLocked(t, cfg.DataDir) {
		t.Fatal("New did not hold the store")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if storeLocked(t, cfg.DataDir) {
		t.Fatal("Close left the store locked")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("Close left %s in use: %v", addr, err)
	}
	ln.Close()
	if err := a.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
}
