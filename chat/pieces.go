package chat

import (
	"context"

	"github.com/ollama/ollama/api"
)

// streamer is an LLM that can hand over its answer as the model writes it
// (*Client).
type streamer interface {
	ChatStream(ctx context.Context, msgs []api.Message, emit func(string)) (string, error)
}

type piecesKey struct{}

// WithPieces returns a context under which Engine.Answer hands emit each
// piece of the LLM's answer as the model writes it, when the LLM can
// stream. emit is called synchronously, from one goroutine at a time,
// before Answer returns; it must not block long (it holds up the model's
// stream). The pieces are a preview: the Reply is the answer, and may
// differ (citations tidied and renumbered, the list of sources added, or a
// fallback when the model fails or repeats its instructions midway). Only
// the grounded answer is streamed, never the question rewrite.
func WithPieces(ctx context.Context, emit func(string)) context.Context {
	return context.WithValue(ctx, piecesKey{}, emit)
}

func piecesFrom(ctx context.Context) func(string) {
	emit, _ := ctx.Value(piecesKey{}).(func(string))
	return emit
}

// chatLLM is LLM.Chat, streamed to the context's pieces callback when there
// is one and the LLM can stream. It stops passing pieces on once the text
// so far repeats the system prompt (the Reply will be the fallback), so a
// leak is cut where it is recognised rather than shown whole.
func (e *Engine) chatLLM(ctx context.Context, msgs []api.Message) (string, error) {
	emit := piecesFrom(ctx)
	s, ok := e.cfg.LLM.(streamer)
	if emit == nil || !ok {
		return e.cfg.LLM.Chat(ctx, msgs)
	}
	var sofar []byte
	cut := false
	return s.ChatStream(ctx, msgs, func(p string) {
		if cut {
			return
		}
		sofar = append(sofar, p...)
		if leaked(string(sofar), e.cfg.Persona) {
			cut = true
			return
		}
		emit(p)
	})
}
