package widget

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ollama/ollama/api"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// gatedOllama speaks Ollama's chat API and streams its pieces under the
// test's control: the first at once, each further one when the test sends
// on gate. With cut it drops the connection instead of sending the rest.
// gone is closed when the caller goes away while it waits.
type gatedOllama struct {
	srv    *httptest.Server
	pieces []string
	cut    bool
	gate   chan struct{}
	gone   chan struct{}
}

func newGatedOllama(t *testing.T, cut bool, pieces ...string) *gatedOllama {
	t.Helper()
	g := &gatedOllama{pieces: pieces, cut: cut, gate: make(chan struct{}, 16), gone: make(chan struct{})}
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"modelfile": "FROM x"})
	})
	mux.HandleFunc("POST /api/chat", func(w http.ResponseWriter, r *http.Request) {
		var req api.ChatRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-ndjson")
		line := func(content string, done bool) {
			_ = json.NewEncoder(w).Encode(api.ChatResponse{Model: req.Model, Message: api.Message{Role: "assistant", Content: content}, Done: done})
			w.(http.Flusher).Flush()
		}
		for i, p := range g.pieces {
			if i > 0 {
				select {
				case <-g.gate:
				case <-r.Context().Done():
					close(g.gone)
					return
				case <-release:
					return
				}
			}
			line(p, false)
		}
		if g.cut {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.(*net.TCPConn).SetLinger(0)
				conn.Close()
			}
			return
		}
		line("", true)
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(func() { close(release); g.srv.Close() })
	return g
}

// release lets n more pieces through.
func (g *gatedOllama) release(n int) {
	for range n {
		g.gate <- struct{}{}
	}
}

// refundKB always finds one passage.
type refundKB struct{}

func (refundKB) Search(context.Context, string, int) ([]chat.Passage, error) {
	return []chat.Passage{{Title: "Refunds", Heading: "Refunds", Source: "docs/refunds.md#refunds",
		Text: "Refunds are accepted within 30 days.", Score: 0.8}}, nil
}

func quoteFirst(_ string, ps []chat.Passage, _ int) (string, []chat.Passage) {
	return "\"" + ps[0].Text + "\"", ps[:1]
}

// answered wraps an engine and reports each reply once Answer returns.
type answered struct {
	eng     conversation.Answerer
	replies chan chat.Reply
}

func (a *answered) Answer(ctx context.Context, req chat.Request) (chat.Reply, error) {
	r, err := a.eng.Answer(ctx, req)
	a.replies <- r
	return r, err
}

