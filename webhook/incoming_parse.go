package webhook

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

const maxIDLen = 256 // user_id, conversation_id, message_id, username

// incomingRequest is the body of POST /api/webhook/incoming. The ids are
// raw so that a number can be taken as its decimal string (platforms send
// numeric ids) while an object or a fraction is refused by name.
type incomingRequest struct {
	UserID         json.RawMessage `json:"user_id"`
	Username       *string         `json:"username"`
	Message        *string         `json:"message"`
	Platform       *string         `json:"platform"`
	ConversationID json.RawMessage `json:"conversation_id"`
	Timestamp      *string         `json:"timestamp"`
	MessageID      json.RawMessage `json:"message_id"`
	Metadata       json.RawMessage `json:"metadata"`
	// Handoff is the platform's own "talk to a human" button.
	Handoff *bool `json:"handoff"`
}

// parseIncoming validates body and returns the message to store. Errors
// name the field; a message over maxBytes is TooLarge (413) and a platform
// that contradicts the integration's provider is Forbidden (403).
func parseIncoming(body []byte, cfg *store.WebhookConfig, maxBytes int) (conversation.Inbound, error) {
	m, err := parseSeed(body, cfg, maxBytes)
	if err != nil {
		return conversation.Inbound{}, err
	}
	m.Channel, m.Mode, m.Deliver = conversation.Webhook, cfg.ResponseMode, cfg.OutgoingURL != ""
	return *m, nil
}

// parseSeed reads the seed format's fields.
func parseSeed(body []byte, cfg *store.WebhookConfig, maxBytes int) (*conversation.Inbound, error) {
	if !utf8.Valid(body) {
		return nil, apperr.Invalidf("", "request body must be valid UTF-8")
	}
	var req incomingRequest
	if err := httpapi.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	userID, err := idField("user_id", req.UserID, true)
	if err != nil {
		return nil, err
	}
	convID, err := idField("conversation_id", req.ConversationID, true)
	if err != nil {
		return nil, err
	}
	msgID, err := idField("message_id", req.MessageID, false)
	if err != nil {
		return nil, err
	}
	if req.Message == nil {
		return nil, apperr.Invalidf("message", "message is required: the user's text")
	}
	text := *req.Message
	if len(text) > maxBytes {
		return nil, &apperr.Error{Code: apperr.TooLarge, Field: "message",
			Message: "message is " + strconv.Itoa(len(text)) + " bytes; the limit is " + strconv.Itoa(maxBytes) + " bytes"}
	}
	if strings.TrimSpace(text) == "" {
		return nil, apperr.Invalidf("message", "message must not be empty")
	}
	if strings.ContainsFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return nil, apperr.Invalidf("message", "message must not contain NUL or other control characters")
	}
	m := &conversation.Inbound{ConfigID: cfg.ID, Platform: cfg.Provider, UserID: userID, ConversationID: convID,
		PlatformMessageID: msgID, Text: text, Handoff: req.Handoff != nil && *req.Handoff}
	if req.Username != nil {
		if err := checkText("username", *req.Username); err != nil {
			return nil, err
		}
		m.Username = strings.TrimSpace(*req.Username)
	}
	if req.Platform != nil && *req.Platform != "" && *req.Platform != cfg.Provider {
		return nil, &apperr.Error{Code: apperr.Forbidden, Field: "platform",
			Message: "platform does not match the provider of the integration this token belongs to (" + cfg.Provider + ")"}
	}
	if req.Timestamp != nil && *req.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339Nano, *req.Timestamp); err != nil {
			return nil, apperr.Invalidf("timestamp", "timestamp must be RFC 3339, e.g. 2025-01-19T12:00:00Z")
		}
	}
	if len(req.Metadata) > 0 && !bytes.Equal(req.Metadata, []byte("null")) && req.Metadata[0] != '{' {
		return nil, apperr.Invalidf("metadata", "metadata must be an object")
	}
	if len(req.Metadata) > 0 && req.Metadata[0] == '{' {
		m.Metadata = req.Metadata
	}
	return m, nil
}

// idField reads an id given as a string or an integer number.
func idField(name string, raw json.RawMessage, required bool) (string, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		if required {
			return "", apperr.Invalidf(name, "%s is required", name)
		}
		return "", nil
	}
	var s string
	switch {
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", apperr.Invalidf(name, "%s must be a string", name)
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		digits := strings.TrimPrefix(string(raw), "-")
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return "", apperr.Invalidf(name, "%s must be a string or a whole number", name)
		}
		s = string(raw)
	default:
		return "", apperr.Invalidf(name, "%s must be a string or a whole number, not %s", name, kindOf(raw[0]))
	}
	if err := checkText(name, s); err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if s == "" && required {
		return "", apperr.Invalidf(name, "%s must not be empty", name)
	}
	return s, nil
}

func checkText(name, s string) error {
	if len(s) > maxIDLen {
		return apperr.Invalidf(name, "%s must be at most %d bytes", name, maxIDLen)
	}
	if strings.ContainsFunc(s, unicode.IsControl) {
		return apperr.Invalidf(name, "%s must not contain control characters", name)
	}
	return nil
}

func kindOf(first byte) string {
	switch first {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "true or false"
	}
	return "this value"
}
