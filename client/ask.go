package client

import (
	"context"
	"net/http"
	"time"
)

// AskRequest is one question to the running server's turn (POST /api/ask).
type AskRequest struct {
	Question string `json:"question"`
	// ConversationID keeps the exchange under a name across calls, so a
	// follow-up is understood; empty: a one-off question.
	ConversationID string `json:"conversation_id"`
	Handoff        bool   `json:"handoff"`
}

// AskSource is a passage an answer cites.
type AskSource struct {
	Title  string  `json:"title"`
	Source string  `json:"source"`
	URL    string  `json:"url,omitempty"`
	Score  float64 `json:"score"`
}

// HandedMessage is a live-chat message (an agent's reply, a notice) that
// waited for the question and came with its answer.
type HandedMessage struct {
	ID         uint64    `json:"id"`
	Text       string    `json:"message"`
	Sender     string    `json:"sender"`
	SenderType string    `json:"sender_type"`
	CreatedAt  time.Time `json:"created_at"`
}

// AskResponse is the answer and how it was made.
type AskResponse struct {
	Success      bool            `json:"success"`
	MessageID    uint64          `json:"message_id"`
	ResponseID   uint64          `json:"response_id,omitempty"`
	Answer       string          `json:"answer"`
	ResponseType string          `json:"response_type"`
	Sources      []AskSource     `json:"sources"`
	SessionID    string          `json:"session_id,omitempty"`
	Fallback     string          `json:"fallback,omitempty"`
	LatencyMS    int64           `json:"latency_ms"`
	Handed       []HandedMessage `json:"live_chat_messages,omitempty"`
}

// Ask puts one question through the server's conversation turn, as a
// platform's message would be: the same memory, live chat and answer.
func (c *Client) Ask(ctx context.Context, in AskRequest) (AskResponse, error) {
	var out AskResponse
	err := c.Do(ctx, http.MethodPost, "/api/ask", in, &out)
	return out, err
}
