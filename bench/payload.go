package bench

import (
	"encoding/json"
	"fmt"
	"time"
)

// Incoming is the body of POST /api/webhook/incoming (DESIGN.md).
type Incoming struct {
	UserID         string         `json:"user_id"`
	Username       string         `json:"username,omitempty"`
	Message        string         `json:"message"`
	Platform       string         `json:"platform,omitempty"`
	ConversationID string         `json:"conversation_id"`
	Timestamp      string         `json:"timestamp,omitempty"`
	MessageID      string         `json:"message_id,omitempty"`
	Metadata       map[string]any `json:"metadata,omitempty"`
}

// Payloads builds the incoming messages of a run: unique message ids, users
// spread over a fixed number of conversations, questions from the generated
// knowledge base's topics.
type Payloads struct {
	Run           string // distinguishes message ids of separate runs
	Platform      string
	Conversations int
	Questions     Questions
}

// At returns the i-th message's JSON.
func (p Payloads) At(i int) []byte {
	convs := max(p.Conversations, 1)
	c := i % convs
	in := Incoming{
		UserID:         fmt.Sprintf("user_%d", c),
		Username:       fmt.Sprintf("Load User %d", c),
		Message:        p.Questions.At(i),
		Platform:       p.Platform,
		ConversationID: fmt.Sprintf("conv_%s_%d", p.Run, c),
		Timestamp:      time.Date(2025, 1, 19, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond).Format(time.RFC3339),
		MessageID:      fmt.Sprintf("%s-%d", p.Run, i),
		Metadata:       map[string]any{"channel": "web", "user_agent": "chatbot-bench"},
	}
	b, _ := json.Marshal(in) // a struct of strings and a string map cannot fail
	return b
}

// IncomingReply is the part of the 200 answer the tool reads.
type IncomingReply struct {
	Success    bool   `json:"success"`
	MessageID  uint64 `json:"message_id"`
	ResponseID uint64 `json:"response_id"`
	Response   struct {
		Answer       string `json:"answer"`
		ResponseType string `json:"response_type"`
	} `json:"response"`
}
