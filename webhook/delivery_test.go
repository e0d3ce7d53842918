package webhook

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// received is one request a test receiver got.
type received struct {
	header http.Header
	body   []byte
}

// receiver is a real HTTP server on loopback that records every request
// and answers through respond (n counts from 1).
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{respond: respond}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("receiver: read body: %v", err)
		}
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.respond != nil {
			rc.respond(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// harness is a store, a config and a worker that reports every attempt.
type harness struct {
	t        *testing.T
	dir      string
	st       *store.Store
	clock    *manualClock
	cfg      *store.WebhookConfig
	sender   *Sender
	worker   *Worker
	attempts chan AttemptReport
	backlog  []AttemptReport // reports of other messages seen by waitFinal
}

// manualClock is the store's clock where a test needs to move time.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type harnessOptions struct {
	allow    string
	resolver Resolver
	clock    *manualClock
	workers  int
	worker   WorkerOptions
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newHarness(t *testing.T, url string, o harnessOptions) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: o.clock, attempts: make(chan AttemptReport, 4096)}
	h.openStore()
	h.cfg = &store.WebhookConfig{
		Name: "Freshchat", Provider: "freshchat", OutgoingURL: url, AuthToken: "tok_abcdef123456",
		CustomHeaders:  map[string]string{"X-Api-Key": "key_987654", "X-Platform": "freshchat"},
		TimeoutSeconds: 5, RetryAttempts: 3, IsActive: true, SigningSecret: secret.NewSigningSecret(),
	}
	if err := h.st.CreateConfig(h.cfg); err != nil {
		t.Fatal(err)
	}
	if o.allow == "" {
		o.allow = "127.0.0.0/8"
	}
	if o.allow == "none" {
		o.allow = ""
	}
	policy, err := ParseAllowList(o.allow)
	if err != nil {
		t.Fatal(err)
	}
	h.sender = NewSender(policy, SenderOptions{UserAgent: "chatbot/test", Resolver: o.resolver})
	wo := o.worker
	if wo.Workers == 0 {
		wo.Workers = 4
	}
	if wo.Retry.Base == 0 {
		wo.Retry = store.RetryPolicy{Base: time.Millisecond, Cap: 4 * time.Millisecond}
	}
	wo.OnAttempt = func(r AttemptReport) { h.attempts <- r }
	h.worker = NewWorker(h.st, h.sender, discardLog(), wo)
	return h
}

func (h *harness) openStore() {
	opts := store.Options{}
	if h.clock != nil {
		opts.Now = h.clock.Now
	}
	st, err := store.Open(h.dir, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.st = st
	h.t.Cleanup(func() {
		if err := st.Check(); err != nil && !strings.Contains(err.Error(), "database not open") {
			h.t.Errorf("store check: %v", err)
		}
		st.Close()
	})
}

func (h *harness) start() {
	h.t.Helper()
	if err := h.worker.Run(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.worker.Stop(ctx); err != nil {
			h.t.Errorf("stop: %v", err)
		}
	})
}

func (h *harness) add(conv, text string) store.DeliveryJob {
	h.t.Helper()
	job, err := h.st.AddOutgoingForDelivery(&store.Message{
		Type: store.MessageOutgoing, ConfigID: h.cfg.ID, Platform: "freshchat", ConversationID: conv,
		UserID: "external_user_123", Text: text, ResponseType: "rag_knowledge_base",
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.worker.Notify()
	return job
}

// waitFinal returns the attempts of message id up to its final one.
func (h *harness) waitFinal(id uint64) []AttemptReport {
	h.t.Helper()
	var mine []AttemptReport
	rest := h.backlog[:0:0]
	for _, r := range h.backlog {
		if r.MessageID == id {
			mine = append(mine, r)
			if r.Outcome.Status != store.StatusPending {
				h.backlog = append(rest, h.backlog[len(rest)+len(mine):]...)
				return mine
			}
			continue
		}
		rest = append(rest, r)
	}
	h.backlog = rest
	timeout := time.After(20 * time.Second)
	for {
		select {
		case r := <-h.attempts:
			if r.MessageID != id {
				h.backlog = append(h.backlog, r)
				continue
			}
			mine = append(mine, r)
			if r.Outcome.Status != store.StatusPending {
				return mine
			}
		case <-timeout:
			h.t.Fatalf("message %d: no final outcome after 20s; attempts so far %+v", id, mine)
		}
	}
}

func (h *harness) message(id uint64) *store.Message {
	h.t.Helper()
	m, err := h.st.OutgoingMessage(id)
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// checkNoLeak fails when goroutines outlive the test's workers and servers.
// It polls because exiting goroutines need a moment to be gone.
func checkNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			n := runtime.NumGoroutine()
			if n <= before {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond) // polling a count, not synchronising work
		}
	})
}