// streamEnv is a widget server that answers with the real engine
// and LLM client, talking to g; timeout is the engine's deadline.
func streamEnv(t *testing.T, g *gatedOllama, timeout time.Duration) (*env, *store.Widget, *answered) {
	t.Helper()
	u, _ := url.Parse(g.srv.URL)
	llm, err := chat.NewOllama(chat.OllamaConfig{BaseURL: u, ChatModel: "llama3.2", RecheckInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { llm.Close(context.Background()) })
	eng, err := chat.NewEngine(chat.Config{Retriever: refundKB{}, Extract: quoteFirst, LLM: llm, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	a := &answered{eng: eng, replies: make(chan chat.Reply, 4)}
	e := newEnv(t, func(o *Options) { o.Turns = conversation.New(o.Store, a, conversation.Options{}) })
	return e, createWidget(t, e, []string{"https://shop.example"}, 100), a
}

// sse is a streamed widget answer being read.
type sse struct {
	res *http.Response
	br  *bufio.Reader
}

// postStream sends a widget message that accepts a streamed answer.
func postStream(t *testing.T, ctx context.Context, e *env, w *store.Widget, body string) *sse {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "POST", e.srv.URL+"/api/chat?key="+w.Key, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Origin", "https://shop.example")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return &sse{res: res, br: bufio.NewReader(res.Body)}
}

// next reads one event: its name and its data.
func (s *sse) next(t *testing.T) (string, string) {
	t.Helper()
	var name, data string
	for {
		line, err := s.br.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended before the next event (%q %q): %v", name, data, err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data += line[len("data: "):]
		}
	}
}

func (s *sse) delta(t *testing.T) string {
	t.Helper()
	name, data := s.next(t)
	var d struct{ Text string }
	if name != "delta" || json.Unmarshal([]byte(data), &d) != nil {
		t.Fatalf("got event %q %s, want a delta", name, data)
	}
	return d.Text
}

// storedAnswer is the bot's stored answer in conversation conv.
func storedAnswer(t *testing.T, e *env, conv string) *store.Message {
	t.Helper()
	msgs, _, err := e.st.ListMessages(store.MessageFilter{Platform: Platform, ConversationID: conv, Type: store.MessageOutgoing}, 0, 10)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("stored answers of %s: %+v %v", conv, msgs, err)
	}
	return msgs[0]
}

// The answer streams piece by piece: the first arrives while the model
// still holds the rest; the done event is byte for byte the body a
// non-streamed request gets, and the stored answer is the streamed text.
func TestWidgetChatStreamsTheAnswer(t *testing.T) {
	g := newGatedOllama(t, false, "Refunds ", "are accepted ", "within 30 days [1].")
	e, w, a := streamEnv(t, g, time.Minute)

	s := postStream(t, context.Background(), e, w, `{"message":"How long do refunds take?","conversation_id":"conv-stream-1"}`)
	if ct := s.res.Header.Get("Content-Type"); s.res.StatusCode != 200 || ct != "text/event-stream; charset=utf-8" ||
		s.res.Header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Fatalf("status %d, Content-Type %q, headers %v", s.res.StatusCode, ct, s.res.Header)
	}
	streamed := s.delta(t) // the model has not been allowed past its first piece
	if streamed != "Refunds " {
		t.Fatalf("first delta %q", streamed)
	}
	g.release(2)
	streamed += s.delta(t)
	streamed += s.delta(t)
	name, done := s.next(t)
	if name != "done" {
		t.Fatalf("event %q %s, want done", name, done)
	}
	<-a.replies
	if streamed != "Refunds are accepted within 30 days [1]." {
		t.Fatalf("streamed %q", streamed)
	}
	var out chatOutput
	if err := json.Unmarshal([]byte(done), &out); err != nil || out.Answer != streamed+"\n\nSources:\n1. Refunds" || out.ResponseType != "rag_knowledge_base" ||
		len(out.Sources) != 1 || out.Sources[0].Source != "docs/refunds.md#refunds" || out.ConversationID != "conv-stream-1" {
		t.Fatalf("done %s (%v), streamed %q", done, err, streamed)
	}
	if rest, _ := io.ReadAll(s.br); len(rest) != 0 {
		t.Fatalf("after done: %q", rest)
	}
	if m := storedAnswer(t, e, "conv-stream-1"); m.Text != out.Answer || m.ResponseType != "rag_knowledge_base" || m.Status != store.StatusSent {
		t.Fatalf("stored %+v, streamed %q", m, streamed)
	}

	// The same question without Accept: text/event-stream, the model
	// released ahead: the plain body is the done event's data.
	g.release(2)
	plain := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "How long do refunds take?", "conversation_id": "conv-plain-1"},
		map[string]string{"Origin": "https://shop.example"})
	<-a.replies
	if plain.status != 200 || plain.header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("plain: %d %v %s", plain.status, plain.header, plain.raw)
	}
	if want := strings.Replace(plain.raw, "conv-plain-1", "conv-stream-1", 1); done+"\n" != want {
		t.Fatalf("done event data\n%s\nwant the plain body\n%s", done, want)
	}
	// And the two stored records are the same answer.
	sm, pm := storedAnswer(t, e, "conv-stream-1"), storedAnswer(t, e, "conv-plain-1")
	if sm.Text != pm.Text || sm.ResponseType != pm.ResponseType || sm.Status != pm.Status || sm.SenderType != pm.SenderType ||
		len(sm.Sources) != 1 || len(pm.Sources) != 1 || sm.Sources[0] != pm.Sources[0] {
		t.Fatalf("stored after streaming %+v\nstored plain %+v", sm, pm)
	}
}

