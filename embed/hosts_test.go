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

	"github.com/ollama/ollama/api"
	openai "github.com/sashabaranov/go-openai"

	"github.com/chatbot/chatbot/llm"
)

// Batches are spread over the servers; a server that refuses connections
// is skipped, the batch sent to the other, and the call succeeds.
func TestOllamaHostsSpreadAndSkipADeadOne(t *testing.T) {
	a := &fakeOllama{models: map[string]bool{"m": true}, dim: 4}
	b := &fakeOllama{models: map[string]bool{"m": true}, dim: 4}
	ca, cb := newFake(t, a), newFake(t, b)
	o := NewOllamaHosts([]*api.Client{ca, cb}, []string{"a", "b"}, "m", 1)
	// Concurrent batches each go to the least busy host (which one is up
	// to the scheduler; llm's tests pin the choice): all are answered.
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if _, err := o.Embed(context.Background(), []string{"x", "yy"}); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	hs := o.Hosts()
	if hs[0].Calls+hs[1].Calls != 16 || hs[0].Errors+hs[1].Errors != 0 {
		t.Fatalf("hosts = %+v", hs)
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	dead, _ := url.Parse(srv.URL)
	srv.Close()
	o = NewOllamaHosts([]*api.Client{api.NewClient(dead, http.DefaultClient), cb}, []string{"dead", "b"}, "m", 1)
	before := b.requests
	vs, err := o.Embed(context.Background(), []string{"x", "yy", "zzz"})
	if err != nil || len(vs) != 3 {
		t.Fatalf("%d vectors, err %v", len(vs), err)
	}
	hs = o.Hosts()
	if hs[0].State != "down" || hs[0].Calls != 1 || hs[1].Calls != 3 || b.requests-before != 3 {
		t.Fatalf("hosts = %+v; b answered %d", hs, b.requests-before)
	}
}

// fakeOpenAIEmbed answers /v1/embeddings with the vectors in reverse
// order (indexes say where each goes), or a status.
type fakeOpenAIEmbed struct {
	mu       sync.Mutex
	status   int
	requests []openai.EmbeddingRequest
}

func (f *fakeOpenAIEmbed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/embeddings" {
		http.NotFound(w, r)
		return
	}
	var req openai.EmbeddingRequest
	json.NewDecoder(r.Body).Decode(&req)
	f.mu.Lock()
	f.requests = append(f.requests, req)
	status := f.status
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Incorrect API key provided", "type": "invalid_request_error"}})
		return
	}
	in, _ := req.Input.([]any)
	resp := openai.EmbeddingResponse{Model: req.Model}
	for i := len(in) - 1; i >= 0; i-- {
		s, _ := in[i].(string)
		resp.Data = append(resp.Data, openai.Embedding{Index: i, Embedding: []float32{float32(len(s)), 0, 0}})
	}
	json.NewEncoder(w).Encode(resp)
}

func TestOpenAIEmbedder(t *testing.T) {
	f := &fakeOpenAIEmbed{}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	base, err := llm.OpenAIBaseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	o, err := NewOpenAI([]*url.URL{base}, "sk-x", "CHATBOT_LLM_API_KEY", "text-embedding-3-small", 2, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := o.Embed(context.Background(), []string{"a", "bb", "ccc"})
	if err != nil {
		t.Fatal(err)
	}
	// Every vector is (len, 0, 0) normalised: (1, 0, 0), in input order.
	if len(vs) != 3 || vs[0][0] != 1 || vs[2][0] != 1 || len(f.requests) != 2 || f.requests[0].Model != "text-embedding-3-small" {
		t.Fatalf("vectors %v, requests %+v", vs, f.requests)
	}
	if info := o.Info(); info != (Info{Provider: "openai", Model: "text-embedding-3-small", Dimension: 3}) {
		t.Fatalf("info = %+v", info)
	}
	f.status = 401
	o2, _ := NewOpenAI([]*url.URL{base}, "sk-bad", "CHATBOT_LLM_API_KEY_FILE (/run/key)", "m", 0, srv.Client())
	_, err = o2.Probe(context.Background())
	var he *llm.HTTPError
	if !errors.As(err, &he) || he.Status != 401 || !strings.Contains(err.Error(), "CHATBOT_LLM_API_KEY_FILE (/run/key)") {
		t.Fatalf("err = %v", err)
	}
}