func TestDeliveredAfterTwo500s(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	h := newHarness(t, rc.srv.URL+"/hook", harnessOptions{})
	sigClock := time.Unix(1737288000, 0)
	var ticks atomic.Int64
	h.sender.now = func() time.Time { return sigClock.Add(time.Duration(ticks.Add(1)) * time.Second) }
	h.start()
	job := h.add("conv_456", "Reset it under Settings > Security.")

	reports := h.waitFinal(job.MessageID)
	if len(reports) != 3 || reports[2].Outcome.Status != store.StatusSent {
		t.Fatalf("attempts = %+v, want 3 ending in sent", reports)
	}
	got := rc.requests()
	if len(got) != 3 {
		t.Fatalf("receiver got %d requests, want 3", len(got))
	}
	m := h.message(job.MessageID)
	want, _ := json.Marshal(map[string]any{
		"user_id": "external_user_123", "conversation_id": "conv_456", "platform": "freshchat",
		"message": "Reset it under Settings > Security.", "response_type": "rag_knowledge_base",
		"message_format": "markdown", "message_plain": "Reset it under Settings > Security.",
		"sender": "Assistant", "sender_type": "bot", "message_id": job.MessageID,
		"timestamp": m.CreatedAt.UTC().Format(time.RFC3339), "sources": []any{},
	})
	var wantMap, gotMap map[string]any
	json.Unmarshal(want, &wantMap)
	seenSig := map[string]bool{}
	for i, r := range got {
		if err := json.Unmarshal(r.body, &gotMap); err != nil {
			t.Fatalf("request %d body %q: %v", i, r.body, err)
		}
		if g, w := mustJSON(gotMap), mustJSON(wantMap); g != w {
			t.Errorf("request %d payload = %s, want %s", i, g, w)
		}
		hd := r.header
		for name, want := range map[string]string{
			"Content-Type": "application/json", "Authorization": "Bearer tok_abcdef123456",
			"X-Api-Key": "key_987654", "X-Platform": "freshchat", "User-Agent": "chatbot/test",
			"Webhook-Id": job.WebhookID,
		} {
			if got := hd.Get(name); got != want {
				t.Errorf("request %d header %s = %q, want %q", i, name, got, want)
			}
		}
		ts := hd.Get("Webhook-Timestamp")
		if want := sigClock.Add(time.Duration(i+1) * time.Second).Unix(); ts != itoa(want) {
			t.Errorf("request %d webhook-timestamp = %s, want a fresh one (%d)", i, ts, want)
		}
		if err := Verify(h.cfg.SigningSecret, hd.Get("Webhook-Id"), ts, hd.Get("Webhook-Signature"), r.body, sigClock, time.Hour); err != nil {
			t.Errorf("request %d signature: %v", i, err)
		}
		if seenSig[hd.Get("Webhook-Signature")] {
			t.Errorf("request %d reuses a signature", i)
		}
		seenSig[hd.Get("Webhook-Signature")] = true
	}
	if m.Status != store.StatusSent || m.Attempts != 3 || m.LastHTTPStatus != 200 || m.LastError != "" || m.DeliveredAt.IsZero() {
		t.Errorf("message = status %s attempts %d http %d err %q delivered %v", m.Status, m.Attempts, m.LastHTTPStatus, m.LastError, m.DeliveredAt)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestAlways500FailsThenRedeliver(t *testing.T) {
	checkNoLeak(t)
	var healthy atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		if healthy.Load() {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		// A careless platform echoes our headers in its error page.
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "upstream broke; got "+r.Header.Get("Authorization")+" key "+r.Header.Get("X-Api-Key"))
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.start()
	job := h.add("c1", "hello")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 4 || reports[3].Outcome.Status != store.StatusFailed {
		t.Fatalf("attempts = %d (%+v), want 4 (1 + retry_attempts 3) ending in failed", len(reports), reports)
	}
	m := h.message(job.MessageID)
	if m.Status != store.StatusFailed || m.Attempts != 4 || m.LastHTTPStatus != 500 {
		t.Fatalf("message = %+v", m)
	}
	if want := "HTTP 500: upstream broke; got Bearer **** key ****"; m.LastError != want {
		t.Errorf("last_error = %q, want %q (secrets scrubbed)", m.LastError, want)
	}
	if len(rc.requests()) != 4 {
		t.Fatalf("receiver got %d, want 4", len(rc.requests()))
	}

	healthy.Store(true)
	d := NewDeliveries(h.st, h.sender, h.worker.Notify)
	re, err := d.Redeliver(job.MessageID)
	if err != nil {
		t.Fatal(err)
	}
	if re.WebhookID != job.WebhookID {
		t.Errorf("redelivery webhook id %q, want the original %q", re.WebhookID, job.WebhookID)
	}
	reports = h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusSent {
		t.Fatalf("redelivery attempts = %+v, want one, sent", reports)
	}
	got := rc.requests()
	if len(got) != 5 || got[4].header.Get("Webhook-Id") != job.WebhookID {
		t.Fatalf("receiver got %d requests, last webhook-id %q; want 5 with %q", len(got), got[len(got)-1].header.Get("Webhook-Id"), job.WebhookID)
	}
	if m := h.message(job.MessageID); m.Status != store.StatusSent || m.Attempts != 5 || m.LastError != "" {
		t.Errorf("after redelivery = status %s attempts %d err %q", m.Status, m.Attempts, m.LastError)
	}
}

func TestReceiverSleepsPastTimeout(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done(): // we hung up
		case <-release:
		}
	})
	defer close(release)
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.cfg, _ = h.st.UpdateConfig(h.cfg.ID, func(c *store.WebhookConfig) error { c.TimeoutSeconds, c.RetryAttempts = 1, 0; return nil })
	h.start()
	start := time.Now()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	took := time.Since(start)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusFailed {
		t.Fatalf("attempts = %+v", reports)
	}
	if took < time.Second || took > 4*time.Second {
		t.Errorf("attempt took %v, want about the 1s timeout", took)
	}
	m := h.message(job.MessageID)
	if m.LastError != "no complete answer within 1s (timeout_seconds)" || m.LastHTTPStatus != 0 {
		t.Errorf("last_error %q http %d", m.LastError, m.LastHTTPStatus)
	}
	// The recorded latency is the attempt's own duration: the whole timeout.
	if m.DeliveryLatencyMS < 1000 || m.DeliveryLatencyMS > took.Milliseconds() {
		t.Errorf("delivery_latency_ms = %d, want at least the 1000 ms timeout and at most the %v the attempt took", m.DeliveryLatencyMS, took)
	}
}

