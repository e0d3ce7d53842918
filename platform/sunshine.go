package platform

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// Sunshine is the adapter of Zendesk messaging through Sunshine
// Conversations (provider "zendesk"): its v2 webhooks in, its API out.
// Settings: api_url the API base (https://api.smooch.io, or
// https://{subdomain}.zendesk.com/sc), account the app id, api_token
// "keyId:secret", platform_secret the webhook's secret (sent as
// X-API-Key), bot_id the bot's switchboard integration id, handoff_target
// the switchboard integration to pass control to (default "next").
//
// Who owns a conversation is the switchboard's business here: the bot
// pauses when control passes to another integration and resumes when it
// comes back, and a user's message that arrives while another integration
// is active is not answered. Business messages (an agent's or the bot's
// own) are never acted on, so the bot cannot pause on its own echo.
type Sunshine struct{}

// Verify compares X-API-Key with the webhook's secret: Sunshine
// Conversations authenticates its webhooks with a shared secret, not a
// signature of the body.
func (Sunshine) Verify(cfg *store.WebhookConfig, h http.Header, _ []byte, _ time.Time) error {
	key := h.Get("X-API-Key")
	if key == "" {
		return ErrUnsigned
	}
	if subtle.ConstantTimeCompare([]byte(key), []byte(cfg.Secret)) != 1 {
		return errors.New("X-API-Key does not match: check platform_secret (the webhook's secret)")
	}
	return nil
}

type scSwitchboard struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type scConversation struct {
	ID     string         `json:"id"`
	Active *scSwitchboard `json:"activeSwitchboardIntegration"`
}

type scEvent struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Payload struct {
		Conversation *scConversation `json:"conversation"`
		Message      *struct {
			ID     string `json:"id"`
			Author struct {
				Type        string `json:"type"`
				UserID      string `json:"userId"`
				DisplayName string `json:"displayName"`
			} `json:"author"`
			Content struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"content"`
		} `json:"message"`
	} `json:"payload"`
}

// Parse reads a Sunshine Conversations v2 webhook: the events of one POST.
func (Sunshine) Parse(cfg *store.WebhookConfig, body []byte) ([]Event, error) {
	var w struct {
		App *struct {
			ID string `json:"id"`
		} `json:"app"`
		Events []scEvent `json:"events"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, apperr.Invalidf("body", "not a Sunshine Conversations webhook: %v", err)
	}
	if len(w.Events) == 0 {
		return nil, apperr.Invalidf("events", "a Sunshine Conversations webhook needs its events[]")
	}
	if len(w.Events) > 100 {
		return nil, apperr.New(apperr.TooLarge, "at most 100 events in one POST")
	}
	if w.App != nil && w.App.ID != "" && cfg.Account != "" && w.App.ID != cfg.Account {
		return []Event{{Kind: Ignore, Reason: "event of app " + w.App.ID + ", not this integration's " + cfg.Account}}, nil
	}
	out := make([]Event, 0, len(w.Events))
	for i := range w.Events {
		ev, err := parseSunshineEvent(cfg, &w.Events[i])
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
	}
	return out, nil
}

func parseSunshineEvent(cfg *store.WebhookConfig, e *scEvent) (Event, error) {
	conv := e.Payload.Conversation
	if conv == nil || conv.ID == "" {
		return Event{Kind: Ignore, Reason: "event " + e.Type + " without a conversation"}, nil
	}
	// A known bot id and another integration active: a human (or another
	// bot) has the conversation.
	othersTurn := cfg.BotID != "" && conv.Active != nil && conv.Active.ID != "" && conv.Active.ID != cfg.BotID
	switch e.Type {
	case "switchboard:passControl", "switchboard:acceptControl":
		if conv.Active == nil || cfg.BotID == "" {
			return Event{Kind: Ignore, Reason: e.Type + " without the active integration or a bot_id to compare", ConversationID: conv.ID}, nil
		}
		if othersTurn {
			return Event{Kind: Pause, Reason: store.PauseControlPassed, ConversationID: conv.ID}, nil
		}
		return Event{Kind: Resume, Reason: store.ResumeHandback, ConversationID: conv.ID}, nil
	case "conversation:message":
	default:
		return Event{Kind: Ignore, Reason: "event " + e.Type + " is not used", ConversationID: conv.ID}, nil
	}
	m := e.Payload.Message
	if m == nil {
		return Event{}, apperr.Invalidf("payload.message", "conversation:message needs payload.message")
	}
	if m.Author.Type != "user" {
		return Event{Kind: Ignore, Reason: "message of a " + m.Author.Type + " author (an agent or the bot)", ConversationID: conv.ID}, nil
	}
	if m.Content.Type != "text" || strings.TrimSpace(m.Content.Text) == "" {
		return Event{Kind: Ignore, Reason: "message without text (" + m.Content.Type + ")", ConversationID: conv.ID}, nil
	}
	text := strings.TrimSpace(m.Content.Text)
	if len(text) > maxTextBytes || !utf8.ValidString(text) {
		return Event{}, apperr.New(apperr.TooLarge, "content.text must be valid UTF-8 of at most %d bytes", maxTextBytes)
	}
	if m.ID == "" || m.Author.UserID == "" {
		return Event{}, apperr.Invalidf("payload.message", "a user's message needs its id and author.userId")
	}
	return Event{Kind: Message, ConversationID: conv.ID, HumanOwned: othersTurn,
		Inbound: conversation.Inbound{UserID: m.Author.UserID, Username: m.Author.DisplayName, Text: text, PlatformMessageID: m.ID}}, nil
}
