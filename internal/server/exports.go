package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/rag"
	"github.com/chatbot/chatbot/store"
)

// What the command line uses beside New and Run: the pieces that `ask`,
// `ingest`, `eval` and `doctor` build without a server, and the flag
// checks. They keep their unexported names inside the package.

// AnswerConfig configures the conversation engine and its LLM client.
type AnswerConfig = answerConfig

// Answering is the engine and what it runs on.
type Answering = answering

// OpenAIServers are OpenAI-compatible base URLs and the API key.
type OpenAIServers = openaiServers

// The modes of --llm.
const (
	LLMAuto   = llmAuto
	LLMOllama = llmOllama
	LLMOpenAI = llmOpenAI
	LLMNone   = llmNone
)

// Finish fills the zero values with the flags' defaults and validates.
func (c *answerConfig) Finish() error { return c.finish() }

// OllamaURLs are the Ollama servers, parsed by Finish.
func (c *answerConfig) OllamaURLs() []*url.URL { return c.ollamaURLs }

// LLMURLs are the OpenAI-compatible servers, parsed by Finish.
func (c *answerConfig) LLMURLs() []*url.URL { return c.llmURLs }

// OllamaHosts is the Ollama servers as a comma-separated list of URLs.
func (c *answerConfig) OllamaHosts() string { return c.ollamaHosts() }

// OpenAI is the OpenAI-compatible servers for embeddings (nil unless
// --llm openai).
func (c *answerConfig) OpenAI() *OpenAIServers { return c.openaiServers() }

// ParseLLMURLs parses a comma-separated list of OpenAI-compatible base URLs.
func ParseLLMURLs(s string) ([]*url.URL, error) { return parseLLMURLs(s) }

// SplitList splits a comma-separated list, dropping blanks.
func SplitList(s string) []string { return splitList(s) }

// NewAnswering probes the LLM servers (and reports what it finds) and
// builds the engine over the knowledge index ix. live may be nil.
func NewAnswering(ctx context.Context, c AnswerConfig, st *store.Store, ix *rag.Index, log *slog.Logger, live chat.LiveChat) (*Answering, error) {
	return newAnswering(ctx, c, st, ix, log, live)
}

// Engine is the conversation engine.
func (a *answering) Engine() *chat.Engine { return a.engine }

// LLM is the LLM client; nil with --llm none.
func (a *answering) LLM() *chat.Client { return a.llm }

// State is the LLM's state, as /readyz reports it.
func (a *answering) State() chat.LLMState { return a.state() }

// Close stops the LLM client's background checker.
func (a *answering) Close(ctx context.Context) error { return a.close(ctx) }

// ChooseEmbedder picks the embedder (see chooseEmbedder).
func ChooseEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k EmbedderChoice) (embed.Embedder, error) {
	return chooseEmbedder(ctx, ollamaHost, st, k)
}

// IndexEmbedder is ChooseEmbedder made to open a model server's index while
// the server is down (see indexEmbedder).
func IndexEmbedder(ctx context.Context, ollamaHost string, st *store.Store, k EmbedderChoice) (embed.Embedder, error) {
	return indexEmbedder(ctx, ollamaHost, st, k)
}

// OllamaClient is the Ollama API client for host, an OLLAMA_HOST value.
func OllamaClient(host string, hc *http.Client) (*api.Client, error) { return ollamaClient(host, hc) }
