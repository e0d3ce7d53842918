package cmd

import (
	"strings"
	"testing"
)

func TestWebhookCommandsLocal(t *testing.T) {
	dir := t.TempDir()
	e := mapEnv(nil)
	out, _, err := run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Freshchat", "--provider", "freshchat",
		"--url", "https://example.com/hook", "--auth-token", "T-secret-value", "--retries", "5", "--timeout", "20s",
		"--header", "X-API-Key=abc123456")
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	if !strings.Contains(out, "Incoming token") || !strings.Contains(out, "cbi_") || !strings.Contains(out, "whsec_") {
		t.Fatalf("add output lacks the one-time secrets: %q", out)
	}
	out, _, err = run(t, e, "webhook", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Freshchat") || !strings.Contains(out, "https://example.com/hook") {
		t.Fatalf("list = %q, %v", out, err)
	}
	out, _, err = run(t, e, "webhook", "show", "freshchat", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"retries         5", "timeout         20s", "X-API-Key: ****3456", "auth token      ****alue"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "T-secret-value") {
		t.Error("show prints the auth token in the clear")
	}
	if _, _, err = run(t, e, "webhook", "add", "--data-dir", dir, "--name", "FRESHCHAT", "--provider", "x"); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("duplicate add: %v", err)
	}
	if _, _, err = run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Z", "--provider", "x", "--timeout", "1500ms"); err == nil || !strings.Contains(err.Error(), "whole seconds") {
		t.Fatalf("fractional timeout: %v", err)
	}
	if _, _, err = run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Z", "--provider", "x", "--header", "novalue"); err == nil || !strings.Contains(err.Error(), "NAME=VALUE") {
		t.Fatalf("bad header: %v", err)
	}
	if _, _, err = run(t, e, "webhook", "add", "--data-dir", dir, "--provider", "x"); err == nil || !strings.Contains(err.Error(), "name") {
		t.Fatalf("missing --name: %v", err)
	}
	out, _, err = run(t, e, "webhook", "remove", "Freshchat", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Removed webhook config 1") {
		t.Fatalf("remove = %q, %v", out, err)
	}
	if _, _, err = run(t, e, "webhook", "remove", "Freshchat", "--data-dir", dir); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("remove twice: %v", err)
	}
	out, _, _ = run(t, e, "webhook", "list", "--data-dir", dir)
	if !strings.Contains(out, "No webhook configs yet") {
		t.Fatalf("empty list = %q", out)
	}
}

func TestWebhookCommandsGoThroughRunningServer(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	a, _ := startApp(t, config{AdminToken: token})
	dir := a.cfg.DataDir

	// Without the admin token the command explains what to set.
	_, _, err := run(t, mapEnv(nil), "webhook", "list", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "CHATBOT_ADMIN_TOKEN") {
		t.Fatalf("list without token: %v", err)
	}
	e := mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": token})
	out, _, err := run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Zendesk", "--provider", "zendesk")
	if err != nil || !strings.Contains(out, "cbi_") {
		t.Fatalf("add through server = %q, %v", out, err)
	}
	out, _, err = run(t, e, "webhook", "list", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Zendesk") {
		t.Fatalf("list through server = %q, %v", out, err)
	}
	out, _, err = run(t, e, "webhook", "show", "Zendesk", "--server", "http://"+a.Addr())
	if err != nil || !strings.Contains(out, "zendesk") {
		t.Fatalf("show with --server = %q, %v", out, err)
	}
	_, _, err = run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "wrong-token-0123456789"}), "webhook", "list", "--data-dir", dir)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("wrong token: %v", err)
	}
	out, _, err = run(t, e, "webhook", "remove", "zendesk", "--data-dir", dir)
	if err != nil || !strings.Contains(out, "Removed") {
		t.Fatalf("remove through server = %q, %v", out, err)
	}
}
