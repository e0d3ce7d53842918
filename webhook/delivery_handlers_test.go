package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

func TestDeliveryRoutes(t *testing.T) {
	checkNoLeak(t)
	rc := newReceiver(t, status(http.StatusAccepted))
	h := newHarness(t, rc.srv.URL, harnessOptions{})
	failed := h.add("c", "x")
	if _, err := h.st.ClaimDeliveries(h.st.Now(), 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.RecordDeliveryAttempt(failed.MessageID, store.DeliveryAttempt{StatusCode: 500, Permanent: true, MaxAttempts: 1}, store.RetryPolicy{}); err != nil {
		t.Fatal(err)
	}
	pending := h.add("d", "y")
	noURL := &store.WebhookConfig{Name: "Silent", Provider: "x", IsActive: true}
	if err := h.st.CreateConfig(noURL); err != nil {
		t.Fatal(err)
	}

	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	admin := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer admin" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	// Mounted beside the config routes, as cmd/app.go does.
	NewHandler(NewConfigs(h.st), discardLog()).Routes(r, admin)
	NewDeliveryHandler(NewDeliveries(h.st, h.sender, nil), discardLog()).Routes(r, admin)

	tests := []struct {
		name, path string
		auth       bool
		status     int
		contains   string
	}{
		{"redeliver failed", "/api/webhook/messages/" + itoa(int64(failed.MessageID)) + "/redeliver", true, 202,
			`"success":true,"message_id":` + itoa(int64(failed.MessageID)) + `,"webhook_id":"` + failed.WebhookID + `","status":"pending"`},
		{"redeliver pending", "/api/webhook/messages/" + itoa(int64(pending.MessageID)) + "/redeliver", true, 409, "only a failed outgoing message"},
		{"redeliver missing", "/api/webhook/messages/999/redeliver", true, 404, "message 999 not found"},
		{"redeliver bad id", "/api/webhook/messages/abc/redeliver", true, 400, `"field":"id"`},
		{"redeliver without token", "/api/webhook/messages/1/redeliver", false, 401, ""},
		{"test config", "/api/webhook/config/" + itoa(int64(h.cfg.ID)) + "/test", true, 200, `"success":true,"delivered":true,"status_code":202`},
		{"test config without url", "/api/webhook/config/" + itoa(int64(noURL.ID)) + "/test", true, 400, "has no outgoing_webhook_url"},
		{"test missing config", "/api/webhook/config/77/test", true, 404, "webhook config 77 not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, nil)
			if tt.auth {
				req.Header.Set("Authorization", "Bearer admin")
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.contains) {
				t.Fatalf("%s = %d %s, want %d containing %s", tt.path, w.Code, w.Body, tt.status, tt.contains)
			}
		})
	}
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want the one test payload", len(got))
	}
	var p map[string]any
	if err := json.Unmarshal(got[0].body, &p); err != nil || p["response_type"] != "test" || p["platform"] != "freshchat" {
		t.Fatalf("test payload = %s (%v)", got[0].body, err)
	}
	if err := Verify(h.cfg.SigningSecret, got[0].header.Get(HeaderWebhookID), got[0].header.Get(HeaderWebhookTimestamp),
		got[0].header.Get(HeaderWebhookSignature), got[0].body, h.st.Now(), 5*60e9); err != nil {
		t.Fatalf("test payload signature: %v", err)
	}
}
