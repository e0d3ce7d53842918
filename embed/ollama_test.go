package embed

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ollama/ollama/api"
)

// fakeOllama speaks Ollama's /api/embed: each text becomes a 4-dimension
// vector derived from its length. failAfter > 0 answers HTTP 500 from that
// request on; models lists the pulled models.
type fakeOllama struct {
	mu        sync.Mutex
	requests  int
	batches   []int
	failAfter int
	models    map[string]bool
	dim       int
}

func (f *fakeOllama) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/embed" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	var req api.EmbedRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	n := f.requests
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !f.models[req.Model] {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": `model "` + req.Model + `" not found, try pulling it first`})
		return
	}
	if f.failAfter > 0 && n >= f.failAfter {
		w.WriteHeader(http.StatusInternalServerError)
		json.NewEncoder(w).Encode(map[string]string{"error": "llama runner process has terminated"})
		return
	}
	inputs, _ := req.Input.([]any)
	f.mu.Lock()
	f.batches = append(f.batches, len(inputs))
	dim := f.dim
	f.mu.Unlock()
	resp := api.EmbedResponse{Model: req.Model}
	for _, in := range inputs {
		s, _ := in.(string)
		v := make([]float32, dim)
		v[0], v[1] = float32(len(s)), 3
		resp.Embeddings = append(resp.Embeddings, v)
	}
	json.NewEncoder(w).Encode(resp)
}

func newFake(t *testing.T, f *fakeOllama) *api.Client {
	t.Helper()
	if f.dim == 0 {
		f.dim = 4
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return api.NewClient(u, srv.Client())
}

func TestOllamaBatchesAndNormalises(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{"nomic-embed-text": true}}
	o := NewOllama(newFake(t, f), "", 2)
	if o.Info().Dimension != 0 {
		t.Fatal("dimension known before any call")
	}
	vs, err := o.Embed(context.Background(), []string{"a", "bb", "ccc", "dddd", "eeeee"})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.batches; len(got) != 3 || got[0] != 2 || got[1] != 2 || got[2] != 1 {
		t.Fatalf("batches = %v, want [2 2 1]", got)
	}
	if len(vs) != 5 {
		t.Fatalf("%d vectors", len(vs))
	}
	// "ccc" -> (3, 3, 0, 0) normalised -> (0.7071, 0.7071, 0, 0)
	if d := vs[2][0] - 0.70710677; d > 1e-6 || d < -1e-6 || vs[2][0] != vs[2][1] {
		t.Fatalf("vector = %v", vs[2])
	}
	if info := o.Info(); info != (Info{Provider: "ollama", Model: "nomic-embed-text", Dimension: 4}) {
		t.Fatalf("Info = %+v", info)
	}
}

func TestOllamaMissingModelSaysPull(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{}}
	_, err := NewOllama(newFake(t, f), "mxbai-embed-large", 0).Probe(context.Background())
	if !errors.Is(err, ErrModelMissing) || !strings.Contains(err.Error(), "ollama pull mxbai-embed-large") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaErrorMidway(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{"m": true}, failAfter: 2}
	_, err := NewOllama(newFake(t, f), "m", 1).Embed(context.Background(), []string{"a", "b", "c"})
	if err == nil || !strings.Contains(err.Error(), "HTTP 500") || !strings.Contains(err.Error(), "llama runner") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u, _ := url.Parse(srv.URL)
	srv.Close() // nothing listens there now
	_, err := NewOllama(api.NewClient(u, &http.Client{Timeout: 2 * time.Second}), "m", 0).Embed(context.Background(), []string{"x"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "ollama serve") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaRefusesEmptyTextWithoutCalling(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{"m": true}}
	_, err := NewOllama(newFake(t, f), "m", 0).Embed(context.Background(), []string{"ok", " "})
	if !errors.Is(err, ErrEmptyText) || f.requests != 0 {
		t.Fatalf("err = %v after %d requests", err, f.requests)
	}
}

func TestOllamaDimensionChange(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{"m": true}}
	o := NewOllama(newFake(t, f), "m", 0)
	if _, err := o.Embed(context.Background(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.dim = 8
	f.mu.Unlock()
	if _, err := o.Embed(context.Background(), []string{"x"}); err == nil || !strings.Contains(err.Error(), "dimension 8 after 4") {
		t.Fatalf("err = %v", err)
	}
}

func TestOllamaCancelled(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	u, _ := url.Parse(srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewOllama(api.NewClient(u, srv.Client()), "m", 0).Embed(ctx, []string{"x"})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// Ollama gone between two batches of one call (connections refused, not an
// HTTP error): the call fails as unreachable and returns no vectors.
func TestOllamaConnectionRefusedMidway(t *testing.T) {
	f := &fakeOllama{models: map[string]bool{"m": true}, dim: 4}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.Listener.Close() // this is the last request it answers
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	vs, err := NewOllama(api.NewClient(u, hc), "m", 2).Embed(context.Background(), []string{"a", "b", "c"})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") || vs != nil {
		t.Fatalf("vectors %v, err = %v", vs, err)
	}
	if f.requests != 1 || len(f.batches) != 1 || f.batches[0] != 2 {
		t.Fatalf("%d requests, batches %v; want the first batch of 2 only", f.requests, f.batches)
	}
}