func TestReceiverDripsHugeBody(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		chunk := strings.Repeat("x", 16<<10)
		for i := 0; i < 1<<12 && r.Context().Err() == nil; i++ { // up to 64 MB
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.start()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusSent {
		t.Fatalf("attempts = %+v, want sent after reading only the first 64 KB", reports)
	}
}

func TestReceiverClosesConnectionMidResponse(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n > 1 {
			w.WriteHeader(http.StatusOK)
			return
		}
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"ok\":")
		buf.Flush()
		conn.Close()
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.start()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 2 || reports[1].Outcome.Status != store.StatusSent {
		t.Fatalf("attempts = %+v, want a failed one then sent", reports)
	}
	if e := errText(reports[0].Result.Err); !strings.Contains(e, "cut off") || !strings.Contains(e, "closed the connection") {
		t.Errorf("first attempt error = %q", e)
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	checkNoLeak(t)
	tests := []struct {
		name       string
		retryAfter string
		minDelay   time.Duration
		maxDelay   time.Duration
	}{
		{"seconds", "2", 2 * time.Second, 2 * time.Second},
		{"capped at one hour", "86400", time.Hour, time.Hour},
		{"garbage ignored", "soon", 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", tt.retryAfter)
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			clock := &manualClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
			h := newHarness(t, rc.srv.URL, harnessOptions{clock: clock})
			h.start()
			job := h.add("c", "x")
			first := <-h.attempts
			if first.Outcome.Status != store.StatusPending || first.Result.StatusCode != 429 {
				t.Fatalf("first attempt = %+v", first)
			}
			delay := first.Outcome.NextAttemptAt.Sub(clock.Now())
			if delay < tt.minDelay || delay > tt.maxDelay {
				t.Fatalf("next attempt in %v, want within [%v, %v]", delay, tt.minDelay, tt.maxDelay)
			}
			clock.Add(delay)
			h.worker.Notify()
			if r := h.waitFinal(job.MessageID); r[len(r)-1].Outcome.Status != store.StatusSent {
				t.Fatalf("second attempt = %+v", r)
			}
			if n := len(rc.requests()); n != 2 {
				t.Fatalf("receiver got %d, want 2", n)
			}
		})
	}
}

