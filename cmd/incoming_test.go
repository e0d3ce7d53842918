package cmd

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestIncomingThroughRunningServer follows the README's curl example
// against a running app: create an integration, send a message, list it.
func TestIncomingThroughRunningServer(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: admin})
	base := "http://" + a.Addr()
	do := func(method, path, token, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("%s %s: %q", method, path, data)
		}
		return resp.StatusCode, m
	}
	status, created := do("POST", "/api/webhook/config", admin, `{"name":"Freshchat","provider":"freshchat"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	token := created["config"].(map[string]any)["incoming_token"].(string)
	status, res := do("POST", "/api/webhook/incoming", token, `{"user_id":"external_user_123","username":"John Doe",
		"message":"Hello, I need help with my account","platform":"freshchat","conversation_id":"conv_456","message_id":"fc-1"}`)
	if status != 200 || res["message_id"] != 1.0 || res["response_id"] != 2.0 {
		t.Fatalf("incoming: %d %v", status, res)
	}
	if rt := res["response"].(map[string]any)["response_type"]; rt != "no_answer" && rt != "extractive" && rt != "rag_knowledge_base" {
		t.Fatalf("response_type %v", rt)
	}
	status, list := do("GET", "/api/webhook/messages?platform=freshchat", admin, "")
	if status != 200 || list["total"] != 2.0 {
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
