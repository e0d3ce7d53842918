package cmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/chatbot/chatbot/chat"
)

// Several Ollama servers from one OLLAMA_HOST list (and repeated
// --ollama-host): each is probed and shown in /readyz and /metrics; one
// that is down is taken out while the other answers.
func TestSeveralOllamaHosts(t *testing.T) {
	e := mapEnv(map[string]string{"OLLAMA_HOST": "a:1,b:2"})
	c := newServeCommand(e)
	if err := c.ParseFlags([]string{"--ollama-host", "c:3", "--ollama-host", "d:4"}); err != nil {
		t.Fatal(err)
	}
	if got := c.Flags().Lookup("ollama-host").Value.String(); got != "c:3,d:4" {
		t.Fatalf("--ollama-host twice = %q (the flags replace the environment)", got)
	}
	ac := answerConfig{OllamaHost: "a:1,b:2"}
	if err := ac.Finish(); err != nil || ac.OllamaHosts() != "http://a:1,http://b:2" {
		t.Fatalf("finish: %v, hosts %q", err, ac.OllamaHosts())
	}

	up := fakeOllama(t, "llama3.2:latest", "nomic-embed-text:latest")
	down := "http://" + refusingAddr(t)
	cfg := config{AdminToken: "admin-token-0123456789abcdef", Embedder: "builtin"}
	cfg.Answer = answerConfig{LLM: llmAuto, OllamaHost: down + "," + up.URL}
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()
	if rd := readyz(t, base); rd.Status != "ready" || rd.LLM.State != "ok" || len(rd.LLM.Hosts) != 0 {
		t.Fatalf("readyz = %+v (the servers are for the admin only)", rd)
	}
	if status, _ := apiCall(t, http.MethodGet, base+"/api/llm/hosts", "wrong-token-0123456789", ""); status != http.StatusUnauthorized {
		t.Fatalf("/api/llm/hosts without the admin token: %d", status)
	}
	rd := llmHosts(t, base, cfg.AdminToken)
	if len(rd.LLM.Hosts) != 2 ||
		rd.LLM.Hosts[0].URL != down || rd.LLM.Hosts[0].State != "down" || !strings.Contains(rd.LLM.Hosts[0].Reason, "connection refused") ||
		rd.LLM.Hosts[1].URL != up.URL || rd.LLM.Hosts[1].State != "ok" || rd.LLM.Hosts[1].Limit != 1 {
		t.Fatalf("readyz = %+v", rd)
	}
	_, body := apiCall(t, http.MethodGet, base+"/metrics", cfg.AdminToken, "")
	for _, want := range []string{
		fmt.Sprintf(`chatbot_llm_host_up{kind="chat",host=%q} 0`, down),
		fmt.Sprintf(`chatbot_llm_host_up{kind="chat",host=%q} 1`, up.URL),
		fmt.Sprintf(`chatbot_llm_host_limit{kind="chat",host=%q} 1`, up.URL),
		"# TYPE chatbot_llm_host_latency_seconds summary",
		"chatbot_llm_retries_total 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// fakeOpenAIServer speaks /v1/models, /v1/chat/completions (streamed) and
// /v1/embeddings, and records the Authorization headers it saw.
type fakeOpenAIServer struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string
}

func newFakeOpenAIServer(t *testing.T, answer string) *fakeOpenAIServer {
	f := &fakeOpenAIServer{}
	mux := http.NewServeMux()
	seen := func(r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Header.Get("Authorization"))
		f.mu.Unlock()
	}
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		json.NewEncoder(w).Encode(openai.ModelsList{Models: []openai.Model{{ID: "qwen2.5-7b"}, {ID: "bge-small"}}})
	})
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		var req openai.EmbeddingRequest
		json.NewDecoder(r.Body).Decode(&req)
		resp := openai.EmbeddingResponse{}
		for i, in := range req.Input.([]any) {
			s := strings.ToLower(in.(string))
			v := []float32{0.01, 0, 0}
			if strings.Contains(s, "refund") {
				v[1] = 1
			}
			if strings.Contains(s, "password") {
				v[2] = 1
			}
			resp.Data = append(resp.Data, openai.Embedding{Index: i, Embedding: v})
		}
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("POST /v1/chat/completions", func(w http.ResponseWriter, r *http.Request) {
		seen(r)
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range strings.SplitAfter(answer, " ") {
			finish := ""
			if i == len(strings.SplitAfter(answer, " "))-1 {
				finish = "stop"
			}
			b, _ := json.Marshal(openai.ChatCompletionStreamResponse{Choices: []openai.ChatCompletionStreamChoice{
				{Delta: openai.ChatCompletionStreamChoiceDelta{Content: word}, FinishReason: openai.FinishReason(finish)}}})
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fmt.Fprint(w, "data: [DONE]\n\n")
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

// --llm openai end to end through serve: the key from a file is sent, a
// new index embeds with the server's embedding model, and answers are the
// server's, cited.
func TestServeWithOpenAICompatibleServer(t *testing.T) {
	f := newFakeOpenAIServer(t, "Vouchers last twelve months [1].")
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The key's source is remembered for a 401.
	ac := answerConfig{LLM: llmOpenAI, LLMURL: f.URL}
	if err := ac.Finish(); err != nil {
		t.Fatal(err)
	}
	if err := finishKey(&ac, mapEnv(map[string]string{"CHATBOT_LLM_API_KEY_FILE": keyFile})); err != nil ||
		ac.APIKey != "sk-from-file" || ac.KeySource != "CHATBOT_LLM_API_KEY_FILE ("+keyFile+")" || ac.LLMURLs()[0].String() != f.URL+"/v1" {
		t.Fatalf("key %q from %q, err %v, urls %v", ac.APIKey, ac.KeySource, err, ac.LLMURLs())
	}

	cfg := config{AdminToken: "admin-token-0123456789abcdef", EmbedModel: "bge-small"}
	cfg.Answer = answerConfig{LLM: llmOpenAI, LLMURL: f.URL, APIKeyFile: keyFile, ChatModel: "qwen2.5-7b"}
	a, _ := startApp(t, cfg)
	if info := a.index.Info(); info.Provider != "openai" || info.Model != "bge-small" || info.Dimension != 3 {
		t.Fatalf("embedder = %+v", info)
	}
	if _, err := a.index.PutUpload(context.Background(), "billing.md", []byte("# Billing\n\n## Refunds\n\nRefund vouchers are valid for twelve months.\n")); err != nil {
		t.Fatal(err)
	}
	r, err := a.answer.engine.Answer(context.Background(), chat.Request{Platform: "p", ConversationID: "c", UserID: "u", Text: "How long are refund vouchers valid?"})
	if err != nil || r.Type != chat.TypeRAG || r.Answer != "Vouchers last twelve months [1].\n\nSources:\n1. Billing > Refunds" || len(r.Sources) != 1 {
		t.Fatalf("answer = %+v, %v", r, err)
	}
	rd := llmHosts(t, "http://"+a.Addr(), cfg.AdminToken)
	if rd.LLM.Mode != "openai" || rd.LLM.State != "ok" || rd.LLM.Model != "qwen2.5-7b" || len(rd.LLM.Hosts) != 1 || rd.LLM.Hosts[0].Calls != 1 {
		t.Fatalf("readyz = %+v", rd)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range f.auth {
		if h != "Bearer sk-from-file" {
			t.Fatalf("Authorization %q", h)
		}
	}
}

// --llm openai with a server that is not there fails the start with the
// URL and what to do.
func TestServeOpenAIRequiredButDown(t *testing.T) {
	down := "http://" + refusingAddr(t)
	_, _, err := run(t, mapEnv(map[string]string{"CHATBOT_LLM": "openai", "CHATBOT_LLM_URL": down, "CHATBOT_EMBEDDER": "builtin"}),
		"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "--llm openai: the server at "+down+"/v1 did not answer") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
}

// llmHosts reads GET /api/llm/hosts with the admin token.
func llmHosts(t *testing.T, base, token string) readyzBody {
	t.Helper()
	status, body := apiCall(t, http.MethodGet, base+"/api/llm/hosts", token, "")
	var out readyzBody
	if status != http.StatusOK || json.Unmarshal(body, &out) != nil {
		t.Fatalf("/api/llm/hosts: %d %s", status, body)
	}
	return out
}
