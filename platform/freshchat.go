package platform

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// Freshchat is the adapter of Freshchat's conversation webhooks and its v2
// API. Settings: api_url the account's API base (https://ACCOUNT.freshchat.com/v2),
// api_token an API key (Bearer), platform_secret the webhook's RSA public
// key (PEM), bot_id the agent id the bot replies as (required),
// handoff_target the group to queue a hand-off for.
type Freshchat struct{}

// ParseRSAPublicKey reads Freshchat's webhook public key (PEM: PKIX
// "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY").
func ParseRSAPublicKey(pemText string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("is not a PEM block (-----BEGIN PUBLIC KEY----- ...)")
	}
	if k, err := x509.ParsePKCS1PublicKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is not an RSA public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("is not an RSA public key")
	}
	return rk, nil
}

// Verify checks X-Freshchat-Signature: base64 RSA PKCS#1 v1.5 over the
// SHA-256 of the body, with the public key from Freshchat's settings.
func (Freshchat) Verify(cfg *store.WebhookConfig, h http.Header, body []byte, _ time.Time) error {
	sig := h.Get("X-Freshchat-Signature")
	if sig == "" {
		return ErrUnsigned
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errors.New("X-Freshchat-Signature is not base64")
	}
	key, err := ParseRSAPublicKey(cfg.Secret)
	if err != nil {
		return fmt.Errorf("platform_secret %v", err)
	}
	sum := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], raw); err != nil {
		return errors.New("signature does not match: check platform_secret (the webhook's public key in Freshchat's settings)")
	}
	return nil
}

type fcConvRef struct {
	ConversationID string `json:"conversation_id"`
}

type fcEvent struct {
	Actor struct {
		Type string `json:"actor_type"`
		ID   string `json:"actor_id"`
	} `json:"actor"`
	Action string `json:"action"`
	Data   struct {
		Message *struct {
			ID             string `json:"id"`
			ConversationID string `json:"conversation_id"`
			MessageType    string `json:"message_type"`
			Parts          []struct {
				Text *struct {
					Content string `json:"content"`
				} `json:"text"`
			} `json:"message_parts"`
		} `json:"message"`
		Assignment *struct {
			ToAgentID    string    `json:"to_agent_id"`
			Conversation fcConvRef `json:"conversation"`
		} `json:"assignment"`
		Resolve *struct {
			Conversation fcConvRef `json:"conversation"`
		} `json:"resolve"`
	} `json:"data"`
}

// Parse reads a Freshchat webhook: one event per POST.
func (Freshchat) Parse(cfg *store.WebhookConfig, body []byte) ([]Event, error) {
	ev, err := parseFreshchat(cfg, body)
	if err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

func parseFreshchat(cfg *store.WebhookConfig, body []byte) (Event, error) {
	var e fcEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, apperr.Invalidf("body", "not a Freshchat webhook: %v", err)
	}
	switch e.Action {
	case "message_create":
	case "conversation_assignment":
		a := e.Data.Assignment
		if a == nil || a.Conversation.ConversationID == "" {
			return Event{Kind: Ignore, Reason: "assignment without a conversation"}, nil
		}
		if a.ToAgentID != "" && a.ToAgentID != cfg.BotID {
			return Event{Kind: Pause, Reason: store.PauseAssigned, ConversationID: a.Conversation.ConversationID}, nil
		}
		return Event{Kind: Ignore, Reason: "assigned to a group or the bot, not an agent", ConversationID: a.Conversation.ConversationID}, nil
	case "conversation_resolution":
		if r := e.Data.Resolve; r != nil && r.Conversation.ConversationID != "" {
			return Event{Kind: Resume, Reason: store.ResumeResolved, ConversationID: r.Conversation.ConversationID}, nil
		}
		return Event{Kind: Ignore, Reason: "resolution without a conversation"}, nil
	case "":
		return Event{}, apperr.Invalidf("action", "a Freshchat webhook needs its action")
	default:
		return Event{Kind: Ignore, Reason: "action " + e.Action + " is not used"}, nil
	}
	m := e.Data.Message
	if m == nil || m.ConversationID == "" {
		return Event{}, apperr.Invalidf("data.message.conversation_id", "message_create needs data.message.conversation_id")
	}
	conv := m.ConversationID
	if m.MessageType == "private" {
		return Event{Kind: Ignore, Reason: "private note", ConversationID: conv}, nil
	}
	switch e.Actor.Type {
	case "user":
	case "agent":
		if e.Actor.ID == cfg.BotID {
			return Event{Kind: Ignore, Reason: "the bot's own message", ConversationID: conv}, nil
		}
		return Event{Kind: Pause, Reason: store.PauseAgentReply, ConversationID: conv, SentID: m.ID}, nil
	default:
		return Event{Kind: Ignore, Reason: "message of a " + e.Actor.Type + " actor", ConversationID: conv}, nil
	}
	var parts []string
	for _, p := range m.Parts {
		if p.Text != nil && strings.TrimSpace(p.Text.Content) != "" {
			parts = append(parts, strings.TrimSpace(p.Text.Content))
		}
	}
	text := strings.Join(parts, " ")
	if text == "" {
		return Event{Kind: Ignore, Reason: "message without text", ConversationID: conv}, nil
	}
	if len(text) > maxTextBytes || !utf8.ValidString(text) {
		return Event{}, apperr.New(apperr.TooLarge, "the message text must be valid UTF-8 of at most %d bytes", maxTextBytes)
	}
	if m.ID == "" || e.Actor.ID == "" {
		return Event{}, apperr.Invalidf("data.message.id", "a user's message needs data.message.id and actor.actor_id")
	}
	// The user's name is not in the payload (it needs GET /v2/users/{id}).
	return Event{Kind: Message, ConversationID: conv,
		Inbound: conversation.Inbound{UserID: e.Actor.ID, Text: text, PlatformMessageID: m.ID}}, nil
}
