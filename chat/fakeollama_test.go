package chat

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ollama/ollama/api"
)

// fakeOllama is an httptest server speaking the part of Ollama's HTTP API
// we use, with a switchable failure mode.
type fakeOllama struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	mode     string // ok, 500, 404, hang, half, empty, leak, tools
	answer   string
	rewrite  string // answer to question-rewrite requests; "" = answer
	models   []string
	requests []api.ChatRequest
	arrived  chan struct{} // gets a value when a chat request arrives (if set)
	release  chan struct{} // closed at cleanup: frees hanging handlers
}

func newFakeOllama(t testing.TB) *fakeOllama {
	t.Helper()
	f := &fakeOllama{t: t, mode: "ok", answer: "You can get a refund within 30 days [1].",
		models: []string{"llama3.2:latest"}, release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/version", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, map[string]string{"version": "0.6.5"})
	})
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		var list api.ListResponse
		for _, m := range f.models {
			list.Models = append(list.Models, api.ListModelResponse{Name: m, Model: m})
		}
		writeJSON(w, 200, list)
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, _ *http.Request) {
		switch f.currentMode() {
		case "404":
			writeJSON(w, 404, map[string]string{"error": "model 'llama3.2' not found"})
		case "500":
			writeJSON(w, 500, map[string]string{"error": "boom"})
		default:
			writeJSON(w, 200, map[string]any{"modelfile": "FROM x"})
		}
	})
	mux.HandleFunc("POST /api/chat", f.chat)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeOllama) url() *url.URL {
	u, _ := url.Parse(f.srv.URL)
	return u
}

func (f *fakeOllama) setMode(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

func (f *fakeOllama) currentMode() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode
}

func (f *fakeOllama) chatRequests() []api.ChatRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]api.ChatRequest(nil), f.requests...)
}

func (f *fakeOllama) chat(w http.ResponseWriter, r *http.Request) {
	var req api.ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("fake ollama: bad chat request: %v", err)
		writeJSON(w, 400, map[string]string{"error": "bad request"})
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	mode, answer, arrived := f.mode, f.answer, f.arrived
	if f.rewrite != "" && strings.HasPrefix(req.Messages[0].Content, "Rewrite") {
		answer = f.rewrite
	}
	f.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	chunk := func(content string, done bool) {
		_ = json.NewEncoder(w).Encode(api.ChatResponse{Model: req.Model, Message: api.Message{Role: "assistant", Content: content}, Done: done})
		w.(http.Flusher).Flush()
	}
	switch mode {
	case "500":
		writeJSON(w, 500, map[string]string{"error": "llama runner process has terminated"})
	case "404":
		writeJSON(w, 404, map[string]string{"error": "model \"" + req.Model + "\" not found, try pulling it first"})
	case "hang":
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	case "half":
		w.Header().Set("Content-Type", "application/x-ndjson")
		chunk("You can get a", false)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case "empty":
		chunk("  ", false)
		chunk("", true)
	case "leak":
		chunk(req.Messages[0].Content, true)
	case "tools": // Ollama sends a call whole, in one line
		args := api.NewToolCallFunctionArguments()
		args.Set("order_id", "A-17")
		_ = json.NewEncoder(w).Encode(api.ChatResponse{Model: req.Model, Message: api.Message{Role: "assistant",
			ToolCalls: []api.ToolCall{{ID: "call_1", Function: api.ToolCallFunction{Name: "lookup_order", Arguments: args}}}}})
		chunk("", true)
	default:
		w.Header().Set("Content-Type", "application/x-ndjson")
		words := strings.SplitAfter(answer, " ")
		for i, wd := range words {
			chunk(wd, i == len(words)-1)
		}
	}
}

// refusingURL is an address nothing listens on.
func refusingURL(t *testing.T) *url.URL {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return &url.URL{Scheme: "http", Host: addr}
}

// faultyOllama is a client of a fake Ollama in the given fault mode
// ("refuse": an address that refuses connections).
func faultyOllama(t *testing.T, mode string) *Client {
	t.Helper()
	f := newFakeOllama(t)
	f.setMode(mode)
	u := f.url()
	if mode == "refuse" {
		u = refusingURL(t)
	}
	return newTestOllama(t, u, nil)
}