// The model drops the stream midway: the engine's fallback stands, the
// done event carries it, and it is what was stored.
func TestWidgetChatStreamCutMidway(t *testing.T) {
	g := newGatedOllama(t, true, "You can get ", "a refund")
	e, w, a := streamEnv(t, g, time.Minute)
	s := postStream(t, context.Background(), e, w, `{"message":"Refunds?","conversation_id":"conv-cut-01"}`)
	if d := s.delta(t); d != "You can get " {
		t.Fatalf("first delta %q", d)
	}
	g.release(1)
	if d := s.delta(t); d != "a refund" {
		t.Fatalf("second delta %q", d)
	}
	name, done := s.next(t)
	if r := <-a.replies; r.Fallback != chat.FallbackError {
		t.Fatalf("reply %+v, want the %s fallback", r, chat.FallbackError)
	}
	var out chatOutput
	if err := json.Unmarshal([]byte(done), &out); name != "done" || err != nil || out.Answer != `"Refunds are accepted within 30 days."` || out.ResponseType != "extractive" {
		t.Fatalf("event %q %s (%v)", name, done, err)
	}
	if m := storedAnswer(t, e, "conv-cut-01"); m.Text != out.Answer || m.ResponseType != "extractive" {
		t.Fatalf("stored %+v, done said %q", m, out.Answer)
	}
}

// The engine's deadline bounds the stream: a model that stops midway is
// given up on, and the done event carries the fallback.
func TestWidgetChatStreamDeadline(t *testing.T) {
	g := newGatedOllama(t, false, "You can get ", "a refund")
	e, w, a := streamEnv(t, g, time.Second)
	s := postStream(t, context.Background(), e, w, `{"message":"Refunds?","conversation_id":"conv-slow-01"}`)
	if d := s.delta(t); d != "You can get " {
		t.Fatalf("first delta %q", d)
	}
	name, done := s.next(t) // never released: the deadline ends it
	if r := <-a.replies; r.Fallback != chat.FallbackTimeout {
		t.Fatalf("reply %+v, want the %s fallback", r, chat.FallbackTimeout)
	}
	var out chatOutput
	if err := json.Unmarshal([]byte(done), &out); name != "done" || err != nil || out.ResponseType != "extractive" {
		t.Fatalf("event %q %s (%v)", name, done, err)
	}
	if m := storedAnswer(t, e, "conv-slow-01"); m.Text != out.Answer {
		t.Fatalf("stored %q, done said %q", m.Text, out.Answer)
	}
}

// A visitor who goes away mid-answer cancels the generation.
func TestWidgetChatStreamClientGone(t *testing.T) {
	g := newGatedOllama(t, false, "You can get ", "a refund")
	e, w, a := streamEnv(t, g, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	s := postStream(t, ctx, e, w, `{"message":"Refunds?","conversation_id":"conv-gone-01"}`)
	if d := s.delta(t); d != "You can get " {
		t.Fatalf("first delta %q", d)
	}
	cancel()
	select {
	case <-g.gone: // the model's request was cancelled
	case <-time.After(time.Minute): // a failure guard, not a wait for timing
		t.Fatal("the generation went on after the visitor left")
	}
	if r := <-a.replies; r.Type != chat.TypeExtractive || r.Fallback != chat.FallbackError {
		t.Fatalf("reply after the visitor left: %+v", r)
	}
}

// Replies without pieces (here: the fake engine's extractive answer) are
// just the done event, byte for byte the plain body.
func TestWidgetChatStreamWithoutPieces(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"https://shop.example"}, 100)
	s := postStream(t, context.Background(), e, w, `{"message":"reset password","conversation_id":"conv-extract-1"}`)
	name, done := s.next(t)
	if rest, _ := io.ReadAll(s.br); name != "done" || len(rest) != 0 {
		t.Fatalf("events: %q %s, then %q", name, done, rest)
	}
	plain := e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "reset password", "conversation_id": "conv-extract-1"},
		map[string]string{"Origin": "https://shop.example"})
	if done+"\n" != plain.raw {
		t.Fatalf("done %s, plain body %s", done, plain.raw)
	}
}

