package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWebhookAddNativeChatwootPrintsTheURLToPaste(t *testing.T) {
	dir := t.TempDir()
	e := mapEnv(nil)
	tokenFile, secretFile := filepath.Join(t.TempDir(), "token"), filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(tokenFile, []byte("cw-bot-token-ABCD\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secretFile, []byte("cw-webhook-secret-WXYZ\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _, err := run(t, e, "webhook", "add", "--data-dir", dir, "--name", "Chatwoot", "--provider", "chatwoot",
		"--adapter", "native", "--api-url", "https://app.chatwoot.com", "--api-token-file", tokenFile,
		"--platform-secret-file", secretFile, "--account", "7", "--public-url", "https://bot.example.com/")
	if err != nil {
		t.Fatalf("add: %v", err)
	}
	for _, want := range []string{"native adapter", "    https://bot.example.com/api/platforms/1/events\n", "through https://app.chatwoot.com", "handed to the platform's agents"} {
		if !strings.Contains(out, want) {
			t.Errorf("add output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cw-bot-token-ABCD") || strings.Contains(out, "WARNING") {
		t.Errorf("add output shows the token or warns:\n%s", out)
	}
	out, _, err = run(t, e, "webhook", "show", "Chatwoot", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"adapter         native", "events path     /api/platforms/1/events", "api token       ****ABCD",
		"event secret    ****WXYZ", "account         7", "handoff         native", "mode            async"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "cw-bot-token-ABCD") || strings.Contains(out, "cw-webhook-secret-WXYZ") {
		t.Errorf("show prints a secret in the clear:\n%s", out)
	}
}

func TestWebhookAddNativeRefusals(t *testing.T) {
	dir := t.TempDir()
	e := mapEnv(nil)
	base := []string{"webhook", "add", "--data-dir", dir, "--name", "Chatwoot", "--provider", "chatwoot",
		"--adapter", "native", "--api-url", "https://app.chatwoot.com"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--api-token", "t", "--api-token-file", "f"}, "not both"},
		{[]string{"--api-token", "t", "--accept-unsigned"}, "account must be the Chatwoot account id"},
		{[]string{"--api-token", "t", "--account", "7"}, "platform_secret is required"},
		{[]string{"--account", "7", "--accept-unsigned"}, "api_token is required"},
	} {
		_, _, err := run(t, e, append(append([]string{}, base...), tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error = %v, want %q", tc.args, err, tc.want)
		}
	}
	out, _, err := run(t, e, append(append([]string{}, base...), "--api-token", "tok-1234", "--account", "7", "--accept-unsigned")...)
	if err != nil || !strings.Contains(out, "WARNING: unsigned events are accepted") || !strings.Contains(out, "https://YOUR-BOT-ADDRESS/api/platforms/1/events") {
		t.Fatalf("unsigned add = %q, %v", out, err)
	}
}
