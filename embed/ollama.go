package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/llm"
)

// DefaultOllamaModel is the embedding model used when none is configured.
const DefaultOllamaModel = "nomic-embed-text"

// DefaultOllamaBatch is how many texts go into one /api/embed request.
const DefaultOllamaBatch = 32

// ErrModelMissing means Ollama does not have the model; the message says
// how to get it.
var ErrModelMissing = errors.New("embedding model not available in Ollama")

// ErrUnreachable means Ollama could not be reached at all.
var ErrUnreachable = errors.New("ollama is not reachable")

// Ollama embeds texts with the /api/embed endpoint of one or more Ollama
// servers, in batches: each batch goes to the healthy server with the
// fewest calls in flight (llm.Pool), and a batch that fails on one server
// is sent once to another. Its dimension is learnt from the first answer
// (or Probe).
type Ollama struct {
	clients []*api.Client
	pool    *llm.Pool
	model   string
	batch   int

	dim dimension
}

// NewOllama returns an embedder using model on the server behind client
// (api.ClientFromEnvironment reads OLLAMA_HOST as Ollama's own tools do).
// An empty model means DefaultOllamaModel; batch <= 0 means DefaultOllamaBatch.
func NewOllama(client *api.Client, model string, batch int) *Ollama {
	return NewOllamaHosts([]*api.Client{client}, []string{"ollama"}, model, batch)
}

// NewOllamaHosts is NewOllama over several servers; names label them in
// the pool's statistics. A server that fails is skipped for 5 s, then
// tried again by the next batch.
func NewOllamaHosts(clients []*api.Client, names []string, model string, batch int) *Ollama {
	if model == "" {
		model = DefaultOllamaModel
	}
	if batch <= 0 {
		batch = DefaultOllamaBatch
	}
	// No probe: an embedder has no lifecycle to run a checker in; the
	// pool lets a batch try a failed host again after RecheckInterval.
	pool, _ := llm.New(llm.Config{URLs: names, Limit: 1 << 20, FailureThreshold: 1, RecheckInterval: 5 * time.Second})
	return &Ollama{clients: clients, pool: pool, model: model, batch: batch}
}

// Hosts returns each server's state and counters.
func (o *Ollama) Hosts() []llm.HostStats { return o.pool.Stats() }

// Info reports provider "ollama", the model and the dimension (0 until the
// first successful call).
func (o *Ollama) Info() Info {
	return Info{Provider: "ollama", Model: o.model, Dimension: o.dim.get()}
}

// Probe embeds one short text to check that the server and the model are
// there and to learn the dimension.
func (o *Ollama) Probe(ctx context.Context) (Info, error) {
	if _, err := o.Embed(ctx, []string{"probe"}); err != nil {
		return Info{}, err
	}
	return o.Info(), nil
}

// Embed sends the texts in batches and returns one normalised vector per
// text. Empty texts are refused before any request is made.
func (o *Ollama) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	return embedInBatches(ctx, "ollama "+o.model, &o.dim, o.batch, texts, func(ctx context.Context, batch []string) ([][]float32, error) {
		var resp *api.EmbedResponse
		err := spread(ctx, o.pool, func(i int) error {
			var err error
			resp, err = o.clients[i].Embed(ctx, &api.EmbedRequest{Model: o.model, Input: batch})
			if err != nil {
				return o.explain(err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return resp.Embeddings, nil
	})
}

// explain turns the client's errors into messages an operator can act on.
func (o *Ollama) explain(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("ollama embed with %s: %w", o.model, err)
	}
	var se api.StatusError
	if errors.As(err, &se) {
		msg := strings.ToLower(se.ErrorMessage)
		if se.StatusCode == http.StatusNotFound || strings.Contains(msg, "not found") || strings.Contains(msg, "pull") {
			return fmt.Errorf("%w: model %q (%s); run: ollama pull %s", ErrModelMissing, o.model, se.ErrorMessage, o.model)
		}
		return fmt.Errorf("ollama embed with %s: HTTP %d: %s", o.model, se.StatusCode, se.ErrorMessage)
	}
	var ae api.AuthorizationError
	if errors.As(err, &ae) {
		return fmt.Errorf("ollama embed with %s: unauthorized: %w", o.model, err)
	}
	return fmt.Errorf("%w (%v); start it with `ollama serve`, set OLLAMA_HOST, or use the built-in embedder (--embedder builtin)", ErrUnreachable, err)
}

func normalise(v []float32) ([]float32, bool) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 || math.IsNaN(sum) || math.IsInf(sum, 0) {
		return nil, false
	}
	n := math.Sqrt(sum)
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / n)
	}
	return out, true
}
