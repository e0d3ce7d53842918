package cmd

import (
	"regexp"
	"strings"
	"testing"
)

// chatbot widget add|list|remove works on the data directory, and through
// the API of a server holding it, with the same output.
func TestWidgetCommandsLocalAndThroughServer(t *testing.T) {
	keyRe := regexp.MustCompile(`key: (wk_\S+)`)
	check := func(t *testing.T, e env, extra ...string) {
		t.Helper()
		args := func(a ...string) []string { return append(a, extra...) }
		out, _, err := run(t, e, args("widget", "add", "--name", "Help center", "--origin", "https://Help.Example.com/", "--rate", "45")...)
		if err != nil || !strings.HasPrefix(out, "widget 1 added: Help center (https://help.example.com, 45 requests/min)\n") {
			t.Fatalf("widget add: %v\n%s", err, out)
		}
		m := keyRe.FindStringSubmatch(out)
		if m == nil || !strings.Contains(out, `data-key="`+m[1]+`"`) {
			t.Fatalf("widget add prints no key and snippet:\n%s", out)
		}
		out, _, err = run(t, e, args("widget", "list")...)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err != nil || len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != "1 Help center "+m[1]+" https://help.example.com 45 true" {
			t.Fatalf("widget list: %v\n%s", err, out)
		}
		if _, _, err := run(t, e, args("widget", "add", "--name", "Bad", "--origin", "ftp://x.example")...); err == nil ||
			!strings.Contains(err.Error(), "allowed_origins") || !strings.Contains(err.Error(), "http:// or https://") {
			t.Fatalf("bad origin: %v", err)
		}
		if _, _, err := run(t, e, args("widget", "add", "--name", "No origin")...); err == nil || !strings.Contains(err.Error(), "--origin is required") {
			t.Fatalf("no origin: %v", err)
		}
		if out, _, err := run(t, e, args("widget", "remove", "1")...); err != nil || out != "widget 1 removed\n" {
			t.Fatalf("widget remove: %v %q", err, out)
		}
		if _, _, err := run(t, e, args("widget", "remove", "1")...); err == nil || !strings.Contains(err.Error(), "no widget with id 1") {
			t.Fatalf("remove again: %v", err)
		}
		if _, _, err := run(t, e, args("widget", "remove", "one")...); err == nil || !strings.Contains(err.Error(), "ID must be a widget's number") {
			t.Fatalf("remove one: %v", err)
		}
		if out, _, err := run(t, e, args("widget", "list")...); err != nil || strings.TrimSpace(out) != "ID  NAME  KEY  ORIGINS  RATE/MIN  ACTIVE" {
			t.Fatalf("empty list: %v %q", err, out)
		}
	}
	t.Run("local", func(t *testing.T) {
		check(t, mapEnv(map[string]string{"CHATBOT_DATA_DIR": t.TempDir()}))
	})
	t.Run("server", func(t *testing.T) {
		const token = "admin-token-0123456789abcdef"
		a, _ := startApp(t, config{AdminToken: token})
		check(t, mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": token}))
		// The server's store has them: its key works at once (here: gone again).
		if ws, err := a.store.Widgets(); err != nil || len(ws) != 0 {
			t.Fatalf("server store widgets = %v, %v", ws, err)
		}
	})
}
