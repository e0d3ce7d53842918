package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"

	"github.com/chatbot/chatbot/internal/server"
)

// fakeOllama answers /api/tags with models, /api/show for them, and
// /api/chat with a fixed streamed answer.
func fakeOllama(t *testing.T, models ...string) *httptest.Server {
	t.Helper()
	has := func(name string) bool {
		for _, m := range models {
			if m == name || m == name+":latest" {
				return true
			}
		}
		return false
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"version": "0.6.5"})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		var list api.ListResponse
		for _, m := range models {
			list.Models = append(list.Models, api.ListModelResponse{Name: m, Model: m})
		}
		json.NewEncoder(w).Encode(list)
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		var req api.ShowRequest
		json.NewDecoder(r.Body).Decode(&req)
		if !has(req.Model) {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]string{"error": "model not found"})
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"modelfile": "FROM x"})
	})
	mux.HandleFunc("POST /api/embed", func(w http.ResponseWriter, r *http.Request) {
		var req api.EmbedRequest
		json.NewDecoder(r.Body).Decode(&req)
		var resp api.EmbedResponse
		for range req.Input.([]any) {
			resp.Embeddings = append(resp.Embeddings, []float32{1, 0, 0, 0})
		}
		json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Content: "Vouchers last twelve months [1]."}, Done: true})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func refusingAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestAnswerFlagsAndEnv(t *testing.T) {
	e := mapEnv(map[string]string{"OLLAMA_HOST": "gpu-box:9999", "OLLAMA_NUM_PARALLEL": "4", "CHATBOT_CHAT_MODEL": "qwen2.5"})
	c := newServeCommand(e)
	if err := c.ParseFlags([]string{"--answer-timeout", "12s"}); err != nil {
		t.Fatal(err)
	}
	get := func(name string) string { return c.Flags().Lookup(name).Value.String() }
	want := map[string]string{"llm": "auto", "ollama-host": "gpu-box:9999", "chat-model": "qwen2.5", "embed-model": "nomic-embed-text",
		"answer-timeout": "12s", "max-generations": "4", "max-answer-tokens": "512", "bot-name": "Assistant"}
	for name, v := range want {
		if got := get(name); got != v {
			t.Errorf("--%s = %q, want %q", name, got, v)
		}
	}
	ac := answerConfig{OllamaHost: "gpu-box:9999"}
	if err := ac.Finish(); err != nil || ac.OllamaURLs()[0].String() != "http://gpu-box:9999" || ac.LLM != "auto" || ac.MaxGenerations != 1 {
		t.Fatalf("finish = %v, %+v", err, ac)
	}
}

func TestAnswerFlagsRejected(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--llm", "gpt"}, "--llm must be auto, ollama, openai or none"},
		{[]string{"--llm", "openai"}, "--llm openai needs the server's URL: --llm-url"},
		{[]string{"--llm", "openai", "--llm-url", "ftp://x"}, `--llm-url: "ftp://x" is not an http(s) URL`},
		{[]string{"--ollama-host", "a:1", "--ollama-host", "http://a:1"}, `"http://a:1" is listed twice`},
		{[]string{"--answer-timeout", "1ms"}, "--answer-timeout"},
		{[]string{"--max-generations", "-1"}, "--max-generations"},
		{[]string{"--max-answer-tokens", "1"}, "--max-answer-tokens"},
		{[]string{"--ollama-host", "ftp://x"}, "--ollama-host"},
	}
	for _, c := range cases {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, c.args...)
		if _, _, err := run(t, mapEnv(nil), args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

// newAnsweringForTest builds the answering part alone, logging to a buffer.
func newAnsweringForTest(t *testing.T, ac answerConfig) (*server.Answering, string, error) {
	t.Helper()
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := st.Check(); err != nil {
			t.Errorf("check: %v", err)
		}
		st.Close()
	})
	ix, err := rag.Open(context.Background(), st, embed.NewBuiltin(), rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := server.NewAnswering(context.Background(), ac, st, ix, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	if a != nil {
		t.Cleanup(func() { a.Close(context.Background()) })
	}
	return a, logs.String(), err
}

func TestStartupReport(t *testing.T) {
	tests := []struct {
		name     string
		llm      string
		host     func() string
		wantLogs []string
		wantErr  string
		state    string
	}{
		{name: "all there", llm: llmAuto, host: func() string { return fakeOllama(t, "llama3.2:latest", "nomic-embed-text:latest").URL },
			wantLogs: []string{"ollama reachable", "version=0.6.5", "chat_model_present=true", "embed_model_present=true"}, state: "ok"},
		{name: "models missing", llm: llmAuto, host: func() string { return fakeOllama(t).URL },
			wantLogs: []string{"chat_model_present=false", `"ollama model missing; run: ollama pull llama3.2"`, `"ollama model missing; run: ollama pull nomic-embed-text"`},
			state:    "down"},
		{name: "unreachable", llm: llmAuto, host: func() string { return refusingAddr(t) },
			wantLogs: []string{"ollama not reachable", "connection refused"}, state: "down"},
		{name: "required but unreachable", llm: llmOllama, host: func() string { return refusingAddr(t) },
			wantErr: "start it with `ollama serve`"},
		{name: "required but model missing", llm: llmOllama, host: func() string { return fakeOllama(t).URL },
			wantErr: "run: ollama pull llama3.2"},
		{name: "none", llm: llmNone, host: func() string { return refusingAddr(t) }, state: "disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, logs, err := newAnsweringForTest(t, answerConfig{LLM: tt.llm, OllamaHost: tt.host()})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantLogs {
				if !strings.Contains(logs, w) {
					t.Errorf("logs lack %q:\n%s", w, logs)
				}
			}
			if st := a.State(); st.State != tt.state {
				t.Fatalf("state = %+v, want %s", st, tt.state)
			}
		})
	}
}

