package chat

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

func TestOllamaURL(t *testing.T) {
	tests := []struct{ in, want, err string }{
		{"", "http://127.0.0.1:11434", ""},
		{"127.0.0.1", "http://127.0.0.1:11434", ""},
		{"0.0.0.0", "http://127.0.0.1:11434", ""},
		{"0.0.0.0:9999", "http://127.0.0.1:9999", ""},
		{"ollama.internal:8000", "http://ollama.internal:8000", ""},
		{"http://gpu-box", "http://gpu-box:80", ""},
		{"https://ollama.example.com/base", "https://ollama.example.com:443/base", ""},
		{"[::1]:11434", "http://[::1]:11434", ""},
		{"ftp://x", "", "scheme must be http or https"},
		{"host:99999", "", "bad port"},
	}
	for _, tt := range tests {
		u, err := OllamaURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("OllamaURL(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || u.String() != tt.want {
			t.Errorf("OllamaURL(%q) = %v, %v; want %s", tt.in, u, err, tt.want)
		}
	}
}

func newTestOllama(t *testing.T, u *url.URL, tweak func(*OllamaConfig)) *Client {
	t.Helper()
	cfg := OllamaConfig{BaseURL: u, ChatModel: "llama3.2", EmbedModel: "nomic-embed-text",
		MaxGenerations: 2, NumPredict: 64, RecheckInterval: time.Hour}
	if tweak != nil {
		tweak(&cfg)
	}
	o, err := NewOllama(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close(context.Background()) })
	return o
}

var hello = []api.Message{{Role: "user", Content: "hello"}}

func TestChatStreamsTheAnswer(t *testing.T) {
	f := newFakeOllama(t)
	f.answer = "Refunds take 5 days [1]."
	o := newTestOllama(t, f.url(), nil)
	got, err := o.Chat(context.Background(), hello)
	if err != nil || got != "Refunds take 5 days [1]." {
		t.Fatalf("Chat = %q, %v", got, err)
	}
	reqs := f.chatRequests()
	if len(reqs) != 1 || reqs[0].Model != "llama3.2" || reqs[0].Options["num_predict"] != float64(64) ||
		reqs[0].Stream == nil || !*reqs[0].Stream {
		t.Fatalf("request = %+v", reqs)
	}
}

func TestChatFailures(t *testing.T) {
	tests := []struct {
		mode      string
		url       func(*fakeOllama) *url.URL
		want      error  // errors.Is target, or nil to only check the text
		wantText  string // substring of the error
		opensNow  bool   // the breaker opens on the first failure
		wantState string // the breaker's reason
	}{
		{mode: "refuse", url: func(*fakeOllama) *url.URL { return refusingURL(t) }, wantText: "connection refused", opensNow: true, wantState: "connection refused"},
		{mode: "500", wantText: "llama runner process has terminated", wantState: "HTTP 500"},
		{mode: "404", wantText: "not found", opensNow: true, wantState: "ollama pull llama3.2"},
		{mode: "hang", want: context.DeadlineExceeded, wantState: "timed out"},
		{mode: "half", want: ErrLLMIncomplete, wantState: "stream dropped"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			f := newFakeOllama(t)
			f.setMode(tt.mode)
			u := f.url()
			if tt.url != nil {
				u = tt.url(f)
			}
			o := newTestOllama(t, u, func(c *OllamaConfig) { c.FailureThreshold = 3 })
			// Only "hang" needs the deadline to pass; the others fail on
			// their own, and a short deadline would race a busy machine.
			timeout := 10 * time.Second
			if tt.mode == "hang" {
				timeout = 150 * time.Millisecond
			}
			for i := range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				_, err := o.Chat(ctx, hello)
				cancel()
				if err == nil {
					t.Fatalf("call %d: no error", i)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("call %d: err = %v, want %v", i, err, tt.want)
				}
				if tt.wantText != "" && !strings.Contains(err.Error(), tt.wantText) {
					t.Fatalf("call %d: err = %v, want it to mention %q", i, err, tt.wantText)
				}
				if i == 0 && o.Ready() == tt.opensNow {
					t.Fatalf("after the first failure Ready = %v", o.Ready())
				}
				if !o.Ready() {
					break
				}
			}
			st := o.State()
			if st.State != "down" || !strings.Contains(st.Reason, tt.wantState) {
				t.Fatalf("state = %+v, want down with %q", st, tt.wantState)
			}
			// Open: the next caller does not wait or reach the server.
			before := len(f.chatRequests())
			start := time.Now()
			if _, err := o.Chat(context.Background(), hello); !errors.Is(err, ErrLLMDown) {
				t.Fatalf("open breaker: err = %v", err)
			}
			if d := time.Since(start); d > 5*time.Second { // a wait, not scheduling noise
				t.Fatalf("open breaker took %v", d)
			}
			if n := len(f.chatRequests()); n != before {
				t.Fatalf("open breaker reached the server (%d -> %d)", before, n)
			}
		})
	}
}

