package embed

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/chatbot/chatbot/llm"
)

// OpenAI embeds texts with the /embeddings endpoint of one or more
// OpenAI-compatible servers (vLLM, llama.cpp's server with --embeddings,
// TGI/TEI, LM Studio, Ollama's /v1, hosted APIs), in batches spread like
// Ollama's.
type OpenAI struct {
	clients   []*openai.Client
	pool      *llm.Pool
	model     string
	batch     int
	keySource string

	dim dimension
}

// NewOpenAI returns an embedder using model on the servers at bases (from
// llm.OpenAIBaseURL) with apiKey (keySource says where it came from, for a
// 401). batch <= 0 means DefaultOllamaBatch.
func NewOpenAI(bases []*url.URL, apiKey, keySource, model string, batch int, hc *http.Client) (*OpenAI, error) {
	if model == "" {
		return nil, fmt.Errorf("openai embeddings: the model name is empty; set --embed-model")
	}
	if batch <= 0 {
		batch = DefaultOllamaBatch
	}
	if hc == nil {
		hc = &http.Client{Timeout: 5 * time.Minute}
	}
	names := make([]string, len(bases))
	clients := make([]*openai.Client, len(bases))
	for i, b := range bases {
		names[i] = b.String()
		clients[i] = llm.NewOpenAIClient(b, apiKey, hc)
	}
	pool, err := llm.New(llm.Config{URLs: names, Limit: 1 << 20, FailureThreshold: 1, RecheckInterval: 5 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("openai embeddings: %w", err)
	}
	return &OpenAI{clients: clients, pool: pool, model: model, batch: batch, keySource: keySource}, nil
}

// Info reports provider "openai", the model and the dimension (0 until
// the first successful call).
func (o *OpenAI) Info() Info {
	return Info{Provider: "openai", Model: o.model, Dimension: o.dim.get()}
}

// Hosts returns each server's state and counters.
func (o *OpenAI) Hosts() []llm.HostStats { return o.pool.Stats() }

// Probe embeds one short text to check the server and the model and to
// learn the dimension.
func (o *OpenAI) Probe(ctx context.Context) (Info, error) {
	if _, err := o.Embed(ctx, []string{"probe"}); err != nil {
		return Info{}, err
	}
	return o.Info(), nil
}

// Embed sends the texts in batches and returns one normalised vector per
// text, in order (the response is put in order by its indexes).
func (o *OpenAI) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	who := "openai embed with " + o.model
	return embedInBatches(ctx, who, &o.dim, o.batch, texts, func(ctx context.Context, batch []string) ([][]float32, error) {
		var resp openai.EmbeddingResponse
		err := spread(ctx, o.pool, func(i int) error {
			var ra time.Duration
			var err error
			resp, err = o.clients[i].CreateEmbeddings(llm.WithRetryAfter(ctx, &ra),
				openai.EmbeddingRequestStrings{Input: batch, Model: openai.EmbeddingModel(o.model)})
			if err != nil {
				return fmt.Errorf("%s: %w", who, llm.OpenAIError(err, ra, o.keySource))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// The response says each vector's index; put them in order.
		if len(resp.Data) != len(batch) {
			return nil, fmt.Errorf("%s returned %d embeddings for %d texts", who, len(resp.Data), len(batch))
		}
		vs := make([][]float32, len(batch))
		for _, d := range resp.Data {
			if d.Index < 0 || d.Index >= len(batch) || vs[d.Index] != nil {
				return nil, fmt.Errorf("%s returned a bad or repeated index %d", who, d.Index)
			}
			vs[d.Index] = d.Embedding
		}
		return vs, nil
	})
}
