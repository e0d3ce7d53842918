package cmd

import (
	"net/http"
	"testing"
)

// /metrics counts the store's commits (issue 20: `chatbot bench` divides
// them by the deliveries of a window): the counter follows the store's own
// count and grows with a write through the API.
func TestMetricsCountStoreCommits(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	cfg := serveConfig(t, mapEnv(nil), "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--embedder", "builtin", "--llm", "none", "--allow-outgoing", "127.0.0.0/8")
	cfg.AdminToken = admin
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	before := scrape(t, base, admin)["chatbot_store_commits_total"]
	if before < 1 || before > float64(a.store.Commits()) {
		t.Fatalf("chatbot_store_commits_total %v before any request; the store counts %d", before, a.store.Commits())
	}
	if status, body := apiCall(t, http.MethodPost, base+"/api/webhook/config", admin,
		`{"name":"Shop","provider":"custom","outgoing_webhook_url":"http://127.0.0.1:9/hook"}`); status != http.StatusCreated {
		t.Fatalf("create config: %d %s", status, body)
	}
	after := scrape(t, base, admin)["chatbot_store_commits_total"]
	if after <= before || after > float64(a.store.Commits()) {
		t.Fatalf("chatbot_store_commits_total %v after a write (%v before); the store counts %d", after, before, a.store.Commits())
	}
}
