package cmd

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

const killTestAdmin = "admin-token-kill-test-0123456789"

// serveChild is `chatbot serve` running as a child process: this test
// binary re-executed through TestMain's CHATBOT_TEST_EXEC_ARGS.
type serveChild struct {
	cmd       *exec.Cmd
	addr      string
	recovered int // "delivery queue recovered" pending=N, 0 when not logged
	mu        sync.Mutex
	logs      bytes.Buffer
	exited    chan struct{} // closed once stderr is drained (the child is gone)
}

var (
	childServingLine   = regexp.MustCompile(`msg=serving addr=(\S+)`)
	childRecoveredLine = regexp.MustCompile(`msg="delivery queue recovered" pending=(\d+)`)
)

// startServeChild starts serve on dir and returns once it logs that it
// serves. Its log is kept for failure messages.
func startServeChild(t *testing.T, dir string, args ...string) *serveChild {
	t.Helper()
	all := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--log-level", "info", "--log-format", "text"}, args...)
	c := &serveChild{cmd: exec.Command(os.Args[0]), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), "CHATBOT_TEST_EXEC_ARGS="+strings.Join(all, "\x1f"), "CHATBOT_ADMIN_TOKEN="+killTestAdmin)
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	serving := make(chan string, 1)
	go func() {
		defer close(c.exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			c.mu.Lock()
			c.logs.WriteString(line + "\n")
			if m := childRecoveredLine.FindStringSubmatch(line); m != nil {
				c.recovered, _ = strconv.Atoi(m[1])
			}
			c.mu.Unlock()
			if m := childServingLine.FindStringSubmatch(line); m != nil && !sent {
				serving <- m[1]
				sent = true
			}
		}
	}()
	select {
	case c.addr = <-serving:
	case <-c.exited:
		t.Fatalf("serve exited before serving:\n%s", c.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not start within 60s:\n%s", c.log())
	}
	return c
}

// wait reads the child's log to the end, then reaps it.
func (c *serveChild) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(60 * time.Second):
		c.cmd.Process.Kill()
		t.Fatalf("serve did not exit within 60s:\n%s", c.log())
	}
	return c.cmd.Wait()
}

func (c *serveChild) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

func (c *serveChild) pendingRecovered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recovered
}

// call sends a JSON request to the child and decodes the JSON answer.
func (c *serveChild) call(t *testing.T, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.addr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\nserver log:\n%s", method, path, err, c.log())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: %d %q", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, m
}

// killReceiver is the platform: it counts every delivery by webhook-id and
// checks its signature. In the first run it holds every request until all
// 100 answers are queued, answers the next ones, and from the 30th on
// never answers (the test kills the server then). In the second run it
// answers at once.
type killReceiver struct {
	t      *testing.T
	secret string

	queued  chan struct{} // closed when all 100 answers are queued
	reached chan struct{} // closed at the 30th request
	killed  chan struct{} // closed once the first server is dead
	second  chan string   // one webhook-id per request of the second run

	mu          sync.Mutex
	total       int
	secondRun   bool
	perID       map[string]int
	messageOf   map[string]float64 // webhook-id -> payload message_id
	reachedOnce sync.Once
	// abandoned counts requests the first server gave up on before the
	// kill (its delivery timeout, on a machine slow enough that sending
	// the 100 messages took longer): each is retried, a duplicate that
	// is not a delivery in flight at the kill.
	abandoned int
}

// gaveUp notes a request whose server side went away: before the kill it
// was abandoned (and will be retried), after it the server died.
func (k *killReceiver) gaveUp() {
	select {
	case <-k.killed:
	default:
		k.mu.Lock()
		k.abandoned++
		k.mu.Unlock()
	}
}

const killAt = 30