func TestGoneStopsRetries(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusGone))
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.start()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusFailed || !reports[0].Result.Permanent {
		t.Fatalf("attempts = %+v, want one permanent failure", reports)
	}
	if m := h.message(job.MessageID); m.LastHTTPStatus != 410 || !strings.Contains(m.LastError, "410 Gone") {
		t.Errorf("message http %d err %q", m.LastHTTPStatus, m.LastError)
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	checkNoLeak(t)
	target := newReceiver(t, status(http.StatusOK)) // allowed by policy, yet must never be reached
	for _, location := range []string{"http://169.254.169.254/latest/meta-data/", target.srv.URL + "/stolen"} {
		t.Run(location, func(t *testing.T) {
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, location, http.StatusFound)
			})
			h := newHarness(t, rc.srv.URL, harnessOptions{})
			h.cfg, _ = h.st.UpdateConfig(h.cfg.ID, func(c *store.WebhookConfig) error { c.RetryAttempts = 1; return nil })
			h.start()
			job := h.add("c", "x")
			reports := h.waitFinal(job.MessageID)
			if len(reports) != 2 || reports[1].Outcome.Status != store.StatusFailed {
				t.Fatalf("attempts = %+v, want 2 failures", reports)
			}
			m := h.message(job.MessageID)
			if m.LastHTTPStatus != 302 || !strings.Contains(m.LastError, "redirect not followed") {
				t.Errorf("message http %d err %q", m.LastHTTPStatus, m.LastError)
			}
		})
	}
	if n := len(target.requests()); n != 0 {
		t.Fatalf("the redirect target got %d requests (with our headers), want 0", n)
	}
}

func TestPrivateAddressRefusedWithoutAllowSetting(t *testing.T) {
	checkNoLeak(t)
	resolver := stubResolver{addrs: []netip.Addr{netip.MustParseAddr("10.0.0.1")}}
	h := newHarness(t, "http://hooks.example.test/hook", harnessOptions{allow: "none", resolver: resolver})
	h.start()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusFailed {
		t.Fatalf("attempts = %+v, want one permanent failure", reports)
	}
	want := "refusing to connect to hooks.example.test (10.0.0.1): private address; allow it with --allow-outgoing (env CHATBOT_ALLOW_OUTGOING)"
	if m := h.message(job.MessageID); m.LastError != want {
		t.Errorf("last_error = %q, want %q", m.LastError, want)
	}
}

func TestLoopbackReceiverNeedsAllowSetting(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusOK))
	cfg := &store.WebhookConfig{Name: "x", OutgoingURL: rc.srv.URL, TimeoutSeconds: 5, SigningSecret: secret.NewSigningSecret()}
	for _, tt := range []struct {
		allow string
		ok    bool
	}{{"", false}, {"127.0.0.0/8", true}, {"loopback", true}, {"10.0.0.0/8", false}} {
		p, err := ParseAllowList(tt.allow)
		if err != nil {
			t.Fatal(err)
		}
		s := NewSender(p, SenderOptions{})
		res := s.Send(context.Background(), cfg, "msg_1", []byte(`{}`))
		s.Close()
		if res.OK() != tt.ok {
			t.Errorf("allow %q: result %+v, want ok %v", tt.allow, res, tt.ok)
		}
	}
	if n := len(rc.requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2 (only the allowed ones)", n)
	}
}

