package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/faq"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/llm"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// LLM modes of --llm.
const (
	llmAuto   = "auto"   // Ollama when it is there; the built-in answerer meanwhile
	llmOllama = "ollama" // Ollama required: start-up fails without it and the model
	llmOpenAI = "openai" // an OpenAI-compatible server (--llm-url) required
	llmNone   = "none"   // the built-in (extractive) answerer only
)

// answerConfig configures the conversation engine and its LLM client.
type answerConfig struct {
	// tools is the API tools' step (serve); nil: none.
	tools chat.Tools

	LLM string
	// OllamaHost is one or more OLLAMA_HOST values, comma-separated.
	OllamaHost string
	// LLMURL is one or more OpenAI-compatible base URLs, comma-separated
	// (--llm openai); APIKeyFile a file holding the key.
	LLMURL         string
	APIKeyFile     string
	ChatModel      string
	EmbedModel     string
	AnswerTimeout  time.Duration
	MaxGenerations int
	MaxTokens      int
	BotName        string
	BotTone        string
	Instructions   string

	ollamaURL  *url.URL      // the first of ollamaURLs
	ollamaURLs []*url.URL    // every --ollama-host
	llmURLs    []*url.URL    // every --llm-url
	APIKey     string        `json:"-"` // from CHATBOT_LLM_API_KEY(_FILE) or --llm-api-key-file
	KeySource  string        // where APIKey came from, for a 401
	Recheck    time.Duration // the breaker's re-check interval; tests shorten it
	TopK       int           // passages per answer; 0: the engine's default
	// QuietProbe logs an unreachable server at debug level, not as a
	// warning: a one-shot `ask` with --llm auto says "extractive" in its
	// answer line instead of warning on every call.
	QuietProbe bool
}

// finish fills the zero values with the flags' defaults and validates.
func (c *answerConfig) finish() error {
	def := func(v *string, d string) {
		if strings.TrimSpace(*v) == "" {
			*v = d
		}
	}
	def(&c.LLM, llmAuto)
	def(&c.ChatModel, "llama3.2")
	def(&c.EmbedModel, embed.DefaultOllamaModel)
	def(&c.BotName, "Assistant")
	if c.AnswerTimeout == 0 {
		c.AnswerTimeout = 30 * time.Second
	}
	if c.MaxGenerations == 0 {
		c.MaxGenerations = 1
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = 512
	}
	if c.MaxTokens < 16 || c.MaxTokens > 8192 {
		return fmt.Errorf("--max-answer-tokens must be between 16 and 8192, not %d", c.MaxTokens)
	}
	switch c.LLM {
	case llmAuto, llmOllama, llmOpenAI, llmNone:
	default:
		return fmt.Errorf("--llm must be auto, ollama, openai or none, not %q", c.LLM)
	}
	if c.AnswerTimeout < 100*time.Millisecond || c.AnswerTimeout > 10*time.Minute {
		return fmt.Errorf("--answer-timeout must be between 100ms and 10m, not %s", c.AnswerTimeout)
	}
	if c.MaxGenerations < 1 || c.MaxGenerations > 256 {
		return fmt.Errorf("--max-generations must be between 1 and 256, not %d", c.MaxGenerations)
	}
	us, err := chat.OllamaURLs([]string{c.OllamaHost})
	if err != nil {
		return fmt.Errorf("--ollama-host: %w", err)
	}
	c.ollamaURLs, c.ollamaURL = us, us[0]
	if c.llmURLs, err = parseLLMURLs(c.LLMURL); err != nil {
		return err
	}
	if c.LLM == llmOpenAI && len(c.llmURLs) == 0 {
		return fmt.Errorf("--llm openai needs the server's URL: --llm-url http://host:port/v1 (or CHATBOT_LLM_URL)")
	}
	return nil
}