func TestChatEmptyAnswerDoesNotOpenBreaker(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("empty")
	o := newTestOllama(t, f.url(), func(c *OllamaConfig) { c.FailureThreshold = 1 })
	if _, err := o.Chat(context.Background(), hello); !errors.Is(err, ErrLLMEmpty) {
		t.Fatalf("err = %v", err)
	}
	if !o.Ready() {
		t.Fatal("an empty answer opened the breaker")
	}
}

func TestChatCallerCancelDoesNotCount(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("hang")
	f.arrived = make(chan struct{}, 1)
	o := newTestOllama(t, f.url(), func(c *OllamaConfig) { c.FailureThreshold = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-f.arrived; cancel() }()
	if _, err := o.Chat(ctx, hello); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !o.Ready() {
		t.Fatal("a caller's cancel opened the breaker")
	}
}

func TestBreakerRecheck(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("404")
	o := newTestOllama(t, f.url(), nil)
	if _, err := o.Chat(context.Background(), hello); err == nil || o.Ready() {
		t.Fatalf("err = %v, ready = %v", err, o.Ready())
	}
	o.recheck() // still missing
	if o.Ready() {
		t.Fatal("recheck closed the breaker while the model is missing")
	}
	f.setMode("ok")
	o.recheck()
	if !o.Ready() {
		t.Fatalf("recheck did not close the breaker: %+v", o.State())
	}
	// Half-open: one more failure opens it again at once.
	f.setMode("500")
	o.Chat(context.Background(), hello)
	if o.Ready() {
		t.Fatal("a failure right after recovery did not reopen the breaker")
	}
}

func TestBackgroundCheckerRecovers(t *testing.T) {
	f := newFakeOllama(t)
	o := newTestOllama(t, f.url(), func(c *OllamaConfig) { c.RecheckInterval = 5 * time.Millisecond })
	o.MarkDown("not reachable at start-up")
	o.Start()
	deadline := time.Now().Add(5 * time.Second)
	for !o.Ready() {
		if time.Now().After(deadline) {
			t.Fatalf("checker did not close the breaker: %+v", o.State())
		}
		runtime.Gosched()
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseWithoutStart(t *testing.T) {
	o := newTestOllama(t, refusingURL(t), nil)
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.Start() // after Close: a no-op, not a leak
}

func TestQueueFullFailsFast(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("hang")
	f.arrived = make(chan struct{}, 4)
	o := newTestOllama(t, f.url(), func(c *OllamaConfig) { c.MaxGenerations, c.QueueSize = 1, 1 })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errs := make(chan error, 2)
	go func() { _, err := o.Chat(ctx, hello); errs <- err }() // holds the slot
	<-f.arrived
	go func() { _, err := o.Chat(ctx, hello); errs <- err }() // waits in the queue
	for o.State().Queued != 1 {
		runtime.Gosched()
	}
	start := time.Now()
	if _, err := o.Chat(ctx, hello); !errors.Is(err, ErrLLMBusy) {
		t.Fatalf("third caller: err = %v, want ErrLLMBusy", err)
	}
	if d := time.Since(start); d > 5*time.Second { // a wait in the queue, not scheduling noise
		t.Fatalf("busy answer took %v", d)
	}
	cancel()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	}
	if !o.Ready() {
		t.Fatal("cancelled callers opened the breaker")
	}
}

func TestProbe(t *testing.T) {
	f := newFakeOllama(t)
	o := newTestOllama(t, f.url(), nil)
	st := o.Probe(context.Background())
	if !st.Reachable || st.Version != "0.6.5" || !st.ChatModelPresent || st.EmbedModelPresent {
		t.Fatalf("status = %+v", st)
	}
	if got := strings.Join(st.Missing(), "; "); got != "ollama pull nomic-embed-text" {
		t.Fatalf("missing = %q", got)
	}

	down := newTestOllama(t, refusingURL(t), nil)
	st = down.Probe(context.Background())
	if st.Reachable || !strings.Contains(st.Err, "connection refused") || len(st.Missing()) != 0 {
		t.Fatalf("status = %+v", st)
	}
}

// The background checker is an owned goroutine: Close stops it, and
// nothing of it is left running.
func TestCheckerDoesNotLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	o, err := NewOllama(OllamaConfig{BaseURL: refusingURL(t), ChatModel: "m", RecheckInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o.MarkDown("test")
	o.Start()
	o.Start() // idempotent
	if err := o.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}

// TestChatCounts: every call is counted, and each failure under its reason.
func TestChatCounts(t *testing.T) {
	tests := []struct {
		mode    string
		timeout time.Duration // 0: no deadline
		reason  string        // "" for a success
	}{
		{mode: "ok"},
		{mode: "500", reason: "http_status"},
		{mode: "404", reason: "model_not_found"},
		{mode: "refuse", reason: "connection"},
		{mode: "hang", timeout: 50 * time.Millisecond, reason: "timeout"},
		{mode: "half", reason: "incomplete"},
		{mode: "empty", reason: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			o := faultyOllama(t, tt.mode)
			ctx := context.Background()
			if tt.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.timeout)
				defer cancel()
			}
			_, err := o.Chat(ctx, hello)
			if (err == nil) != (tt.reason == "") {
				t.Fatalf("err = %v", err)
			}
			want := map[string]uint64{}
			for _, r := range LLMFailureReasons {
				want[r] = 0
			}
			if tt.reason != "" {
				want[tt.reason] = 1
			}
			if got := o.Counts(); got.Calls != 1 || !maps.Equal(got.Failures, want) {
				t.Fatalf("counts = %+v, want 1 call and failures %v", got, want)
			}
		})
	}
}

