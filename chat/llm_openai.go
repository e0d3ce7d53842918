package chat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	openai "github.com/sashabaranov/go-openai"

	"github.com/chatbot/chatbot/llm"
)

// OpenAIConfig configures the client of OpenAI-compatible servers: vLLM,
// llama.cpp's server, LM Studio, TGI, Ollama's /v1, hosted APIs. The
// fields past HTTPClient mean what they mean in OllamaConfig.
type OpenAIConfig struct {
	// BaseURLs are the servers (from llm.OpenAIBaseURL, e.g.
	// http://127.0.0.1:8000/v1); each call goes to the healthy one with
	// the fewest generations in flight.
	BaseURLs []*url.URL
	APIKey   string // sent as a bearer token; may be empty for local servers
	// KeySource says where APIKey came from, for the 401 message.
	KeySource  string
	ChatModel  string
	EmbedModel string // only reported on in Probe
	HTTPClient *http.Client

	MaxGenerations   int
	QueueSize        int
	NumPredict       int
	Temperature      float64
	FailureThreshold int
	RecheckInterval  time.Duration
	ProbeTimeout     time.Duration
	MaxAnswerBytes   int
}

// NewOpenAI returns a client of one or more OpenAI-compatible servers,
// with the same queue, breakers, retry and counters as NewOllama's.
func NewOpenAI(cfg OpenAIConfig) (*Client, error) {
	if len(cfg.BaseURLs) == 0 {
		return nil, errors.New("openai: no server URL configured (--llm-url)")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = DefaultHTTPClient()
	}
	t := tuning{mode: "openai", model: cfg.ChatModel, maxGenerations: cfg.MaxGenerations, queueSize: cfg.QueueSize,
		numPredict: cfg.NumPredict, temperature: cfg.Temperature, failureThreshold: cfg.FailureThreshold,
		recheck: cfg.RecheckInterval, probeTimeout: cfg.ProbeTimeout, maxAnswerBytes: cfg.MaxAnswerBytes}
	t.defaults()
	names := make([]string, len(cfg.BaseURLs))
	backends := make([]backend, len(cfg.BaseURLs))
	for i, u := range cfg.BaseURLs {
		names[i] = u.String()
		backends[i] = &openaiBackend{t: t, base: u, keySource: cfg.KeySource, embedModel: cfg.EmbedModel,
			client: llm.NewOpenAIClient(u, cfg.APIKey, cfg.HTTPClient)}
	}
	return newClient(t, names, backends)
}

// openaiBackend is one OpenAI-compatible server, through
// /chat/completions with streaming.
type openaiBackend struct {
	t          tuning
	base       *url.URL
	keySource  string
	embedModel string
	client     *openai.Client
}

func (o *openaiBackend) describe(err error) string {
	return describe(err, o.t.model, "check --chat-model against the models the server at "+o.base.String()+" serves")
}

// call runs f with Retry-After recorded and converts its error.
func (o *openaiBackend) call(ctx context.Context, f func(ctx context.Context) error) error {
	var ra time.Duration
	err := f(llm.WithRetryAfter(ctx, &ra))
	if err == nil {
		return nil
	}
	return llm.OpenAIError(err, ra, o.keySource)
}

func (o *openaiBackend) probe(ctx context.Context) error {
	return o.call(ctx, func(ctx context.Context) error {
		_, err := o.client.ListModels(ctx)
		return err
	})
}

func (o *openaiBackend) status(ctx context.Context) Status {
	st := Status{Mode: "openai", URL: o.base.String(), ChatModel: o.t.model, EmbedModel: o.embedModel}
	var list openai.ModelsList
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		list, err = o.client.ListModels(ctx)
		return err
	})
	if err != nil {
		st.Err = o.describe(err)
		return st
	}
	st.Reachable = true
	for _, m := range list.Models {
		st.ChatModelPresent = st.ChatModelPresent || m.ID == o.t.model
		st.EmbedModelPresent = st.EmbedModelPresent || (o.embedModel != "" && m.ID == o.embedModel)
	}
	return st
}

