package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/livechat"
)

// serveConfig parses serve's flags and environment the way `chatbot serve`
// does, without running it: tests then start the app with startApp.
func serveConfig(t *testing.T, e env, args ...string) config {
	t.Helper()
	var cfg config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	bindServe(fs, e, &cfg)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := checkEnv(fs, e); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// metricsOllama is an Ollama whose first chat fails with HTTP 500 and whose
// later chats answer.
func metricsOllama(t *testing.T) *httptest.Server {
	t.Helper()
	var chats atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"version": "0.6.5"})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(api.ListResponse{Models: []api.ListModelResponse{{Name: "llama3.2:latest", Model: "llama3.2:latest"}}})
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"modelfile": "FROM x"})
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, _ *http.Request) {
		if chats.Add(1) == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			json.NewEncoder(w).Encode(map[string]string{"error": "llama runner process has terminated"})
			return
		}
		json.NewEncoder(w).Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Content: "Refunds are accepted within 30 days [1]."}, Done: true})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// scrape reads /metrics into sample -> value, a sample being the metric
// name with its labels as written ("chatbot_x{reason=\"y\"}").
func scrape(t *testing.T, base, token string) map[string]float64 {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("/metrics: %d", res.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsCountRefusalsRetriesAndLLMCalls drives a real app configured
// through serve's flags: answers (one LLM failure), a live chat, each kind
// of incoming refusal and a delivery that fails once, then reads the
// counters and gauges on /metrics.
func TestMetricsCountRefusalsRetriesAndLLMCalls(t *testing.T) {
	const admin = "admin-token-0123456789abcdef"
	const transfer = "One moment please: a colleague from our support team takes over."
	ollama := metricsOllama(t)

	// The receiver fails the first delivery, then takes everything; retried
	// closes when that first delivery (same webhook-id) comes again.
	var recvMu sync.Mutex
	firstID := ""
	retried := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("webhook-id")
		recvMu.Lock()
		defer recvMu.Unlock()
		switch {
		case firstID == "":
			firstID = id
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case id == firstID:
			select {
			case <-retried:
				t.Errorf("delivery %s retried twice", id)
			default:
				close(retried)
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()

	cfg := serveConfig(t, mapEnv(map[string]string{"CHATBOT_LIVECHAT_NO_AGENT_MESSAGE": "Everyone is busy; stay with us."}),
		"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--embedder", "builtin",
		"--llm", "ollama", "--ollama-host", ollama.URL, "--chat-model", "llama3.2",
		"--rate-per-minute", "5", "--max-message-bytes", "200", "--allow-outgoing", "127.0.0.0/8",
		"--retry-base", "10ms", "--retry-cap", "50ms", "--livechat-transfer-message", transfer, "--knowledge-root", os.TempDir())
	cfg.AdminToken = admin
	a, _ := startApp(t, cfg)
	if got := a.livechat.Config().NoAgentMessage; got != "Everyone is busy; stay with us." {
		t.Errorf("no-agent message from CHATBOT_LIVECHAT_NO_AGENT_MESSAGE: %q", got)
	}
	base := "http://" + a.Addr()
	post := func(path, token string, body any) (int, map[string]any) {
		t.Helper()
		b, _ := json.Marshal(body)
		status, data := apiCall(t, http.MethodPost, base+path, token, string(b))
		var m map[string]any
		_ = json.Unmarshal(data, &m) // refusals of the raw body are checked by status
		return status, m
	}

	status, created := post("/api/webhook/config", admin, map[string]any{"name": "Shop", "provider": "custom",
		"outgoing_webhook_url": receiver.URL + "/hook", "retry_attempts": 3})
	if status != 201 {
		t.Fatalf("create: %d %v", status, created)
	}
	token := created["config"].(map[string]any)["incoming_token"].(string)
	dir := t.TempDir()
	doc := "# Refunds\n\n## Refund window\n\nRefunds are accepted within 30 days of purchase with the original receipt.\n"
	if err := os.WriteFile(filepath.Join(dir, "refunds.md"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if status, res := post("/api/knowledge/ingest", admin, map[string]any{"paths": []string{dir}}); status != 200 {
		t.Fatalf("ingest: %d %v", status, res)
	}
	msg := func(conv, text string) map[string]any {
		return map[string]any{"user_id": "u-" + conv, "conversation_id": conv, "message": text}
	}
	answerOf := func(res map[string]any) (string, string) {
		r, _ := res["response"].(map[string]any)
		s, _ := r["answer"].(string)
		rt, _ := r["response_type"].(string)
		return s, rt
	}

	// Two answers from the knowledge base: the first LLM call fails (the
	// answer is extractive), the second answers.
	wantTypes := []string{"extractive", "rag_knowledge_base"}
	for i, conv := range []string{"conv-a", "conv-b"} {
		status, res := post("/api/webhook/incoming", token, msg(conv, "How many days do I have to get a refund?"))
		if _, rt := answerOf(res); status != 200 || rt != wantTypes[i] {
			t.Fatalf("question %d: %d %v, want %s", i+1, status, res, wantTypes[i])
		}
	}
	// A live chat opens with the configured transfer message.
	status, res := post("/api/webhook/incoming", token, msg("conv-c", "I want to talk to a human"))
	if answer, rt := answerOf(res); status != 200 || rt != "live_chat_transfer" || answer != transfer {
		t.Fatalf("handoff: %d %v", status, res)
	}
	accepted := 3

	// One of each refusal that does not spend the platform's budget.
	if status, _ := post("/api/webhook/incoming", token, msg("conv-d", strings.Repeat("x", 201))); status != 413 {
		t.Fatalf("message over --max-message-bytes: %d", status)
	}
	if status, _ := post("/api/webhook/incoming", "not-a-token", msg("conv-d", "hello")); status != 401 {
		t.Fatalf("unknown token: %d", status)
	}
	wrong := msg("conv-d", "hello")
	wrong["platform"] = "zendesk"
	if status, _ := post("/api/webhook/incoming", token, wrong); status != 403 {
		t.Fatalf("platform mismatch: %d", status)
	}
	// A burst until the budget of 5 per minute is spent; it refills as
	// time passes, so count what got through.
	limited := false
	for i := 0; i < 10 && !limited; i++ {
		switch status, res := post("/api/webhook/incoming", token, msg(fmt.Sprintf("conv-burst-%d", i), "hello")); status {
		case 200:
			accepted++
		case 429:
			limited = true
		default:
			t.Fatalf("burst message %d: %d %v", i, status, res)
		}
	}
	if !limited || accepted > 5+1 {
		t.Fatalf("the burst was not limited: %d accepted", accepted)
	}

	select {
	case <-retried:
	case <-time.After(10 * time.Second):
		t.Fatal("the failed delivery was not retried")
	}
	got := scrape(t, base, admin)
	want := map[string]float64{
		`chatbot_incoming_accepted_total`:                                                     float64(accepted),
		`chatbot_incoming_duplicates_total`:                                                   0,
		`chatbot_incoming_refused_total{reason="unauthorized",code="401"}`:                    1,
		`chatbot_incoming_refused_total{reason="forbidden",code="403"}`:                       1,
		`chatbot_incoming_refused_total{reason="too_large",code="413"}`:                       1,
		`chatbot_incoming_refused_total{reason="rate_limited",code="429"}`:                    1,
		`chatbot_incoming_refused_total{reason="overloaded",code="503"}`:                      0,
		`chatbot_delivery_retries_total`:                                                      1,
		`chatbot_llm_calls_total`:                                                             2,
		`chatbot_llm_failures_total{reason="http_status"}`:                                    1,
		`chatbot_llm_failures_total{reason="down"}`:                                           0,
		`chatbot_llm_failures_total{reason="timeout"}`:                                        0,
		`chatbot_livechat_sessions{state="waiting"}`:                                          1,
		`chatbot_livechat_sessions{state="active"}`:                                           0,
		`chatbot_knowledge_chunks`:                                                            float64(a.index.Len()),
		`chatbot_llm_up`:                                                                      1,
		`chatbot_http_requests_total{method="POST",route="/api/webhook/incoming",code="413"}`: 1,
	}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	if a.index.Len() == 0 {
		t.Error("the knowledge base is empty after the ingest")
	}
}

// TestServeLiveChatNoticeFlags: the transfer and no-agent texts come from
// flags or env, flags winning, and blank or overlong texts are refused.
func TestServeLiveChatNoticeFlags(t *testing.T) {
	cfg := serveConfig(t, mapEnv(map[string]string{
		"CHATBOT_LIVECHAT_TRANSFER_MESSAGE":        "from env",
		"CHATBOT_LIVECHAT_NO_AGENT_CLOSED_MESSAGE": "closed, from env",
	}), "--livechat-transfer-message", "from the flag", "--livechat-no-agent-message", "busy, from the flag")
	if err := cfg.FinishNotices(); err != nil {
		t.Fatal(err)
	}
	if cfg.LiveChatTransferMessage != "from the flag" || cfg.LiveChatNoAgentMessage != "busy, from the flag" ||
		cfg.LiveChatNoAgentClosedMessage != "closed, from env" {
		t.Fatalf("texts: %q %q %q", cfg.LiveChatTransferMessage, cfg.LiveChatNoAgentMessage, cfg.LiveChatNoAgentClosedMessage)
	}
	defaults := serveConfig(t, mapEnv(nil))
	if defaults.LiveChatTransferMessage != livechat.DefaultTransferAnswer || defaults.LiveChatNoAgentMessage != livechat.DefaultNoAgentMessage ||
		defaults.LiveChatNoAgentClosedMessage != livechat.DefaultNoAgentClosedMessage {
		t.Fatalf("defaults: %+v", defaults)
	}
	var built config // built in code: empty texts get the defaults
	if err := built.FinishNotices(); err != nil || built.LiveChatTransferMessage != livechat.DefaultTransferAnswer {
		t.Fatalf("config built in code: %v %q", err, built.LiveChatTransferMessage)
	}

	long := strings.Repeat("é", livechat.MaxNoticeChars+1)
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--livechat-transfer-message", ""}, nil, `invalid argument "" for "--livechat-transfer-message" flag: must not be empty`},
		{[]string{"--livechat-no-agent-message", "  \n "}, nil, `"--livechat-no-agent-message" flag: must not be empty`},
		{[]string{"--livechat-transfer-message", long}, nil, `must be at most 1000 characters, not 1001`},
		{nil, map[string]string{"CHATBOT_LIVECHAT_TRANSFER_MESSAGE": "   "}, `CHATBOT_LIVECHAT_TRANSFER_MESSAGE="   " is not a valid --livechat-transfer-message`},
		{nil, map[string]string{"CHATBOT_LIVECHAT_NO_AGENT_CLOSED_MESSAGE": long}, `--livechat-no-agent-closed-message`},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...)
		if _, _, err := run(t, mapEnv(c.env), args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %.60q env %.60v: error %v, want it to mention %q", c.args, c.env, err, c.want)
		}
	}
	built = config{LiveChatNoAgentMessage: long}
	if err := built.FinishNotices(); err == nil || err.Error() != "--livechat-no-agent-message must be at most 1000 characters, not 1001" {
		t.Errorf("overlong text built in code: %v", err)
	}
}
