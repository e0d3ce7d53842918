package webhook

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// GET /api/webhook/breakers, over loopback: every integration's breaker,
// the open one with its failures, cooldown and next attempt time, behind
// the admin token.
func TestBreakersAPI(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusBadGateway))
	clock := &manualClock{t: time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC)}
	h := newHarness(t, rc.srv.URL, harnessOptions{clock: clock, worker: WorkerOptions{
		CircuitThreshold: 2, CircuitCooldown: 30 * time.Second,
		Retry: store.RetryPolicy{Base: time.Hour, Cap: time.Hour, Jitter: func(n int64) int64 { return n }}}})
	quiet := &store.WebhookConfig{Name: "Quiet", Provider: "zendesk", OutgoingURL: rc.srv.URL, IsActive: true,
		SigningSecret: secret.NewSigningSecret()}
	if err := h.st.CreateConfig(quiet); err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	NewDeliveryHandler(NewDeliveries(h.st, h.sender, h.worker.Notify).WithBreakers(h.worker.Breakers), discardLog()).
		Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	h.start()
	h.add("a", "1")
	h.add("b", "1")
	for range 2 {
		if r := <-h.attempts; r.Outcome.Status != store.StatusPending {
			t.Fatalf("attempt = %+v", r)
		}
	}
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/webhook/breakers", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	code, body := get(testAdminToken)
	want := `{"success":true,"breakers":[` +
		`{"config_id":1,"state":"open","consecutive_failures":2,"cooldown_seconds":30,"next_attempt_at":"2025-01-19T12:00:30Z"},` +
		`{"config_id":2,"state":"closed","consecutive_failures":0,"cooldown_seconds":0}]}` + "\n"
	if code != http.StatusOK || body != want {
		t.Fatalf("GET /api/webhook/breakers = %d %s\nwant 200 %s", code, body, want)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Fatalf("without the admin token: %d, want 401", code)
	}
}
