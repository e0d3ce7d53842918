package cmd

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// One user's conversation through the running server: rated through the
// integration's token, counted in the insights, then erased with
// chatbot conversations purge through the server's API.
func TestConversationsPurgeThroughServerAfterFeedbackAndInsights(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	cfg := config{AdminToken: admin, Embedder: "builtin", KnowledgeRoots: []string{os.TempDir()}}
	cfg.Answer.LLM = "none"
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	status, created := apiJSON(t, "POST", base+"/api/webhook/config", admin, `{"name":"Chatwoot","provider":"chatwoot"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	token := created["config"].(map[string]any)["incoming_token"].(string)
	status, res := apiJSON(t, "POST", base+"/api/webhook/incoming", token, `{"user_id":"user-erase","message":"can I pay with PayPal?",
		"platform":"chatwoot","conversation_id":"conv-erase","message_id":"cw-1"}`)
	if status != 200 {
		t.Fatalf("incoming: %d %v", status, res)
	}
	answer := uint64(res["response_id"].(float64))
	status, res = apiJSON(t, "POST", fmt.Sprintf("%s/api/messages/%d/feedback", base, answer), token, `{"rating":"not_helpful","comment":"no PayPal info"}`)
	if status != 200 || res["rater"] != "user-erase" || res["rater_kind"] != "user" {
		t.Fatalf("feedback: %d %v", status, res)
	}
	day := store.Day(time.Now())
	status, res = apiJSON(t, "GET", base+"/api/insights?from="+day+"&to="+day, admin, "")
	total, _ := res["total"].(map[string]any)
	if status != 200 || total["conversations"] != 1.0 || total["unanswered"] != 1.0 || total["rated_not_helpful"] != 1.0 {
		t.Fatalf("insights: %d %v", status, res)
	}
	status, res = apiJSON(t, "GET", base+"/api/insights/gaps", admin, "")
	if clusters, _ := res["clusters"].([]any); status != 200 || len(clusters) != 1 ||
		clusters[0].(map[string]any)["representative"] != "can I pay with PayPal?" {
		t.Fatalf("gaps: %d %v", status, res)
	}

	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": admin})
	out, _, err := run(t, e, "conversations", "purge", "--user", "user-erase")
	want := `purged user "user-erase": 1 conversations, 2 messages, 1 memories, 1 ratings, 0 live-chat sessions, ` +
		"0 deliveries, 1 dedupe keys, 1 outcome records, 1 gap questions\n"
	if err != nil || out != want {
		t.Fatalf("purge: %v\n%q\nwant\n%q", err, out, want)
	}
	if msgs, total, err := a.store.ListMessages(store.MessageFilter{}, 0, 10); err != nil || total != 0 || len(msgs) != 0 {
		t.Fatalf("messages after the purge: %d, %v", total, err)
	}
	if _, _, err := run(t, e, "conversations", "purge"); err == nil || !strings.Contains(err.Error(), "--user: user_id is required") {
		t.Fatalf("purge without --user: %v", err)
	}
}

// Without a server the command erases in the data directory itself.
func TestConversationsPurgeLocal(t *testing.T) {
	dir := t.TempDir()
	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": dir})
	st, err := openStoreForCLI(e, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"user-erase", "user-keep"} {
		res, err := st.InsertIncoming(&store.Message{ConfigID: 1, Platform: "chatwoot", ConversationID: "conv-" + user, UserID: user, Text: "hello"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.InsertReply(res.Message.ID, &store.Message{ConfigID: 1, Platform: "chatwoot", ConversationID: "conv-" + user,
			UserID: user, Text: "Hi!", ResponseType: "general", SenderType: "bot"}, false); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	out, _, err := run(t, e, "conversations", "purge", "--user", "user-erase")
	want := `purged user "user-erase": 1 conversations, 2 messages, 0 memories, 0 ratings, 0 live-chat sessions, ` +
		"0 deliveries, 0 dedupe keys, 0 outcome records, 0 gap questions\n"
	if err != nil || out != want {
		t.Fatalf("purge: %v\n%q\nwant\n%q", err, out, want)
	}
	st, err = openStoreForCLI(e, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if msgs, total, err := st.ListMessages(store.MessageFilter{}, 0, 10); err != nil || total != 2 || msgs[0].UserID != "user-keep" {
		t.Fatalf("messages left: %d %v", total, err)
	}
}

func TestServeRefusesAQuietPeriodTooShort(t *testing.T) {
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}),
		"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--resolution-quiet-period", "10s")
	if err == nil || err.Error() != "--resolution-quiet-period must be at least 1m (e.g. 24h), not 10s" {
		t.Fatalf("serve with a 10s quiet period: %v", err)
	}
}

func TestRetentionFlagValues(t *testing.T) {
	var d time.Duration
	v := retentionValue{&d}
	for _, c := range []struct {
		in, shown string
		want      time.Duration
	}{{"90d", "90d", 90 * 24 * time.Hour}, {"2160h", "90d", 90 * 24 * time.Hour}, {"36h", "36h0m0s", 36 * time.Hour}, {"0", "0", 0}} {
		if err := v.Set(c.in); err != nil || d != c.want || v.String() != c.shown {
			t.Errorf("--retention %s: %s %q %v, want %s %q", c.in, d, v.String(), err, c.want, c.shown)
		}
	}
	for _, bad := range []string{"90 days", "-1d", "d"} {
		if err := v.Set(bad); err == nil {
			t.Errorf("--retention %q accepted", bad)
		}
	}
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_ADMIN_TOKEN": "admin-token-0123456789abcdef"}),
		"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--retention", "12h")
	if err == nil || err.Error() != "--retention must be 0 (keep) or at least 1d, not 12h0m0s" {
		t.Fatalf("serve --retention 12h: %v", err)
	}
}
