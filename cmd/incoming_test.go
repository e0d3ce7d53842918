package cmd

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIncomingThroughRunningServer follows the README's curl example
// against a running app: create an integration, send a message, list it.
func TestIncomingThroughRunningServer(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	cfg := config{AdminToken: admin, Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}}
	cfg.Answer.LLM = "none" // deterministic: the extractive answer, whatever runs on this machine
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	do := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		return apiJSON(t, method, base+path, token, body)
	}
	status, created := do("POST", "/api/webhook/config", admin, `{"name":"Freshchat","provider":"freshchat"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	token := created["config"].(map[string]any)["incoming_token"].(string)
	status, res := do("POST", "/api/webhook/incoming", token, `{"user_id":"external_user_123","username":"John Doe",
		"message":"How do I reset my password?","platform":"freshchat","conversation_id":"conv_456","message_id":"fc-1"}`)
	if status != 200 || res["message_id"] != 1.0 || res["response_id"] != 2.0 {
		t.Fatalf("incoming: %d %v", status, res)
	}
	// Nothing ingested yet: the engine says it does not know and offers a human.
	if rt := res["response"].(map[string]any)["response_type"]; rt != "no_answer" {
		t.Fatalf("response_type %v, want no_answer on an empty knowledge base", rt)
	}

	// With a document in the knowledge base the same endpoint answers from it.
	dir := t.TempDir()
	doc := "# Refunds\n\n## Refund window\n\nRefunds are accepted within 30 days of purchase with the original receipt.\n"
	if err := os.WriteFile(filepath.Join(dir, "refunds.md"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{"paths": []string{dir}})
	if status, res := do("POST", "/api/knowledge/ingest", admin, string(body)); status != 200 {
		t.Fatalf("ingest: %d %v", status, res)
	}
	status, res = do("POST", "/api/webhook/incoming", token, `{"user_id":"external_user_123","username":"John Doe",
		"message":"How many days do I have to get a refund?","platform":"freshchat","conversation_id":"conv_456","message_id":"fc-2"}`)
	if status != 200 {
		t.Fatalf("incoming: %d %v", status, res)
	}
	answer := res["response"].(map[string]any)
	sources, _ := answer["sources"].([]any)
	if answer["response_type"] != "extractive" || !strings.Contains(answer["answer"].(string), "30 days") || len(sources) == 0 ||
		!strings.Contains(fmt.Sprint(sources[0]), "refunds.md#refund-window") {
		t.Fatalf("answer from the knowledge base: %v", answer)
	}

	status, list := do("GET", "/api/webhook/messages?platform=freshchat", admin, "")
	if status != 200 || list["total"] != 4.0 {
		t.Fatalf("messages: %d %v", status, list)
	}
}

func TestIncomingFlagsAreValidated(t *testing.T) {
	cases := []struct{ flag, value, msg string }{
		{"--dedupe-retention", "1m", "--dedupe-retention must be at least 1h"},
		{"--max-message-bytes", "-1", "--max-message-bytes must be between"},
		{"--max-concurrent-answers", "5000", "--max-concurrent-answers must be between"},
	}
	for _, c := range cases {
		_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}),
			"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), c.flag, c.value)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %s: err %v, want %q", c.flag, c.value, err, c.msg)
		}
	}
}