// Jobs of a config deleted before the worker starts are failed by the
// deletion itself ("integration deleted"); the worker never attempts them.
// (This test used to expect the worker's own failure at the next start.)
func TestConfigDeletedWhileJobsPending(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusOK))
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	jobs := []store.DeliveryJob{h.add("a", "1"), h.add("a", "2"), h.add("b", "1")}
	if err := h.st.DeleteConfig(h.cfg.ID); err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if m := h.message(j.MessageID); m.Status != store.StatusFailed || m.LastError != "integration deleted" || m.Attempts != 0 {
			t.Errorf("message %d = status %s, last_error %q, attempts %d; want failed, integration deleted, 0",
				j.MessageID, m.Status, m.LastError, m.Attempts)
		}
	}
	h.start()
	// A message of another config goes through; by then the deleted
	// config's jobs would have been claimed, had they been queued.
	h.cfg = &store.WebhookConfig{Name: "Other", Provider: "freshchat", OutgoingURL: rc.srv.URL,
		TimeoutSeconds: 5, RetryAttempts: 3, IsActive: true, SigningSecret: h.cfg.SigningSecret}
	if err := h.st.CreateConfig(h.cfg); err != nil {
		t.Fatal(err)
	}
	probe := h.add("c", "after")
	if r := h.waitFinal(probe.MessageID); r[0].Outcome.Status != store.StatusSent {
		t.Fatalf("other config's message: %+v", r)
	}
	if len(h.backlog) != 0 {
		t.Errorf("attempts of the deleted config's messages: %+v", h.backlog)
	}
	if n := len(rc.requests()); n != 1 {
		t.Errorf("receiver got %d requests, want 1 (the other config's)", n)
	}
}

func TestOrderWithinConversation(t *testing.T) {
	checkNoLeak(t)
	bDone := make(chan struct{})
	var bCount atomic.Int32
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		var p Payload
		json.NewDecoder(r.Body).Decode(&p)
		w.WriteHeader(http.StatusOK)
	})
	var mu sync.Mutex
	aFailures := 0
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) {
		got := rc.requests()
		var p Payload
		json.Unmarshal(got[n-1].body, &p)
		if p.ConversationID == "b" {
			if bCount.Add(1) == 5 {
				close(bDone)
			}
			w.WriteHeader(http.StatusOK)
			return
		}
		if p.Message == "a1" {
			mu.Lock()
			aFailures++
			fail := aFailures <= 2
			mu.Unlock()
			if fail {
				// Conversation b must flow while a1 is failing.
				select {
				case <-bDone:
				case <-time.After(10 * time.Second):
					t.Error("conversation b was held up by a's failing head")
				}
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
		}
		w.WriteHeader(http.StatusOK)
	}
	h := newHarness(t, rc.srv.URL, harnessOptions{worker: WorkerOptions{Workers: 8, CircuitThreshold: 100}})
	var last uint64
	for i := 1; i <= 5; i++ {
		h.add("a", "a"+itoa(int64(i)))
		last = h.add("b", "b"+itoa(int64(i))).MessageID
	}
	h.start()
	h.waitFinal(last)
	for {
		if n, _ := h.st.PendingDeliveries(); n == 0 {
			break
		}
		<-h.attempts
	}
	var order []string
	for _, r := range rc.requests() {
		var p Payload
		json.Unmarshal(r.body, &p)
		if p.ConversationID == "a" {
			order = append(order, p.Message)
		}
	}
	if got, want := strings.Join(order, ","), "a1,a1,a1,a2,a3,a4,a5"; got != want {
		t.Fatalf("conversation a arrived as %s, want %s", got, want)
	}
}

