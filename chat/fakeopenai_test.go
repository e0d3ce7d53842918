package chat

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	openai "github.com/sashabaranov/go-openai"

	"github.com/chatbot/chatbot/llm"
)

// fakeOpenAI is an httptest server speaking the part of the OpenAI API
// the client uses (/v1/models, streamed /v1/chat/completions), with the
// fault modes of fakeOllama and those of hosted APIs: 429 with
// Retry-After, 401, a first token that never comes, a stream cut without
// its end, tool calls.
type fakeOpenAI struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	mode     string // ok, 500, 404, hang, half, empty, leak, 429, 401, slowfirst, cut, tools
	answer   string
	models   []string
	requests []openai.ChatCompletionRequest
	auth     []string      // Authorization headers seen
	arrived  chan struct{} // gets a value when a chat request arrives (if set)
	release  chan struct{}
}

func newFakeOpenAI(t testing.TB) *fakeOpenAI {
	t.Helper()
	f := &fakeOpenAI{t: t, mode: "ok", answer: "You can get a refund within 30 days [1].",
		models: []string{"llama3.2"}, release: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", func(w http.ResponseWriter, _ *http.Request) {
		switch f.currentMode() {
		case "401":
			openaiErr(w, 401, "Incorrect API key provided", "invalid_api_key")
			return
		case "500":
			openaiErr(w, 500, "boom", "")
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		list := openai.ModelsList{}
		for _, m := range f.models {
			list.Models = append(list.Models, openai.Model{ID: m, Object: "model"})
		}
		writeJSON(w, 200, list)
	})
	mux.HandleFunc("POST /v1/chat/completions", f.chat)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func openaiErr(w http.ResponseWriter, status int, msg, code string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": "error", "code": code}})
}

func (f *fakeOpenAI) url() *url.URL {
	u, err := llm.OpenAIBaseURL(f.srv.URL)
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

func (f *fakeOpenAI) setMode(m string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = m
}

func (f *fakeOpenAI) currentMode() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode
}

func (f *fakeOpenAI) chatRequests() []openai.ChatCompletionRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]openai.ChatCompletionRequest(nil), f.requests...)
}

func (f *fakeOpenAI) chat(w http.ResponseWriter, r *http.Request) {
	var req openai.ChatCompletionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Errorf("fake openai: bad chat request: %v", err)
		openaiErr(w, 400, "bad request", "")
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	mode, answer, arrived := f.mode, f.answer, f.arrived
	f.mu.Unlock()
	if arrived != nil {
		arrived <- struct{}{}
	}
	sse := func() {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
	}
	chunk := func(delta openai.ChatCompletionStreamChoiceDelta, finish string) {
		b, _ := json.Marshal(openai.ChatCompletionStreamResponse{ID: "chatcmpl-1", Object: "chat.completion.chunk", Model: req.Model,
			Choices: []openai.ChatCompletionStreamChoice{{Index: 0, Delta: delta, FinishReason: openai.FinishReason(finish)}}})
		fmt.Fprintf(w, "data: %s\n\n", b)
		w.(http.Flusher).Flush()
	}
	done := func() {
		fmt.Fprint(w, "data: [DONE]\n\n")
		w.(http.Flusher).Flush()
	}
	text := func(s string) openai.ChatCompletionStreamChoiceDelta {
		return openai.ChatCompletionStreamChoiceDelta{Content: s}
	}
	switch mode {
	case "500":
		openaiErr(w, 500, "llama runner process has terminated", "")
	case "404":
		openaiErr(w, 404, "The model `"+req.Model+"` does not exist.", "model_not_found")
	case "401":
		openaiErr(w, 401, "Incorrect API key provided", "invalid_api_key")
	case "429":
		w.Header().Set("Retry-After", "7")
		openaiErr(w, 429, "Rate limit reached", "rate_limit_exceeded")
	case "hang":
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	case "slowfirst": // headers at once, then no token before the deadline
		sse()
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	case "half": // a token, then the connection is reset
		sse()
		chunk(text("You can get a"), "")
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	case "cut": // a token, then the body ends cleanly with no finish_reason
		sse()
		chunk(text("You can get a"), "")
	case "empty":
		sse()
		chunk(text("  "), "")
		chunk(text(""), "stop")
		done()
	case "leak":
		sse()
		chunk(text(req.Messages[0].Content), "stop")
		done()
	case "tools":
		sse()
		zero := 0
		chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: &zero, ID: "call_1", Type: "function",
			Function: openai.FunctionCall{Name: "lookup_order", Arguments: `{"order`}}}}, "")
		chunk(openai.ChatCompletionStreamChoiceDelta{ToolCalls: []openai.ToolCall{{Index: &zero,
			Function: openai.FunctionCall{Arguments: `_id": "A-17"}`}}}}, "")
		chunk(openai.ChatCompletionStreamChoiceDelta{}, "tool_calls")
		done()
	default:
		sse()
		words := strings.SplitAfter(answer, " ")
		for i, wd := range words {
			finish := ""
			if i == len(words)-1 {
				finish = "stop"
			}
			chunk(text(wd), finish)
		}
		done()
	}
}
