package cmd

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// LLM modes of --llm.
const (
	llmAuto   = "auto"   // Ollama when it is there; the built-in answerer meanwhile
	llmOllama = "ollama" // Ollama required: start-up fails without it and the model
	llmNone   = "none"   // the built-in (extractive) answerer only
)

// answerConfig configures the conversation engine and its Ollama client.
type answerConfig struct {
	LLM            string
	OllamaHost     string
	ChatModel      string
	EmbedModel     string
	AnswerTimeout  time.Duration
	MaxGenerations int
	MaxTokens      int
	BotName        string
	BotTone        string
	Instructions   string

	ollamaURL *url.URL
	recheck   time.Duration // the breaker's re-check interval; tests shorten it
	topK      int           // passages per answer; 0: the engine's default
}

// bindAnswer registers the answering flags (serve and ask share them).
func bindAnswer(fs *pflag.FlagSet, e env, c *answerConfig) {
	fs.StringVar(&c.LLM, "llm", e.or("CHATBOT_LLM", llmAuto), "answer generator: auto (Ollama when reachable, else built-in), ollama (required) or none (built-in extractive answers) (env CHATBOT_LLM)")
	fs.StringVar(&c.OllamaHost, "ollama-host", e.or("OLLAMA_HOST", ""), "Ollama address, as OLLAMA_HOST: host[:port] or http(s)://host:port (default 127.0.0.1:11434) (env OLLAMA_HOST)")
	fs.StringVar(&c.ChatModel, "chat-model", e.or("CHATBOT_CHAT_MODEL", "llama3.2"), "Ollama chat model (env CHATBOT_CHAT_MODEL)")
	fs.DurationVar(&c.AnswerTimeout, "answer-timeout", e.durationOr("CHATBOT_ANSWER_TIMEOUT", 30*time.Second), "deadline of every answer; past it the user gets the extractive answer (env CHATBOT_ANSWER_TIMEOUT)")
	fs.IntVar(&c.MaxGenerations, "max-generations", defaultGenerations(e), "concurrent LLM generations; more wait in a queue of 8 per slot, past it callers get the extractive answer at once (env CHATBOT_MAX_GENERATIONS; default OLLAMA_NUM_PARALLEL or 1)")
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
	case llmAuto, llmOllama, llmNone:
	default:
		return fmt.Errorf("--llm must be auto, ollama or none, not %q", c.LLM)
	}
	if c.AnswerTimeout < 100*time.Millisecond || c.AnswerTimeout > 10*time.Minute {
		return fmt.Errorf("--answer-timeout must be between 100ms and 10m, not %s", c.AnswerTimeout)
	}
	if c.MaxGenerations < 1 || c.MaxGenerations > 256 {
		return fmt.Errorf("--max-generations must be between 1 and 256, not %d", c.MaxGenerations)
	}
	u, err := chat.OllamaURL(c.OllamaHost)
	if err != nil {
		return fmt.Errorf("--ollama-host: %w", err)
	}
	c.ollamaURL = u
	return nil
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
	var status chat.Status
	if c.LLM != llmNone {
		llm, err := chat.NewOllama(chat.OllamaConfig{BaseURL: c.ollamaURL, ChatModel: c.ChatModel, EmbedModel: c.EmbedModel,
			MaxGenerations: c.MaxGenerations, QueueSize: 8 * c.MaxGenerations, NumPredict: c.MaxTokens,
			RecheckInterval: c.recheck})
		if err != nil {
			return nil, err
		}
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		status = llm.Probe(pctx)
		cancel()
		reportOllama(log, status)
		switch {
		case c.LLM == llmOllama && !status.Reachable:
			return nil, fmt.Errorf("--llm ollama: Ollama at %s is not reachable (%s); start it with `ollama serve`, or use --llm auto or none", status.URL, status.Err)
		case c.LLM == llmOllama && !status.ChatModelPresent:
			return nil, fmt.Errorf("--llm ollama: model %q is not in Ollama; run: ollama pull %s", c.ChatModel, c.ChatModel)
		case !status.Reachable:
			llm.MarkDown(status.Err)
		case !status.ChatModelPresent:
			llm.MarkDown(fmt.Sprintf("model %q not found; run: ollama pull %s", c.ChatModel, c.ChatModel))
		}
		llm.Start()
		a.llm = llm
	}
	cfg := chat.Config{
		Retriever: ix,
		Extract:   ix.Extract,
		Memory:    st,
		LiveChat:  live,
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

// reportOllama logs what the start-up probe found, with the exact
// commands that fix a missing model.
func reportOllama(log *slog.Logger, s chat.Status) {
	if !s.Reachable {
		log.Warn("ollama not reachable; answering with the built-in extractive answerer and checking again in the background",
			"ollama_url", s.URL, "reason", s.Err)
		return
	}
	log.Info("ollama reachable", "ollama_url", s.URL, "version", s.Version,
		"chat_model", s.ChatModel, "chat_model_present", s.ChatModelPresent,
		"embed_model", s.EmbedModel, "embed_model_present", s.EmbedModelPresent)
	for _, cmd := range s.Missing() {
		log.Warn("ollama model missing; run: "+cmd, "command", cmd)
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
	o, ok := emb.(*embed.Ollama)
	if !ok {
		return emb, nil
	}
	info, err := st.KnowledgeIndexInfo()
	if err != nil || info.Provider != "ollama" || info.Model != o.Info().Model || info.Dimension == 0 {
		return emb, nil
	}
	return knownDim{o, info.Dimension}, nil
}

// knownDim is an Ollama embedder whose dimension is known from the index.
type knownDim struct {
	*embed.Ollama
	dim int
}

func (k knownDim) Info() embed.Info {
	i := k.Ollama.Info()
	i.Dimension = k.dim
	return i
}

// readyz says whether the service can answer, and how: the LLM's state
// ("ok", "down" with the reason, or "disabled") and the knowledge base's
// size. It answers 200 while the service can answer at all, since an
// Ollama that is down only degrades answers to extractive ones; status
// says "degraded" then. /healthz stays the cheap liveness check.
func (a *app) readyz(w http.ResponseWriter, _ *http.Request) {
	llm := a.answer.state()
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
