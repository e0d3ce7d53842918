package webhook

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Issue 13: DELETE /api/webhook/config/{id} while the worker runs and the
// config's messages wait for a retry. They become failed ("integration
// deleted") at once, over the API, and the worker never delivers them,
// even once their retry time has passed. Before, they stayed pending until
// the next start.
func TestDeleteIntegrationFailsItsQueuedMessages(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusServiceUnavailable))
	clock := &manualClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, rc.srv.URL, harnessOptions{clock: clock, worker: WorkerOptions{
		Retry: store.RetryPolicy{Base: time.Hour, Cap: time.Hour, Jitter: func(n int64) int64 { return n }}}})
	r := mux.NewRouter()
	NewHandler(NewConfigs(h.st), discardLog()).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	h.start()
	var jobs []store.DeliveryJob
	for i := range 3 {
		jobs = append(jobs, h.add(fmt.Sprint("conv", i), "answer"))
	}
	for range jobs {
		if r := <-h.attempts; r.Outcome.Status != store.StatusPending {
			t.Fatalf("first attempt = %+v, want pending (retry in an hour)", r)
		}
	}
	if res := adminJSON(t, srv, http.MethodDelete, fmt.Sprintf("/api/webhook/config/%d", h.cfg.ID), ""); res.status != http.StatusOK {
		t.Fatalf("DELETE = %d %v", res.status, res.body)
	}
	for _, j := range jobs {
		m := h.message(j.MessageID)
		if m.Status != store.StatusFailed || m.LastError != "integration deleted" || m.Attempts != 1 {
			t.Errorf("message %d = status %s, last_error %q, attempts %d; want failed, %q, 1",
				j.MessageID, m.Status, m.LastError, m.Attempts, "integration deleted")
		}
	}
	if n, err := h.st.PendingDeliveries(); err != nil || n != 0 {
		t.Fatalf("queued deliveries after the delete = %d, %v; want 0", n, err)
	}
	// Past the retry time, another config's message goes through and none
	// of the deleted config's is attempted.
	clock.Add(2 * time.Hour)
	ok := newReceiver(t, status(http.StatusOK))
	h.cfg = &store.WebhookConfig{Name: "Other", Provider: "freshchat", OutgoingURL: ok.srv.URL,
		TimeoutSeconds: 5, RetryAttempts: 3, IsActive: true, SigningSecret: secret.NewSigningSecret()}
	if err := h.st.CreateConfig(h.cfg); err != nil {
		t.Fatal(err)
	}
	probe := h.add("other", "x")
	if r := h.waitFinal(probe.MessageID); r[0].Outcome.Status != store.StatusSent {
		t.Fatalf("other config's message: %+v", r)
	}
	if len(h.backlog) != 0 {
		t.Errorf("attempts after the delete: %+v", h.backlog)
	}
	if n := len(rc.requests()); n != len(jobs) {
		t.Errorf("deleted integration's receiver got %d requests, want %d (the first attempts only)", n, len(jobs))
	}
}
