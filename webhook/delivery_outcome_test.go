package webhook

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// receiverPace is how long the outcome test's receivers take to answer:
// the peer's own pace (so a delivery latency is measurable), not a wait
// for anything in the test.
const receiverPace = 30 * time.Millisecond

// The outcome of each delivery is visible in GET /api/webhook/messages:
// attempts, the last HTTP status, the last error with the config's secrets
// scrubbed, the delivery latency and, once sent, delivered_at.
func TestDeliveryOutcomeInMessagesAPI(t *testing.T) {
	checkNoLeak(t)
	pace := func(r *http.Request) {
		select {
		case <-time.After(receiverPace):
		case <-r.Context().Done():
		}
	}
	good := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		pace(r)
		w.WriteHeader(http.StatusOK)
	})
	bad := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		pace(r)
		// A careless platform echoes our credentials in its error page.
		w.WriteHeader(http.StatusBadGateway)
		io.WriteString(w, "upstream down; got "+r.Header.Get("Authorization")+" key "+r.Header.Get("X-Api-Key"))
	})
	h := newHarness(t, good.srv.URL, harnessOptions{})
	other := &store.WebhookConfig{Name: "Zendesk", Provider: "zendesk", OutgoingURL: bad.srv.URL + "/hook?token=q_secret_77",
		AuthToken: "zd_token_abcdef", CustomHeaders: map[string]string{"X-Api-Key": "zd_key_123456"},
		TimeoutSeconds: 5, RetryAttempts: 1, IsActive: true, SigningSecret: secret.NewSigningSecret()}
	if err := h.st.CreateConfig(other); err != nil {
		t.Fatal(err)
	}
	h.start()
	sent := h.add("c1", "delivered answer")
	failed, err := h.st.AddOutgoingForDelivery(&store.Message{Type: store.MessageOutgoing, ConfigID: other.ID,
		Platform: "zendesk", ConversationID: "c2", UserID: "u2", Text: "failing answer"})
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Notify()
	if r := h.waitFinal(sent.MessageID); r[len(r)-1].Outcome.Status != store.StatusSent {
		t.Fatalf("delivered message: %+v", r)
	}
	if r := h.waitFinal(failed.MessageID); len(r) != 2 || r[1].Outcome.Status != store.StatusFailed {
		t.Fatalf("failing message: %+v, want 2 attempts ending failed", r)
	}

	r := mux.NewRouter()
	NewHandler(NewConfigs(h.st), discardLog()).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	api := httptest.NewServer(r)
	defer api.Close()
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/api/webhook/messages?message_type=outgoing", nil)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	resp, err := api.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list struct {
		Total    int              `json:"total"`
		Messages []map[string]any `json:"messages"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil || resp.StatusCode != 200 || list.Total != 2 {
		t.Fatalf("list: %d %+v %v", resp.StatusCode, list, err)
	}
	byID := map[float64]map[string]any{}
	for _, m := range list.Messages {
		byID[m["id"].(float64)] = m
	}
	s, f := byID[float64(sent.MessageID)], byID[float64(failed.MessageID)]
	if s == nil || f == nil {
		t.Fatalf("listed %v", list.Messages)
	}
	for name, c := range map[string]struct {
		m                    map[string]any
		status               string
		attempts, httpStatus float64
		lastError            any
		delivered            bool
	}{
		"sent":   {s, "sent", 1, 200, nil, true},
		"failed": {f, "failed", 2, 502, "HTTP 502: upstream down; got Bearer **** key ****", false},
	} {
		m := c.m
		if m["status"] != c.status || m["attempts"] != c.attempts || m["last_http_status"] != c.httpStatus || m["last_error"] != c.lastError {
			t.Errorf("%s: status %v attempts %v last_http_status %v last_error %v; want %s %v %v %v",
				name, m["status"], m["attempts"], m["last_http_status"], m["last_error"], c.status, c.attempts, c.httpStatus, c.lastError)
		}
		if _, ok := m["delivered_at"]; ok != c.delivered {
			t.Errorf("%s: delivered_at %v, want present %v", name, m["delivered_at"], c.delivered)
		}
		lat, _ := m["delivery_latency_ms"].(float64)
		if lat < float64(receiverPace.Milliseconds()) || lat > 5000 {
			t.Errorf("%s: delivery_latency_ms %v, want at least the receiver's %v and under the 5s timeout", name, m["delivery_latency_ms"], receiverPace)
		}
	}
}

// The pool size bounds the deliveries in flight: ten conversations are
// due at once, the receiver holds every request until the test lets it
// go, and with Workers 3 it never holds more than three.
func TestWorkerPoolSizeBoundsConcurrency(t *testing.T) {
	checkNoLeak(t)
	var current, peak atomic.Int32
	arrived := make(chan struct{}, 10)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		n := current.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
			t.Error("receiver: the delivery gave up while held")
		}
		current.Add(-1)
		w.WriteHeader(http.StatusOK)
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{worker: WorkerOptions{Workers: 3}})
	var ids []uint64
	for i := range 10 {
		ids = append(ids, h.add("conv_"+itoa(int64(i)), "answer").MessageID)
	}
	h.start()
	// Fill the pool, then let requests go one at a time: each release
	// frees a worker for exactly one more.
	for range 3 {
		<-arrived
	}
	for range 7 {
		release <- struct{}{}
		<-arrived
	}
	for range 3 {
		release <- struct{}{}
	}
	for _, id := range ids {
		if r := h.waitFinal(id); r[len(r)-1].Outcome.Status != store.StatusSent {
			t.Fatalf("message %d: %+v", id, r)
		}
	}
	if p := peak.Load(); p != 3 {
		t.Fatalf("peak concurrent deliveries = %d, want exactly 3 (Workers)", p)
	}
	if n := len(rc.requests()); n != 10 {
		t.Fatalf("receiver got %d requests, want 10", n)
	}
}

// doneSignal is a context that reports when someone first waits on it:
// Stop does so only once it has stopped claiming and is waiting for the
// deliveries in flight.
type doneSignal struct {
	context.Context
	once    sync.Once
	waiting chan struct{}
}

func (c *doneSignal) Done() <-chan struct{} {
	c.once.Do(func() { close(c.waiting) })
	return c.Context.Done()
}

// A graceful Stop waits for a delivery in flight that finishes within the
// bound, and records it as sent (not left for the next start).
func TestGracefulStopWaitsForInFlightDelivery(t *testing.T) {
	checkNoLeak(t)
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
			t.Error("receiver: the delivery was cut short by Stop")
		}
	})
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	job := h.add("c", "answer in flight at shutdown")
	if err := h.worker.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-arrived
	bound, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ctx := &doneSignal{Context: bound, waiting: make(chan struct{})}
	stopped := make(chan error, 1)
	go func() { stopped <- h.worker.Stop(ctx) }()
	<-ctx.waiting // Stop is waiting for the delivery
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a delivery was in flight", err)
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatalf("Stop = %v, want nil: the delivery finished within the bound", err)
	}
	reports := h.waitFinal(job.MessageID)
	if len(reports) != 1 || reports[0].Outcome.Status != store.StatusSent {
		t.Fatalf("attempts = %+v, want one, sent", reports)
	}
	if m := h.message(job.MessageID); m.Status != store.StatusSent || m.Attempts != 1 || m.LastHTTPStatus != 200 || m.DeliveredAt.IsZero() {
		t.Fatalf("message after Stop = status %s attempts %d http %d delivered %v", m.Status, m.Attempts, m.LastHTTPStatus, m.DeliveredAt)
	}
	if n, err := h.st.PendingDeliveries(); err != nil || n != 0 {
		t.Fatalf("pending after Stop = %d, %v; want 0", n, err)
	}
}