func (k *killReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return // the server died mid-request
	}
	id := r.Header.Get("webhook-id")
	if err := webhook.Verify(k.secret, id, r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature"), body, time.Now(), 5*time.Minute); err != nil {
		k.t.Errorf("receiver: delivery %s: %v", id, err)
	}
	var p struct {
		MessageID float64 `json:"message_id"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		k.t.Errorf("receiver: payload %q: %v", body, err)
	}
	k.mu.Lock()
	k.total++
	n, second := k.total, k.secondRun
	k.perID[id]++
	if prev, ok := k.messageOf[id]; ok && prev != p.MessageID {
		k.t.Errorf("receiver: webhook-id %s carried message %v and %v", id, prev, p.MessageID)
	}
	k.messageOf[id] = p.MessageID
	k.mu.Unlock()
	if second {
		w.WriteHeader(http.StatusOK)
		k.second <- id
		return
	}
	select {
	case <-k.queued:
	case <-r.Context().Done():
		k.gaveUp()
		return
	}
	if n >= killAt {
		k.reachedOnce.Do(func() { close(k.reached) })
		select { // never answered: the server is killed meanwhile
		case <-k.killed:
		case <-r.Context().Done():
			k.gaveUp()
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

// The server is killed with SIGKILL (no shutdown of any kind) while 100
// answers are queued for delivery and some are at the platform, then
// started again on the same data directory: every answer reaches the
// platform (100 distinct webhook-ids, the ids of the 100 answers), every
// one is recorded sent, and only deliveries that were in flight at the kill
// are repeated.
func TestServeKilledWith100PendingDeliversAllAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the server twice as a child process")
	}
	const workers = 4
	k := &killReceiver{t: t, queued: make(chan struct{}), reached: make(chan struct{}), killed: make(chan struct{}),
		second: make(chan string, 256), perID: map[string]int{}, messageOf: map[string]float64{}}
	recv := httptest.NewServer(k)
	defer recv.Close()
	defer func() {
		select {
		case <-k.killed:
		default:
			close(k.killed) // let held handlers go, so recv.Close returns
		}
	}()

	dir := t.TempDir()
	args := []string{"--allow-outgoing", "127.0.0.0/8", "--llm", "none", "--embedder", "builtin",
		"--delivery-workers", strconv.Itoa(workers), "--retry-base", "10ms", "--retry-cap", "100ms",
		"--rate-per-minute", "1000", "--shutdown-timeout", "20s",
		"--log-level", "debug"} // each delivery attempt logged, for the duplicates check
	first := startServeChild(t, dir, args...)
	status, created := first.call(t, "POST", "/api/webhook/config", killTestAdmin,
		`{"name":"Receiver","provider":"freshchat","outgoing_webhook_url":`+strconv.Quote(recv.URL+"/hook")+`,"timeout_seconds":300,"retry_attempts":3}`)
	if status != 201 {
		t.Fatalf("create config: %d %v", status, created)
	}
	cfg := created["config"].(map[string]any)
	token := cfg["incoming_token"].(string)
	k.secret = cfg["signing_secret"].(string)

	answers := map[float64]bool{}
	for i := range 100 {
		body := fmt.Sprintf(`{"user_id":"u%d","message":"Where is my order %d?","conversation_id":"conv_%d","message_id":"fc-%d"}`, i%10, i, i%10, i)
		status, res := first.call(t, "POST", "/api/webhook/incoming", token, body)
		id, _ := res["response_id"].(float64)
		if status != 200 || id == 0 {
			t.Fatalf("incoming %d: %d %v", i, status, res)
		}
		answers[id] = true
	}
	close(k.queued)
	select {
	case <-k.reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the receiver never got %d requests:\n%s", killAt, first.log())
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	if ws, ok := first.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("first server ended with %v, want killed by SIGKILL", first.cmd.ProcessState)
	}
	k.mu.Lock()
	firstRun := k.total
	k.secondRun = true
	k.mu.Unlock()
	close(k.killed)

	second := startServeChild(t, dir, args...)
	pending := second.pendingRecovered()
	// At most killAt-1 answers were acknowledged before the kill, so at
	// least 100-(killAt-1) were still queued.
	if pending < 100-(killAt-1) || pending > 100 {
		t.Fatalf("second start recovered %d pending deliveries, want %d to 100:\n%s", pending, 100-(killAt-1), second.log())
	}
	for got := 0; got < pending; got++ {
		select {
		case <-k.second:
		case <-time.After(60 * time.Second):
			t.Fatalf("after restart %d of %d pending deliveries arrived:\n%s", got, pending, second.log())
		}
	}
	// A graceful stop waits for the last deliveries to be recorded; then
	// the store, opened here, holds the outcome of every answer.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.wait(t); err != nil {
		t.Fatalf("second server after SIGTERM: %v\n%s", err, second.log())
	}

	k.mu.Lock()
	total, distinct, abandoned := k.total, len(k.perID), k.abandoned
	delivered := map[float64]bool{}
	for _, m := range k.messageOf {
		delivered[m] = true
	}
	var repeated []string
	for id, n := range k.perID {
		if n > 1 {
			repeated = append(repeated, fmt.Sprintf("%s×%d", id, n))
		}
	}
	k.mu.Unlock()
	sort.Strings(repeated)
	if distinct != 100 {
		t.Errorf("receiver saw %d distinct webhook-ids, want 100", distinct)
	}
	for id := range answers {
		if !delivered[id] {
			t.Errorf("answer %v never reached the receiver", id)
		}
	}
	if n := len(k.second); n != 0 {
		t.Errorf("%d more deliveries than the %d recovered ones in the second run", n, pending)
	}
	dups := total - distinct
	t.Logf("SIGKILL at request %d: %d requests before the kill, %d deliveries recovered at restart, %d requests in all, "+
		"%d distinct webhook-ids, %d duplicates %v", killAt, firstRun, pending, total, distinct, dups, repeated)
	// The request that triggered the kill was never answered, so it is
	// repeated; only deliveries in flight at the kill (at most one per
	// worker) can be, and requests the server gave up on before it (none
	// unless the machine is slow enough for the 300 s delivery timeout).
	if dups < 1 || dups > workers+abandoned {
		// Seen twice in heavily loaded full runs (6-8), never alone: the
		// servers' logs say which attempts were in flight and retried.
		t.Errorf("%d duplicates, want 1 to %d (the deliveries in flight at the kill, %d abandoned before it)\nfirst server:\n%s\nsecond server:\n%s",
			dups, workers+abandoned, abandoned, first.log(), second.log())
	}
	if firstRun+pending != total {
		t.Errorf("counts do not add up: %d before the kill + %d after != %d", firstRun, pending, total)
	}

	key, err := secret.LoadKey("", dir)
	if err != nil {
		t.Fatal(err)
	}
	box, err := secret.NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir, store.Options{Sealer: box})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	outs, n, err := st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 200)
	if err != nil || n != 100 {
		t.Fatalf("outgoing messages: %d, %v; want 100", n, err)
	}
	for _, m := range outs {
		if m.Status != store.StatusSent || m.Attempts < 1 || m.LastHTTPStatus != 200 || !answers[float64(m.ID)] {
			t.Errorf("message %d: status %s attempts %d http %d err %q", m.ID, m.Status, m.Attempts, m.LastHTTPStatus, m.LastError)
		}
	}
	if p, err := st.PendingDeliveries(); err != nil || p != 0 {
		t.Errorf("pending deliveries after all: %d, %v", p, err)
	}
	if err := st.Check(); err != nil {
		t.Errorf("store check: %v", err)
	}
}
