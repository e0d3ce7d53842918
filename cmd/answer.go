package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
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
	apiKey     string        // from CHATBOT_LLM_API_KEY(_FILE) or --llm-api-key-file
	keySource  string        // where apiKey came from, for a 401
	recheck    time.Duration // the breaker's re-check interval; tests shorten it
	topK       int           // passages per answer; 0: the engine's default
	// quietProbe logs an unreachable server at debug level, not as a
	// warning: a one-shot `ask` with --llm auto says "extractive" in its
	// answer line instead of warning on every call.
	quietProbe bool
}

// bindAnswer registers the answering flags (serve and ask share them).
func bindAnswer(fs *pflag.FlagSet, e env, c *answerConfig) {
	fs.StringVar(&c.LLM, "llm", e.or("CHATBOT_LLM", llmAuto), "answer generator: auto (Ollama when reachable, else built-in), ollama (required), openai (an OpenAI-compatible server at --llm-url, required) or none (built-in extractive answers) (env CHATBOT_LLM)")
	c.OllamaHost = e.or("OLLAMA_HOST", "")
	fs.Var(&listValue{dst: &c.OllamaHost, check: checkOllamaHosts}, "ollama-host", "Ollama address, as OLLAMA_HOST: host[:port] or http(s)://host:port (default 127.0.0.1:11434); repeat the flag, or separate with commas, for several servers (env OLLAMA_HOST)")
	c.LLMURL = e.or("CHATBOT_LLM_URL", "")
	fs.Var(&listValue{dst: &c.LLMURL, check: checkLLMURLs}, "llm-url", "with --llm openai: the server's base URL, e.g. http://127.0.0.1:8000/v1 (/v1 is added to a URL without a path); repeat, or separate with commas, for several (env CHATBOT_LLM_URL)")
	fs.StringVar(&c.APIKeyFile, "llm-api-key-file", "", "with --llm openai: a file holding the API key (or set CHATBOT_LLM_API_KEY or CHATBOT_LLM_API_KEY_FILE; never a flag, which other users can see in ps)")
	fs.StringVar(&c.ChatModel, "chat-model", e.or("CHATBOT_CHAT_MODEL", "llama3.2"), "chat model (env CHATBOT_CHAT_MODEL)")
	fs.DurationVar(&c.AnswerTimeout, "answer-timeout", e.durationOr("CHATBOT_ANSWER_TIMEOUT", 30*time.Second), "deadline of every answer; past it the user gets the extractive answer (env CHATBOT_ANSWER_TIMEOUT)")
	fs.IntVar(&c.MaxGenerations, "max-generations", defaultGenerations(e), "concurrent LLM generations per server; more wait in a queue of 8 per slot, past it callers get the extractive answer at once (env CHATBOT_MAX_GENERATIONS; default OLLAMA_NUM_PARALLEL or 1)")
	fs.IntVar(&c.MaxTokens, "max-answer-tokens", 512, "most tokens an LLM answer may have")
	fs.StringVar(&c.BotName, "bot-name", e.or("CHATBOT_BOT_NAME", "Assistant"), "the name the bot gives itself (env CHATBOT_BOT_NAME)")
	fs.StringVar(&c.BotTone, "bot-tone", e.or("CHATBOT_BOT_TONE", "friendly, clear and concise"), "the tone of its answers (env CHATBOT_BOT_TONE)")
	fs.StringVar(&c.Instructions, "bot-instructions", e.or("CHATBOT_BOT_INSTRUCTIONS", ""), "extra instructions appended to the system prompt (env CHATBOT_BOT_INSTRUCTIONS)")
}

// defaultGenerations matches Ollama's own parallelism when it is set here.
func defaultGenerations(e env) int {
	for _, key := range []string{"CHATBOT_MAX_GENERATIONS", "OLLAMA_NUM_PARALLEL"} {
		if n, err := strconv.Atoi(e(key)); err == nil && n > 0 {
			return n
		}
	}
	return 1
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
	return &openaiServers{urls: c.llmURLs, apiKey: c.apiKey, keySource: c.keySource}
}

// finishKey reads the API key: --llm-api-key-file, else
// CHATBOT_LLM_API_KEY, else CHATBOT_LLM_API_KEY_FILE; it remembers which,
// so that a refused key is reported by its source.
func (c *answerConfig) finishKey(e env) error {
	if c.APIKeyFile != "" {
		b, err := os.ReadFile(c.APIKeyFile)
		if err != nil {
			return fmt.Errorf("--llm-api-key-file: %w", err)
		}
		c.apiKey, c.keySource = strings.TrimSpace(string(b)), "--llm-api-key-file ("+c.APIKeyFile+")"
		return nil
	}
	key, err := e.lookup("CHATBOT_LLM_API_KEY")
	if err != nil {
		return err
	}
	c.apiKey = key
	switch {
	case e("CHATBOT_LLM_API_KEY") != "":
		c.keySource = "CHATBOT_LLM_API_KEY"
	case key != "":
		c.keySource = "CHATBOT_LLM_API_KEY_FILE (" + e("CHATBOT_LLM_API_KEY_FILE") + ")"
	}
	return nil
}

// listValue is a flag that may be repeated or hold a comma-separated list
// (its env default likewise): the first use replaces the default, later
// ones add to it. check validates each value as it is parsed.
type listValue struct {
	dst   *string
	set   bool
	check func(string) error
}

func (v *listValue) String() string {
	if v.dst == nil {
		return ""
	}
	return *v.dst
}

func (v *listValue) Set(s string) error {
	if err := v.check(s); err != nil {
		return err
	}
	if !v.set || *v.dst == "" {
		*v.dst, v.set = s, true
		return nil
	}
	*v.dst += "," + s
	return nil
}

func (*listValue) Type() string { return "list" }

func checkOllamaHosts(s string) error {
	_, err := chat.OllamaURLs([]string{s})
	return err
}

func checkLLMURLs(s string) error {
	_, err := parseLLMURLs(s)
	return err
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
	a := &answering{index: ix}
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
		Tools:     c.tools,
		Persona:   chat.Persona{BotName: c.BotName, Tone: c.BotTone, Instructions: c.Instructions},
		Log:       log,
		Timeout:   c.AnswerTimeout,
		TopK:      c.topK,
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
		return chat.NewOpenAI(chat.OpenAIConfig{BaseURLs: c.llmURLs, APIKey: c.apiKey, KeySource: c.keySource,
			ChatModel: c.ChatModel, EmbedModel: c.EmbedModel,
			MaxGenerations: c.MaxGenerations, QueueSize: 8 * c.MaxGenerations * len(c.llmURLs), NumPredict: c.MaxTokens,
			RecheckInterval: c.recheck})
	}
	return chat.NewOllama(chat.OllamaConfig{BaseURLs: c.ollamaURLs, ChatModel: c.ChatModel, EmbedModel: c.EmbedModel,
		MaxGenerations: c.MaxGenerations, QueueSize: 8 * c.MaxGenerations * len(c.ollamaURLs), NumPredict: c.MaxTokens,
		RecheckInterval: c.recheck})
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
		reportLLM(log, st, c.quietProbe)
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
func indexEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k knowledgeFlags) (embed.Embedder, error) {
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
func (a *app) readyz(w http.ResponseWriter, _ *http.Request) {
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
func (a *app) llmHostsAPI(w http.ResponseWriter, _ *http.Request) {
	var embedHosts []llm.HostStats
	if a.embedder != nil {
		embedHosts = a.embedder.Hosts()
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "llm": a.answer.state(), "embed_hosts": embedHosts})
}