// Origin checks and validation come first and keep their HTTP statuses
// and JSON bodies when the request asks for a stream.
func TestWidgetChatStreamRefusalsArePlain(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"https://shop.example"}, 100)
	for _, tc := range []struct {
		name, origin, body string
		want               int
	}{
		{"origin not allowed", "https://evil.example", `{"message":"hi"}`, 403},
		{"bad conversation id", "https://shop.example", `{"message":"hi","conversation_id":"<x>"}`, 400},
		{"empty message", "https://shop.example", `{"message":""}`, 400},
	} {
		req, _ := http.NewRequest("POST", e.srv.URL+"/api/chat?key="+w.Key, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Origin", tc.origin)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Success bool
			Error   string
		}
		err = json.NewDecoder(res.Body).Decode(&body)
		res.Body.Close()
		if res.StatusCode != tc.want || res.Header.Get("Content-Type") != "application/json; charset=utf-8" || err != nil || body.Success || body.Error == "" {
			t.Errorf("%s: %d %q %+v %v", tc.name, res.StatusCode, res.Header.Get("Content-Type"), body, err)
		}
	}
	if got := len(e.engine.reqs); got != 0 {
		t.Fatalf("the engine was asked %d times", got)
	}
}

// A failure after pieces went out is an error event with the JSON error
// body; pieces after the end are dropped.
func TestChatStreamErrorAfterPieces(t *testing.T) {
	h := &Handler{}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/api/chat", nil)
	req.Header.Set("Accept", "text/event-stream")
	ctx, s := h.openChatStream(rec, req)
	if s == nil || ctx == req.Context() {
		t.Fatal("no stream for Accept: text/event-stream")
	}
	s.delta("Refunds ")
	h.failChat(rec, req, s, apperr.Wrap(apperr.Unavailable, errors.New("disk full"), "the assistant could not answer; try again"))
	s.delta("late")
	want := "event: delta\ndata: {\"text\":\"Refunds \"}\n\n" +
		"event: error\ndata: {\"success\":false,\"error\":\"the assistant could not answer; try again\"}\n\n"
	if rec.Code != 200 || rec.Body.String() != want {
		t.Fatalf("%d %q\nwant %q", rec.Code, rec.Body.String(), want)
	}
}

func TestWantsStream(t *testing.T) {
	for accept, want := range map[string]bool{
		"":                  false,
		"application/json":  false,
		"text/event-stream": true,
		"application/json, text/event-stream;q=0.9": true,
		"*/*":               false,
		"text/events":       false,
		"TEXT/Event-Stream": true,
	} {
		r := httptest.NewRequest("POST", "/api/chat", nil)
		if accept != "" {
			r.Header.Set("Accept", accept)
		}
		if got := wantsStream(r); got != want {
			t.Errorf("Accept %q: %v, want %v", accept, got, want)
		}
	}
}

// FuzzWantsStream: any Accept header is read without panicking, and only
// one naming text/event-stream opts in.
func FuzzWantsStream(f *testing.F) {
	for _, s := range []string{"text/event-stream", "application/json, text/event-stream;q=0.9", "*/*", "text/event-stream;", `text/event-stream; a="`, ",,,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		r := httptest.NewRequest("POST", "/api/chat", nil)
		r.Header["Accept"] = []string{accept}
		if wantsStream(r) && !strings.Contains(strings.ToLower(accept), "text/event-stream") {
			t.Fatalf("Accept %q opted in", accept)
		}
	})
}