// ollamaHosts is the Ollama servers as a comma-separated list of URLs.
func (c *answerConfig) ollamaHosts() string {
	parts := make([]string, len(c.ollamaURLs))
	for i, u := range c.ollamaURLs {
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}

// openaiServers are the OpenAI-compatible servers for embeddings (nil
// unless --llm openai).
func (c *answerConfig) openaiServers() *openaiServers {
	if c.LLM != llmOpenAI {
		return nil
	}
	return &openaiServers{urls: c.llmURLs, apiKey: c.APIKey, keySource: c.KeySource}
}

// parseLLMURLs parses a comma-separated list of OpenAI-compatible base URLs.
func parseLLMURLs(s string) ([]*url.URL, error) {
	var out []*url.URL
	for _, part := range splitList(s) {
		u, err := llm.OpenAIBaseURL(part)
		if err != nil {
			return nil, fmt.Errorf("--llm-url: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// answering is the engine and what it runs on, built once per process.
type answering struct {
	engine *chat.Engine
	index  *rag.Index
	llm    *chat.Client // nil with --llm none
	faq    *faq.Service // the curated answers, consulted before retrieval
}

// state is the LLM's state for /readyz.
func (a *answering) state() chat.LLMState {
	if a.llm == nil {
		return chat.LLMState{Mode: llmNone, State: "disabled"}
	}
	return a.llm.State()
}

// close stops the background checker.
func (a *answering) close(ctx context.Context) error {
	if a.llm == nil {
		return nil
	}
	return a.llm.Close(ctx)
}

// newAnswering probes Ollama (and reports what it finds) and builds the
// engine over the knowledge index ix. live may be nil.
func newAnswering(ctx context.Context, c answerConfig, st *store.Store, ix *rag.Index, log *slog.Logger, live chat.LiveChat) (*answering, error) {
	if err := c.finish(); err != nil {
		return nil, err
	}
	curated, err := faq.Open(st, 0)
	if err != nil {
		return nil, err
	}
	a := &answering{index: ix, faq: curated}
	if c.LLM != llmNone {
		client, err := c.newClient()
		if err != nil {
			return nil, err
		}
		if err := checkLLMHosts(ctx, c, client, log); err != nil {
			return nil, err
		}
		client.Start()
		a.llm = client
	}
	cfg := chat.Config{
		Retriever: ix,
		Extract:   ix.Extract,
		Memory:    st,
		LiveChat:  live,
		Curated:   curated,
		Tools:     c.tools,
		Persona:   chat.Persona{BotName: c.BotName, Tone: c.BotTone, Instructions: c.Instructions},
		Log:       log,
		Timeout:   c.AnswerTimeout,
		TopK:      c.TopK,
	}
	if a.llm != nil {
		cfg.LLM = a.llm
	}
	eng, err := chat.NewEngine(cfg)
	if err != nil {
		a.close(ctx)
		return nil, err
	}
	a.engine = eng
	log.Info("answering", "llm", c.LLM, "embedder", ix.Info().Provider+"/"+ix.Info().Model, "chunks", ix.Len(),
		"answer_timeout", c.AnswerTimeout, "max_generations", c.MaxGenerations)
	return a, nil
}

// newClient is the LLM client of c: OpenAI-compatible servers with --llm
// openai, else the Ollama servers.
func (c *answerConfig) newClient() (*chat.Client, error) {
	if c.LLM == llmOpenAI {
		return chat.NewOpenAI(chat.OpenAIConfig{BaseURLs: c.llmURLs, APIKey: c.APIKey, KeySource: c.KeySource,
			ChatModel: c.ChatModel, EmbedModel: c.EmbedModel,
			MaxGenerations: c.MaxGenerations, QueueSize: 8 * c.MaxGenerations * len(c.llmURLs), NumPredict: c.MaxTokens,
			RecheckInterval: c.Recheck})
	}
	return chat.NewOllama(chat.OllamaConfig{BaseURLs: c.ollamaURLs, ChatModel: c.ChatModel, EmbedModel: c.EmbedModel,
		MaxGenerations: c.MaxGenerations, QueueSize: 8 * c.MaxGenerations * len(c.ollamaURLs), NumPredict: c.MaxTokens,
		RecheckInterval: c.Recheck})
}

// checkLLMHosts probes every server at start-up, reports each, and takes
// out those that are unreachable or lack the model (the background checker
// brings them back). With --llm ollama or openai, no usable server fails
// the start.
func checkLLMHosts(ctx context.Context, c answerConfig, client *chat.Client, log *slog.Logger) error {
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	statuses := client.ProbeHosts(pctx)
	cancel()
	usable, reachable := 0, 0
	for i, st := range statuses {
		reportLLM(log, st, c.QuietProbe)
		switch {
		case !st.Reachable:
			client.MarkHostDown(i, st.Err)
		case st.Mode == llmOllama && !st.ChatModelPresent:
			reachable++
			client.MarkHostDown(i, fmt.Sprintf("model %q not found; run: ollama pull %s", c.ChatModel, c.ChatModel))
		default:
			reachable++
			usable++
		}
	}
	first := statuses[0]
	switch {
	case usable > 0:
		return nil
	case c.LLM == llmOllama && reachable == 0:
		return fmt.Errorf("--llm ollama: Ollama at %s is not reachable (%s); start it with `ollama serve`, or use --llm auto or none", first.URL, first.Err)
	case c.LLM == llmOllama:
		return fmt.Errorf("--llm ollama: model %q is not in Ollama; run: ollama pull %s", c.ChatModel, c.ChatModel)
	case c.LLM == llmOpenAI:
		return fmt.Errorf("--llm openai: the server at %s did not answer (%s); check --llm-url, or use --llm auto or none", first.URL, first.Err)
	}
	return nil
}

// reportLLM logs what the start-up probe found on one server, with the
// exact commands that fix a missing model.
func reportLLM(log *slog.Logger, s chat.Status, quiet bool) {
	if !s.Reachable {
		what := "ollama"
		if s.Mode == llmOpenAI {
			what = "openai-compatible server"
		}
		level := slog.LevelWarn
		if quiet {
			level = slog.LevelDebug
		}
		log.Log(context.Background(), level, what+" not reachable; answering with the built-in extractive answerer and checking again in the background",
			"url", s.URL, "reason", s.Err)
		return
	}
	if s.Mode == llmOpenAI {
		log.Info("openai-compatible server reachable", "url", s.URL, "chat_model", s.ChatModel, "chat_model_listed", s.ChatModelPresent)
		if !s.ChatModelPresent {
			log.Warn("the server does not list the chat model; some servers (llama.cpp) serve one model under another name, so answers will tell",
				"url", s.URL, "chat_model", s.ChatModel)
		}
		return
	}
	log.Info("ollama reachable", "ollama_url", s.URL, "version", s.Version,
		"chat_model", s.ChatModel, "chat_model_present", s.ChatModelPresent,
		"embed_model", s.EmbedModel, "embed_model_present", s.EmbedModelPresent)
	for _, cmd := range s.Missing() {
		log.Warn("ollama model missing; run: "+cmd, "command", cmd, "ollama_url", s.URL)
	}
}

// indexEmbedder is chooseEmbedder (the --embedder asked for, else the
// index's own) made to open an Ollama-built index while Ollama is down: the
// stored dimension stands in for the probe, and questions are searched
// lexically until Ollama returns (the engine falls back on its own).
func indexEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k EmbedderChoice) (embed.Embedder, error) {
	emb, err := chooseEmbedder(ctx, ollamaHost, st, k)
	if err != nil {
		return nil, err
	}
	info, err := st.KnowledgeIndexInfo()
	if err != nil || info.Provider != emb.Info().Provider || info.Model != emb.Info().Model || info.Dimension == 0 ||
		(info.Provider != "ollama" && info.Provider != "openai") {
		return emb, nil
	}
	return knownDim{emb, info.Dimension}, nil
}

// knownDim is a model server's embedder whose dimension is known from the
// index.
type knownDim struct {
	embed.Embedder
	dim int
}

func (k knownDim) Info() embed.Info {
	i := k.Embedder.Info()
	i.Dimension = k.dim
	return i
}

// Hosts is the embedder's per-server state, when it talks to servers.
func (k knownDim) Hosts() []llm.HostStats {
	if h, ok := k.Embedder.(interface{ Hosts() []llm.HostStats }); ok {
		return h.Hosts()
	}
	return nil
}

// readyz says whether the service can answer, and how: the LLM's state
// ("ok", "down" with the reason, or "disabled") and the knowledge base's
// size. It answers 200 while the service can answer at all, since an
// Ollama that is down only degrades answers to extractive ones; status
// says "degraded" then. /healthz stays the cheap liveness check.
func (a *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	llm := a.answer.state()
	llm.Hosts = nil // the servers' addresses are for the admin (/api/llm/hosts), not for anyone
	status := "ready"
	if llm.State == "down" {
		status = "degraded"
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"success":      true,
		"status":       status,
		"llm":          llm,
		"embedder":     a.answer.index.Info(),
		"chunks":       a.answer.index.Len(),
		"answer_limit": a.cfg.Answer.AnswerTimeout.String(),
	})
}

// llmHostsAPI is GET /api/llm/hosts (admin): the LLM's state with each
// server's, and the embedder's servers, for the admin overview.
func (a *Server) llmHostsAPI(w http.ResponseWriter, _ *http.Request) {
	var embedHosts []llm.HostStats
	if a.embedder != nil {
		embedHosts = a.embedder.Hosts()
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "llm": a.answer.state(), "embed_hosts": embedHosts})
}