// openaiMessages converts the engine's messages, tool calls and results
// included.
func openaiMessages(msgs []api.Message) []openai.ChatCompletionMessage {
	out := make([]openai.ChatCompletionMessage, 0, len(msgs))
	for _, m := range msgs {
		om := openai.ChatCompletionMessage{Role: m.Role, Content: m.Content, ToolCallID: m.ToolCallID}
		if m.Role == "tool" && m.ToolName != "" {
			om.Name = m.ToolName
		}
		for _, tc := range m.ToolCalls {
			om.ToolCalls = append(om.ToolCalls, openai.ToolCall{ID: tc.ID, Type: openai.ToolTypeFunction,
				Function: openai.FunctionCall{Name: tc.Function.Name, Arguments: tc.Function.Arguments.String()}})
		}
		out = append(out, om)
	}
	return out
}

func (o *openaiBackend) generate(ctx context.Context, msgs []api.Message, tools []Tool, emit func(string)) (Generation, error) {
	req := openai.ChatCompletionRequest{
		Model:       o.t.model,
		Messages:    openaiMessages(msgs),
		MaxTokens:   o.t.numPredict, // max_tokens: what every compatible server reads
		Temperature: float32(o.t.temperature),
		Stream:      true,
	}
	for _, tl := range tools {
		params := tl.Parameters
		if len(params) == 0 {
			params = []byte(`{"type":"object","properties":{}}`)
		}
		req.Tools = append(req.Tools, openai.Tool{Type: openai.ToolTypeFunction,
			Function: &openai.FunctionDefinition{Name: tl.Name, Description: tl.Description, Parameters: params}})
	}
	fail := func(err error) (Generation, error) {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%w)", ctx.Err(), err)
		}
		return Generation{}, fmt.Errorf("openai chat with %s at %s: %w", o.t.model, o.base, err)
	}
	var stream *openai.ChatCompletionStream
	err := o.call(ctx, func(ctx context.Context) error {
		var err error
		stream, err = o.client.CreateChatCompletionStream(ctx, req)
		return err
	})
	if err != nil {
		return fail(err)
	}
	defer stream.Close()

	col := collect{maxBytes: o.t.maxAnswerBytes}
	calls := map[int]*ToolCall{} // by index: arguments arrive in pieces
	var args = map[int]*strings.Builder{}
	finished := false
	for !col.full {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() == nil {
				err = fmt.Errorf("%w: %w", ErrLLMIncomplete, llm.OpenAIError(err, 0, o.keySource))
			}
			return fail(err)
		}
		for _, ch := range resp.Choices {
			if ch.Index != 0 {
				continue
			}
			if ch.Delta.Content != "" && col.add(ch.Delta.Content) {
				emit(ch.Delta.Content)
			}
			for _, tc := range ch.Delta.ToolCalls {
				idx := 0
				if tc.Index != nil {
					idx = *tc.Index
				}
				c := calls[idx]
				if c == nil {
					c, args[idx] = &ToolCall{}, &strings.Builder{}
					calls[idx] = c
				}
				if tc.ID != "" {
					c.ID = tc.ID
				}
				if tc.Function.Name != "" {
					c.Name = tc.Function.Name
				}
				args[idx].WriteString(tc.Function.Arguments)
			}
			finished = finished || ch.FinishReason != ""
		}
	}
	if !finished && !col.full {
		// The body ended without a finish_reason: the server or a proxy
		// cut the stream.
		return fail(ErrLLMIncomplete)
	}
	g := Generation{Text: strings.TrimSpace(col.b.String())}
	idxs := make([]int, 0, len(calls))
	for i := range calls {
		idxs = append(idxs, i)
	}
	sort.Ints(idxs)
	for _, i := range idxs {
		c := calls[i]
		c.Arguments = []byte(args[i].String())
		if len(c.Arguments) == 0 {
			c.Arguments = []byte("{}")
		}
		g.ToolCalls = append(g.ToolCalls, *c)
	}
	return g, nil
}