// TestChatCountsRefusals: calls refused before reaching Ollama count too.
func TestChatCountsRefusals(t *testing.T) {
	f := newFakeOllama(t)
	o := newTestOllama(t, f.url(), nil)
	o.MarkDown("test")
	if _, err := o.Chat(context.Background(), hello); !errors.Is(err, ErrLLMDown) {
		t.Fatalf("err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.setMode("hang")
	o2 := newTestOllama(t, f.url(), func(c *OllamaConfig) { c.MaxGenerations, c.QueueSize = 1, 1 })
	if _, err := o2.pool.Acquire(context.Background(), -1); err != nil { // every slot taken
		t.Fatal(err)
	}
	wctx, wcancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() { _, err := o2.pool.Acquire(wctx, -1); waited <- err }() // and the queue full
	for o2.pool.Queued() != 1 {
		runtime.Gosched()
	}
	if _, err := o2.Chat(ctx, hello); !errors.Is(err, ErrLLMBusy) {
		t.Fatalf("err = %v", err)
	}
	wcancel() // a place in the queue, but the caller is gone
	<-waited
	if _, err := o2.Chat(ctx, hello); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if c := o.Counts(); c.Calls != 1 || c.Failures["down"] != 1 {
		t.Errorf("breaker open: %+v", c)
	}
	if c := o2.Counts(); c.Calls != 2 || c.Failures["busy"] != 1 || c.Failures["canceled"] != 1 {
		t.Errorf("queue full, then cancelled while queued: %+v", c)
	}
}

// Reading the stream costs kilobytes, not the 8 MB line buffer per call
// api.Client.Chat allocates (40 MB over these 5 calls before).
func TestOllamaStreamAllocatesLittle(t *testing.T) {
	f := newFakeOllama(t)
	o := newTestOllama(t, f.url(), nil)
	if _, err := o.Chat(context.Background(), hello); err != nil { // warm: connections, pools
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		if _, err := o.Chat(context.Background(), hello); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 4<<20 {
		t.Fatalf("5 generations allocated %d bytes (server side included)", n)
	}
}