// An Ollama-built knowledge base opens while Ollama is down: its stored
// dimension stands in for the probe.
func TestIndexEmbedderOpensWhileOllamaIsDown(t *testing.T) {
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	down := "http://" + refusingAddr(t)
	k := knowledgeFlags{embedder: "auto", embedModel: "nomic-embed-text"}
	emb, err := server.IndexEmbedder(context.Background(), down, st, k.choice())
	if err != nil || emb.Info().Provider != "builtin" {
		t.Fatalf("new index without ollama: %+v %v", emb, err)
	}
	if err := st.ResetKnowledge(store.IndexInfo{Provider: "ollama", Model: "mxbai", Dimension: 1024}); err != nil {
		t.Fatal(err)
	}
	emb, err = server.IndexEmbedder(context.Background(), down, st, k.choice())
	if err != nil || emb.Info() != (embed.Info{Provider: "ollama", Model: "mxbai", Dimension: 1024}) {
		t.Fatalf("existing ollama index: %+v %v", emb.Info(), err)
	}
	if _, err := rag.Open(context.Background(), st, emb, rag.Options{}); err != nil {
		t.Fatalf("open while ollama is down: %v", err)
	}
	// The same through serve: it starts, and answers extractively.
	dir := t.TempDir()
	st2, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	st2.ResetKnowledge(store.IndexInfo{Provider: "ollama", Model: "nomic-embed-text", Dimension: 8})
	st2.Close()
	cfg := config{DataDir: dir}
	cfg.Answer = answerConfig{OllamaHost: down}
	a, _ := startApp(t, cfg)
	if rd := readyz(t, "http://"+a.Addr()); rd.Status != "degraded" || rd.LLM.State != "down" {
		t.Fatalf("readyz = %+v", rd)
	}
}

func TestReadyz(t *testing.T) {
	srv := fakeOllama(t) // reachable, but without the chat model
	cfg := config{}
	cfg.Answer = answerConfig{LLM: llmAuto, OllamaHost: srv.URL}
	a, _ := startApp(t, cfg)
	rd := readyz(t, "http://"+a.Addr())
	if rd.Status != "degraded" || rd.LLM.State != "down" || rd.LLM.Mode != "ollama" || !strings.Contains(rd.LLM.Reason, "ollama pull llama3.2") {
		t.Fatalf("readyz = %+v", rd)
	}

	cfg.Answer = answerConfig{LLM: llmNone}
	a, _ = startApp(t, cfg)
	if rd := readyz(t, "http://"+a.Addr()); rd.Status != "ready" || rd.LLM.State != "disabled" || rd.LLM.Mode != "none" {
		t.Fatalf("readyz with --llm none = %+v", rd)
	}
}

func TestAskCommand(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(dir, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := rag.Open(context.Background(), st, embed.NewBuiltin(), rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := "# Billing\n\n## Refunds\n\nRefund vouchers are valid for twelve months from the purchase date.\n"
	if _, err := ix.Put(context.Background(), rag.DocInput{Path: "billing.md", Source: "billing.md", Content: []byte(text),
		Parsed: rag.Parse(rag.FormatMarkdown, "billing.md", text)}); err != nil {
		t.Fatal(err)
	}
	for path, text := range map[string]string{"a.md": "# Password\n\nReset your password in settings.\n", "b.md": "# Shipping\n\nParcels ship in two days.\n"} {
		if _, err := ix.Put(context.Background(), rag.DocInput{Path: path, Source: path, Content: []byte(text), Parsed: rag.Parse(rag.FormatMarkdown, path, text)}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	out, _, err := run(t, mapEnv(nil), "ask", "--data-dir", dir, "--llm", "none", "how long are refund vouchers valid?")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "twelve months") || !strings.Contains(out, "billing.md#refunds") || !strings.Contains(out, "(extractive because llm_disabled;") {
		t.Fatalf("ask output:\n%s", out)
	}

	srv := fakeOllama(t, "llama3.2:latest")
	out, _, err = run(t, mapEnv(map[string]string{"OLLAMA_HOST": srv.URL}), "ask", "--data-dir", dir, "--json", "how long are refund vouchers valid?")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
		Sources      []struct {
			Source string `json:"source"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.ResponseType != "rag_knowledge_base" ||
		got.Answer != "Vouchers last twelve months [1].\n\nSources:\n1. Billing > Refunds" || len(got.Sources) != 1 || got.Sources[0].Source != "billing.md#refunds" {
		t.Fatalf("ask --json: %v\n%s", err, out)
	}

	out, _, err = run(t, mapEnv(nil), "ask", "--data-dir", dir, "--llm", "none", "do you sell gift cards for boats?")
	if err != nil || !strings.Contains(out, "talk to an agent") || !strings.Contains(out, "(no_answer;") {
		t.Fatalf("no answer: %v\n%s", err, out)
	}
}

type readyzBody struct {
	Status string        `json:"status"`
	LLM    chat.LLMState `json:"llm"`
	Chunks int           `json:"chunks"`
}

func readyz(t *testing.T, base string) readyzBody {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out readyzBody
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil {
		t.Fatalf("readyz: %d %s", resp.StatusCode, b)
	}
	return out
}
