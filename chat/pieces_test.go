package chat

import (
	"context"
	"strings"
	"testing"
)

// askStreaming answers text with a pieces callback and returns the reply
// and the pieces handed over.
func askStreaming(t *testing.T, e *Engine, text string) (Reply, []string) {
	t.Helper()
	var pieces []string
	ctx := WithPieces(context.Background(), func(p string) { pieces = append(pieces, p) })
	r, err := e.Answer(ctx, Request{Platform: "widget", ConversationID: "c-stream", Text: text})
	if err != nil {
		t.Fatalf("Answer(%q): %v", text, err)
	}
	return r, pieces
}

// The model's pieces reach the callback as they come, and together they
// are the answer the engine returns.
func TestAnswerStreamsPieces(t *testing.T) {
	f := newFakeOllama(t)
	f.answer = "Refund vouchers last 12 months [1]."
	e, _ := newTestEngine(t, engineOpts{llm: newTestOllama(t, f.url(), nil)})
	r, pieces := askStreaming(t, e, "How long are refund vouchers valid?")
	want := []string{"Refund ", "vouchers ", "last ", "12 ", "months ", "[1]."}
	if strings.Join(pieces, "|") != strings.Join(want, "|") {
		t.Fatalf("pieces = %q, want %q", pieces, want)
	}
	if r.Type != TypeRAG || r.Answer != strings.Join(pieces, "")+"\n\nSources:\n1. Billing > Refunds" || r.Fallback != "" {
		t.Fatalf("reply = %+v, streamed %q", r, strings.Join(pieces, ""))
	}
}

// Without a callback the same LLM answers the same, through Chat.
func TestAnswerWithoutPiecesUnchanged(t *testing.T) {
	f := newFakeOllama(t)
	f.answer = "Refund vouchers last 12 months [1]."
	e, _ := newTestEngine(t, engineOpts{llm: newTestOllama(t, f.url(), nil)})
	if r := ask(t, e, "c1", "How long are refund vouchers valid?"); r.Type != TypeRAG || r.Answer != "Refund vouchers last 12 months [1].\n\nSources:\n1. Billing > Refunds" {
		t.Fatalf("reply = %+v", r)
	}
}

// An LLM that cannot stream answers whole: no pieces, the same reply.
func TestAnswerPiecesWithoutStreamingLLM(t *testing.T) {
	e, _ := newTestEngine(t, engineOpts{llm: echoLLM("Refund vouchers last 12 months [1].")})
	r, pieces := askStreaming(t, e, "How long are refund vouchers valid?")
	if len(pieces) != 0 || r.Type != TypeRAG || r.Answer != "Refund vouchers last 12 months [1].\n\nSources:\n1. Billing > Refunds" {
		t.Fatalf("pieces %q, reply %+v", pieces, r)
	}
}

// A model that repeats its instructions is cut where that is recognised:
// the piece that completes the leak is not handed over, and the reply is
// the extractive fallback.
func TestAnswerPiecesStopAtLeak(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("leak") // the system prompt, in one piece
	e, _ := newTestEngine(t, engineOpts{llm: newTestOllama(t, f.url(), nil)})
	r, pieces := askStreaming(t, e, "How long are refund vouchers valid?")
	if len(pieces) != 0 {
		t.Fatalf("the leaked system prompt was streamed: %q", pieces)
	}
	if r.Type != TypeExtractive || r.Fallback != FallbackPolicy {
		t.Fatalf("reply = %+v", r)
	}
}

// A stream dropped midway: what was streamed is superseded by the
// fallback, which the reply carries.
func TestAnswerPiecesThenDrop(t *testing.T) {
	f := newFakeOllama(t)
	f.setMode("half")
	e, _ := newTestEngine(t, engineOpts{llm: newTestOllama(t, f.url(), nil)})
	r, pieces := askStreaming(t, e, "How long are refund vouchers valid?")
	if strings.Join(pieces, "") != "You can get a" {
		t.Fatalf("pieces = %q", pieces)
	}
	if r.Type != TypeExtractive || r.Fallback != FallbackError || !strings.HasPrefix(r.Answer, "\"") {
		t.Fatalf("reply = %+v", r)
	}
}