// The process is "killed" with 100 deliveries pending: the store is closed
// under the workers (nothing more is recorded) while some requests are at
// the receiver. A new worker on the reopened store delivers the rest. The
// same with a real SIGKILL of a served process is
// cmd/delivery_kill_test.go.
func TestKilledWith100PendingThenRestarted(t *testing.T) {
	checkNoLeak(t)
	killed := make(chan struct{})
	storeClosed := make(chan struct{})
	var killOnce sync.Once
	var mu sync.Mutex
	perID := map[string]int{}
	rc := newReceiver(t, nil)
	rc.respond = func(n int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		perID[r.Header.Get("Webhook-Id")]++
		mu.Unlock()
		if n >= 30 {
			killOnce.Do(func() { close(killed) })
			select {
			case <-storeClosed:
			case <-time.After(10 * time.Second):
			}
		}
		w.WriteHeader(http.StatusOK)
	}
	h := newHarness(t, rc.srv.URL, harnessOptions{worker: WorkerOptions{Workers: 8}})
	ids := map[uint64]bool{}
	for i := 0; i < 100; i++ {
		ids[h.add("conv_"+itoa(int64(i%10)), "answer "+itoa(int64(i))).MessageID] = true
	}
	if err := h.worker.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-killed
	if err := h.st.Close(); err != nil {
		t.Fatal(err)
	}
	close(storeClosed)
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if err := h.worker.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	cancel()
	firstRun := len(rc.requests())

	// Restart: a new store handle, sender and worker on the same directory.
	h.openStore()
	pending, err := h.st.PendingDeliveries()
	if err != nil {
		t.Fatal(err)
	}
	policy, _ := ParseAllowList("127.0.0.0/8")
	h.sender = NewSender(policy, SenderOptions{UserAgent: "chatbot/test"})
	h.worker = NewWorker(h.st, h.sender, discardLog(), WorkerOptions{Workers: 8,
		Retry:     store.RetryPolicy{Base: time.Millisecond, Cap: 4 * time.Millisecond},
		OnAttempt: func(r AttemptReport) { h.attempts <- r }})
	for len(h.attempts) > 0 {
		<-h.attempts
	}
	h.start()
	for sent := 0; sent < pending; {
		select {
		case r := <-h.attempts:
			if r.Outcome.Status == store.StatusSent {
				sent++
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("after restart %d of %d pending delivered", sent, pending)
		}
	}
	for id := range ids {
		if m := h.message(id); m.Status != store.StatusSent {
			t.Errorf("message %d is %s, want sent", id, m.Status)
		}
	}
	total := len(rc.requests())
	mu.Lock()
	unique := len(perID)
	mu.Unlock()
	if unique != 100 {
		t.Fatalf("receiver saw %d distinct webhook-ids, want 100", unique)
	}
	dups := total - unique
	t.Logf("kill at request 30: first run %d requests, %d pending at restart, %d requests in all, %d duplicates (same webhook-id)",
		firstRun, pending, total, dups)
	if dups > 8 {
		t.Errorf("%d duplicates; at most the 8 in flight at the kill may repeat", dups)
	}
}

func TestStopIsBoundedAndIdempotent(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	arrived := make(chan struct{}, 1)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	job := h.add("c", "x")
	if err := h.worker.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-arrived
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := h.worker.Stop(ctx); err == nil {
		t.Fatal("Stop returned nil with a delivery hanging")
	}
	if took := time.Since(start); took > 10*time.Second { // a wait for the hanging delivery, not scheduling noise
		t.Errorf("Stop took %v", took)
	}
	if err := h.worker.Stop(context.Background()); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	// The cut-short delivery is still queued for the next start.
	if j, err := h.st.DeliveryJobFor(job.MessageID); err != nil || j.Attempt != 0 {
		t.Errorf("job after stop = %+v, %v; want queued, no attempt counted", j, err)
	}
	if err := h.worker.Run(context.Background()); err == nil {
		t.Error("Run after Stop succeeded")
	}
}

func TestCircuitSlowsAFailingPlatform(t *testing.T) {
	checkNoLeak(t)
	bad := newReceiver(t, status(http.StatusInternalServerError))
	good := newReceiver(t, status(http.StatusOK))
	clock := &manualClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	// The retry cap bounds the first cooldown: raise it above the hour.
	h := newHarness(t, bad.srv.URL, harnessOptions{clock: clock, worker: WorkerOptions{
		Workers: 4, CircuitThreshold: 3, CircuitCooldown: time.Hour,
		Retry: store.RetryPolicy{Base: time.Millisecond, Cap: 2 * time.Hour}}})
	other := &store.WebhookConfig{Name: "Zendesk", Provider: "zendesk", OutgoingURL: good.srv.URL,
		TimeoutSeconds: 5, RetryAttempts: 3, IsActive: true, SigningSecret: secret.NewSigningSecret()}
	if err := h.st.CreateConfig(other); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"a", "b", "c"} {
		h.add(c, "x")
	}
	h.start()
	for i := 0; i < 3; i++ {
		if r := <-h.attempts; r.Outcome.Status != store.StatusPending {
			t.Fatalf("attempt %+v", r)
		}
	}
	// Retries are due now, but the circuit holds the failing platform for
	// an hour; the other platform's message goes straight through.
	clock.Add(time.Second)
	job, err := h.st.AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: other.ID,
		Platform: "zendesk", ConversationID: "z", UserID: "u", Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Notify()
	if r := h.waitFinal(job.MessageID); r[0].Outcome.Status != store.StatusSent {
		t.Fatalf("other platform: %+v", r)
	}
	if n := len(bad.requests()); n != 3 {
		t.Fatalf("failing platform got %d requests, want 3 (held by the circuit)", n)
	}
	if next, ok, _ := h.st.NextDeliveryDue(); !ok || next.Before(clock.Now().Add(59*time.Minute)) {
		t.Fatalf("next due %v, want about an hour away", next)
	}
	// After the cooldown one probe goes through; its failure re-opens the circuit.
	clock.Add(time.Hour)
	h.worker.Notify()
	if r := <-h.attempts; r.ConfigID != h.cfg.ID || r.Outcome.Status != store.StatusPending {
		t.Fatalf("probe = %+v", r)
	}
	if n := len(bad.requests()); n != 4 {
		t.Fatalf("failing platform got %d requests after the cooldown, want 4 (one probe)", n)
	}
}

