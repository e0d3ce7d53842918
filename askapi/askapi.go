// Package askapi is the channel of `chatbot ask` while a server runs:
// POST /api/ask, admin-authenticated, one question through the same turn
// (conversation.Service) as the platforms' webhooks and the widget, with
// the same conversation memory and live chat.
package askapi

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// Limits of a question.
const (
	MaxQuestionBytes = 10 << 10 // as a webhook's message
	bodyLimit        = 16 << 10
	// Platform and UserID name the CLI's conversations: with no
	// integration, the platform is part of the conversation's name.
	Platform = "cli"
	UserID   = "cli"
)

// handoffText stands for a hand-off asked without words (as the widget's button).
const handoffText = "I would like to talk to a human."

var conversationPattern = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,100}$`)

// Request is one question.
type Request struct {
	Question string `json:"question"`
	// ConversationID keeps the exchange under a name across calls, so a
	// follow-up is understood; empty: a one-off question.
	ConversationID string `json:"conversation_id"`
	Handoff        bool   `json:"handoff"`
}

// Response is the answer and how it was made.
type Response struct {
	Success      bool                  `json:"success"`
	MessageID    uint64                `json:"message_id"`
	ResponseID   uint64                `json:"response_id,omitempty"`
	Answer       string                `json:"answer"`
	ResponseType store.ResponseType    `json:"response_type"`
	Sources      []store.MessageSource `json:"sources"`
	SessionID    string                `json:"session_id,omitempty"`
	Fallback     string                `json:"fallback,omitempty"`
	LatencyMS    int64                 `json:"latency_ms"`
	// Handed are the live-chat messages (an agent's replies) that waited
	// for this question, oldest first.
	Handed []Handed `json:"live_chat_messages,omitempty"`
}

// Handed is a live-chat message handed over with an answer.
type Handed struct {
	ID         uint64    `json:"id"`
	Text       string    `json:"message"`
	Sender     string    `json:"sender"`
	SenderType string    `json:"sender_type"`
	CreatedAt  time.Time `json:"created_at"`
}

// Handler serves POST /api/ask.
type Handler struct {
	turns   *conversation.Service
	timeout time.Duration
	log     *slog.Logger
}

// New returns the handler; timeout bounds one answer (the engine's own
// deadline sits below it, so its fallback answer gets through).
func New(turns *conversation.Service, timeout time.Duration, log *slog.Logger) *Handler {
	return &Handler{turns: turns, timeout: timeout, log: log}
}

// Routes mounts POST /api/ask behind protect (the admin token).
func (h *Handler) Routes(r *mux.Router, protect func(http.Handler) http.Handler) {
	r.Handle("/api/ask", protect(h)).Methods(http.MethodPost)
}

// ServeHTTP answers one question.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in Request
	if err := httpapi.Decode(w, r, bodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if err := in.Validate(); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	out, err := h.turns.Handle(ctx, Inbound(in))
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, ResponseOf(out))
}

// Inbound is the turn's view of a question, the same with or without a
// server (a local `chatbot ask` runs the turn on the data directory).
func Inbound(in Request) conversation.Inbound {
	return conversation.Inbound{Channel: conversation.CLI, Platform: Platform, ConversationID: in.ConversationID,
		UserID: UserID, Username: "chatbot ask", Text: in.Question, Handoff: in.Handoff, Mode: store.ResponseSync}
}

// ResponseOf is the answer of an outcome.
func ResponseOf(out conversation.Outcome) Response {
	resp := Response{Success: true, MessageID: out.Message.ID, ResponseID: out.ResponseID(), Answer: out.Answer.Answer,
		ResponseType: out.Answer.Type, Sources: out.Sources(), SessionID: out.Answer.SessionID,
		Fallback: out.Answer.Fallback, LatencyMS: out.Answer.Total.Milliseconds()}
	for _, m := range out.Handed {
		resp.Handed = append(resp.Handed, Handed{ID: m.ID, Text: m.Text, Sender: m.Sender, SenderType: m.SenderType, CreatedAt: m.CreatedAt})
	}
	return resp
}

// Validate checks the question and fills in the hand-off text; errors
// name the field.
func (in *Request) Validate() error {
	in.Question = strings.TrimSpace(in.Question)
	switch {
	case in.Question == "" && !in.Handoff:
		return apperr.Invalidf("question", "question must not be empty")
	case len(in.Question) > MaxQuestionBytes:
		return &apperr.Error{Code: apperr.TooLarge, Field: "question",
			Message: "question is too long; the limit is 10240 bytes"}
	case !utf8.ValidString(in.Question):
		return apperr.Invalidf("question", "question must be valid UTF-8 text")
	case strings.ContainsFunc(in.Question, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }):
		return apperr.Invalidf("question", "question must not contain NUL or other control characters")
	case in.ConversationID != "" && !conversationPattern.MatchString(in.ConversationID):
		return apperr.Invalidf("conversation_id", "conversation_id must be 1 to 100 letters, digits, _ . : or -")
	}
	if in.Question == "" {
		in.Question = handoffText
	}
	return nil
}
