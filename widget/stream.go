package widget

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/httpapi"
)

// Streaming of widget answers. A request to POST /api/chat that accepts
// text/event-stream gets the model's answer as Server-Sent Events while it
// is generated:
//
//	event: delta
//	data: {"text":"Refunds are "}
//
//	event: done
//	data: <exactly the JSON body of the non-streamed response>
//
// The done event is the answer: it is what was stored, and the widget
// replaces the streamed text with it (they differ when the model failed
// midway and the engine fell back to the extractive answer). Extractive,
// no-answer and live-chat replies have no pieces: just the done event. An
// error before the first event is the ordinary JSON error with its HTTP
// status; after it, an "error" event with the same JSON body.

// sseWriteWait bounds each write, so a visitor who stopped reading does not
// hold up the model's stream (the engine's deadline bounds the whole).
const sseWriteWait = 10 * time.Second

// wantsStream reports whether the request opts in to a streamed answer.
func wantsStream(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for _, part := range strings.Split(v, ",") {
			if mt, _, err := mime.ParseMediaType(strings.TrimSpace(part)); err == nil && mt == "text/event-stream" {
				return true
			}
		}
	}
	return false
}

// chatStream writes one widget answer as Server-Sent Events. Its headers go
// out with the first event, so failures before any piece keep their HTTP
// status.
type chatStream struct {
	w  http.ResponseWriter
	rc *http.ResponseController

	mu      sync.Mutex
	started bool // headers written
	closed  bool // done or error written: later pieces are dropped
	broken  bool // a write failed: the visitor is gone
}

// openChatStream returns the context to answer under and the stream; a
// nil stream (and the request's context) when the request did not ask for
// one.
func (h *Handler) openChatStream(w http.ResponseWriter, r *http.Request) (context.Context, *chatStream) {
	if !wantsStream(r) {
		return r.Context(), nil
	}
	s := &chatStream{w: w, rc: http.NewResponseController(w)}
	return chat.WithPieces(r.Context(), s.delta), s
}

// delta sends a piece of the answer.
func (s *chatStream) delta(text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.event("delta", map[string]string{"text": text})
}

// start writes the headers (CORS ones were set by the handler).
func (s *chatStream) start() {
	if s.started {
		return
	}
	s.started = true
	hd := s.w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	s.w.WriteHeader(http.StatusOK)
}

// event writes one event, encoded as httpapi.WriteJSON encodes; s.mu held.
func (s *chatStream) event(name string, v any) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		s.broken = true // our own types always encode; stop rather than send half
		return
	}
	s.raw(name, bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}

// raw writes one event whose data is a single line of JSON; s.mu held.
func (s *chatStream) raw(name string, data []byte) {
	if s.broken {
		return
	}
	s.start()
	_ = s.rc.SetWriteDeadline(time.Now().Add(sseWriteWait)) // unsupported writers: no deadline
	msg := make([]byte, 0, len(name)+len(data)+16)
	msg = append(msg, "event: "...)
	msg = append(msg, name...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, data...)
	msg = append(msg, "\n\n"...)
	if _, err := s.w.Write(msg); err != nil {
		s.broken = true
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.broken = true
	}
}

// writeChat sends the answer: the JSON response, or the done event.
func (h *Handler) writeChat(w http.ResponseWriter, s *chatStream, out chatOutput) {
	if s == nil {
		httpapi.WriteJSON(w, http.StatusOK, out)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.event("done", out)
}

// failChat sends err: as the JSON error with its status while nothing was
// streamed, else as an error event carrying the same JSON body.
func (h *Handler) failChat(w http.ResponseWriter, r *http.Request, s *chatStream, err error) {
	if s == nil {
		h.fail(w, r, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if !s.started {
		h.fail(w, r, err)
		return
	}
	rec := &bodyRecorder{header: http.Header{}}
	h.fail(rec, r, err) // the same message and logging as a plain error
	s.raw("error", bytes.TrimSuffix(rec.body.Bytes(), []byte("\n")))
}

// bodyRecorder captures an error response's body for an error event.
type bodyRecorder struct {
	header http.Header
	body   bytes.Buffer
}

func (b *bodyRecorder) Header() http.Header         { return b.header }
func (b *bodyRecorder) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bodyRecorder) WriteHeader(int)             {}