// A job queued by any writer wakes the worker at once: the poll interval
// here is an hour.
func TestQueuedJobWakesWorker(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusOK))
	h := newHarness(t, rc.srv.URL, harnessOptions{worker: WorkerOptions{PollInterval: time.Hour}})
	h.start()
	for i := 0; i < 3; i++ {
		job, err := h.st.AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: h.cfg.ID,
			Platform: "freshchat", ConversationID: "c", UserID: "u", Text: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if r := h.waitFinal(job.MessageID); r[0].Outcome.Status != store.StatusSent {
			t.Fatalf("attempt %+v", r)
		}
	}
}

// A panic while delivering (here in the report hook) is recovered; the
// worker keeps delivering.
func TestWorkerSurvivesPanic(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusOK))
	h := newHarness(t, rc.srv.URL, harnessOptions{worker: WorkerOptions{Workers: 1}})
	var panicked atomic.Bool
	h.worker.opts.OnAttempt = func(r AttemptReport) {
		if panicked.CompareAndSwap(false, true) {
			panic("boom")
		}
		h.attempts <- r
	}
	h.start()
	first := h.add("a", "1")
	second := h.add("b", "2")
	if r := h.waitFinal(second.MessageID); r[0].Outcome.Status != store.StatusSent {
		t.Fatalf("after the panic: %+v", r)
	}
	if m := h.message(first.MessageID); m.Status != store.StatusSent || m.Attempts != 1 {
		t.Fatalf("first message = status %s attempts %d, want sent once", m.Status, m.Attempts)
	}
}

// A receiver that drips its answer byte by byte is cut off by the timeout,
// which covers the whole exchange, not only the headers.
func TestReceiverDripsPastTimeout(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		tick := time.NewTicker(50 * time.Millisecond) // the receiver's pace, not test synchronisation
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := io.WriteString(w, "x"); err != nil {
					return
				}
				http.NewResponseController(w).Flush()
			}
		}
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	h.cfg, _ = h.st.UpdateConfig(h.cfg.ID, func(c *store.WebhookConfig) error { c.TimeoutSeconds, c.RetryAttempts = 1, 0; return nil })
	h.start()
	job := h.add("c", "x")
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusFailed {
		t.Fatalf("attempts = %+v", reports)
	}
	if want := "HTTP 200 but the answer was cut off: no complete answer within 1s (timeout_seconds)"; h.message(job.MessageID).LastError != want {
		t.Errorf("last_error = %q, want %q", h.message(job.MessageID).LastError, want)
	}
}
