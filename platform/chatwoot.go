package platform

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// Chatwoot is the adapter of Chatwoot's Agent Bot and API-inbox webhooks
// (shapes and rules in ../shared/PLATFORMS.md and testdata/chatwoot).
type Chatwoot struct{}

// Chatwoot's signature headers (v4.11.2+ for account webhooks, v4.13.0+
// for Agent Bot and API-inbox webhooks).
const (
	chatwootSignature = "X-Chatwoot-Signature"
	chatwootTimestamp = "X-Chatwoot-Timestamp"
	// chatwootTolerance is how far an event's timestamp may be from our
	// clock: older ones are replays, newer ones a wrong clock.
	chatwootTolerance = 5 * time.Minute
	// maxTextBytes bounds a user's message, as the seed-format endpoint does.
	maxTextBytes = 10 << 10
)

// Verify checks X-Chatwoot-Signature: "sha256=" and the hex HMAC-SHA256,
// keyed with the webhook's secret, of X-Chatwoot-Timestamp + "." + body.
func (Chatwoot) Verify(cfg *store.WebhookConfig, h http.Header, body []byte, now time.Time) error {
	sig, ts := h.Get(chatwootSignature), h.Get(chatwootTimestamp)
	if sig == "" && ts == "" {
		return ErrUnsigned
	}
	if sig == "" || ts == "" {
		return fmt.Errorf("%s and %s must come together", chatwootSignature, chatwootTimestamp)
	}
	secs, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%s is not unix seconds", chatwootTimestamp)
	}
	if d := now.Sub(time.Unix(secs, 0)); d > chatwootTolerance || d < -chatwootTolerance {
		return fmt.Errorf("%s is %s away from our clock (tolerance %s): a replay, or a wrong clock", chatwootTimestamp, d.Round(time.Second), chatwootTolerance)
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
	if err != nil || !strings.HasPrefix(sig, "sha256=") {
		return fmt.Errorf("%s is not sha256=<hex>", chatwootSignature)
	}
	mac := hmac.New(sha256.New, []byte(cfg.Secret))
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature does not match: check platform_secret (the webhook's secret, not the bot's access token)")
	}
	return nil
}

// cwID is a Chatwoot id: a JSON number (or a string of one, tolerated).
type cwID string

func (id *cwID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*id = ""
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err == nil {
		*id = cwID(n.String())
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("an id must be a number or a string")
	}
	*id = cwID(s)
	return nil
}

// cwMessageType is "incoming", "outgoing", "activity" or "template"; the
// API's integer form (0-3) is read as the same.
type cwMessageType string

func (t *cwMessageType) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = cwMessageType(s)
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("message_type must be a string or a number")
	}
	names := []string{"incoming", "outgoing", "activity", "template"}
	if n >= 0 && n < len(names) {
		*t = cwMessageType(names[n])
	}
	return nil
}

type cwSender struct {
	ID   cwID   `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

type cwMeta struct {
	Sender   *cwSender `json:"sender"`
	Assignee *cwSender `json:"assignee"`
}

type cwConversation struct {
	ID     cwID   `json:"id"`
	Status string `json:"status"`
	Meta   cwMeta `json:"meta"`
}

// cwEvent is the part of a Chatwoot webhook the adapter reads. Message
// events carry the message at the top and its conversation nested;
// conversation events carry the conversation at the top.
type cwEvent struct {
	Event        string          `json:"event"`
	ID           cwID            `json:"id"`
	Content      *string         `json:"content"`
	MessageType  cwMessageType   `json:"message_type"`
	Private      bool            `json:"private"`
	Sender       *cwSender       `json:"sender"`
	Conversation *cwConversation `json:"conversation"`
	Account      *struct {
		ID cwID `json:"id"`
	} `json:"account"`
	Status            string            `json:"status"`
	Meta              cwMeta            `json:"meta"`
	ChangedAttributes []json.RawMessage `json:"changed_attributes"`
}

// Parse reads a Chatwoot webhook: one event per POST.
func (c Chatwoot) Parse(cfg *store.WebhookConfig, body []byte) ([]Event, error) {
	ev, err := c.parse(cfg, body)
	if err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

func (Chatwoot) parse(cfg *store.WebhookConfig, body []byte) (Event, error) {
	var e cwEvent
	if err := json.Unmarshal(body, &e); err != nil {
		return Event{}, apperr.Invalidf("body", "not a Chatwoot webhook event: %v", err)
	}
	if e.Event == "" {
		return Event{}, apperr.Invalidf("event", "a Chatwoot webhook event needs its \"event\" name")
	}
	if e.Account != nil && e.Account.ID != "" && cfg.Account != "" && string(e.Account.ID) != cfg.Account {
		return Event{Kind: Ignore, Reason: "event of account " + string(e.Account.ID) + ", not this integration's " + cfg.Account}, nil
	}
	switch e.Event {
	case "message_created":
		return parseChatwootMessage(cfg, &e)
	case "conversation_status_changed":
		return chatwootStatus(string(e.ID), e.Status), nil
	case "conversation_updated":
		if assignedToAgent(e.ChangedAttributes) && e.Status != "resolved" {
			return Event{Kind: Pause, Reason: store.PauseAssigned, ConversationID: string(e.ID)}, nil
		}
		return Event{Kind: Ignore, Reason: "conversation update without an assignment to an agent"}, nil
	}
	return Event{Kind: Ignore, Reason: "event " + e.Event + " is not used"}, nil
}

func parseChatwootMessage(cfg *store.WebhookConfig, e *cwEvent) (Event, error) {
	if e.Conversation == nil || e.Conversation.ID == "" {
		return Event{}, apperr.Invalidf("conversation.id", "message_created needs conversation.id")
	}
	conv := string(e.Conversation.ID)
	if e.Private {
		return Event{Kind: Ignore, Reason: "private note", ConversationID: conv}, nil
	}
	switch e.MessageType {
	case "incoming":
	case "outgoing":
		switch {
		case isOurBot(cfg.BotID, e.Sender):
			return Event{Kind: Ignore, Reason: "the bot's own message", ConversationID: conv}, nil
		case e.Sender == nil || e.Sender.Type == "" || strings.EqualFold(e.Sender.Type, "user"):
			// An agent, from any client: a sender of null is an agent
			// replying from the mobile app.
			return Event{Kind: Pause, Reason: store.PauseAgentReply, ConversationID: conv, SentID: string(e.ID)}, nil
		default:
			return Event{Kind: Ignore, Reason: "message of another bot (" + e.Sender.Type + ")", ConversationID: conv}, nil
		}
	default:
		return Event{Kind: Ignore, Reason: "message type " + string(e.MessageType) + " is not a user's message", ConversationID: conv}, nil
	}
	if e.ID == "" {
		return Event{}, apperr.Invalidf("id", "message_created needs the message id (it is the retry's dedupe key)")
	}
	text := ""
	if e.Content != nil {
		text = strings.TrimSpace(*e.Content)
	}
	if text == "" {
		return Event{Kind: Ignore, Reason: "message without text (an attachment only)", ConversationID: conv}, nil
	}
	if len(text) > maxTextBytes || !utf8.ValidString(text) {
		return Event{}, apperr.New(apperr.TooLarge, "content must be valid UTF-8 of at most %d bytes", maxTextBytes)
	}
	user := e.Sender
	if user == nil || user.ID == "" {
		user = e.Conversation.Meta.Sender
	}
	if user == nil || user.ID == "" {
		return Event{}, apperr.Invalidf("sender.id", "message_created needs sender.id or conversation.meta.sender.id")
	}
	return Event{Kind: Message, ConversationID: conv, HumanOwned: e.Conversation.Status == "open",
		Inbound: conversation.Inbound{UserID: string(user.ID), Username: user.Name, Text: text, PlatformMessageID: string(e.ID)}}, nil
}

// isOurBot reports whether sender is the bot: botID "agent_bot:3" or
// "user:7" (the account whose token replies) names it; with no bot id,
// any agent bot is taken for ours.
func isOurBot(botID string, sender *cwSender) bool {
	if sender == nil {
		return false
	}
	typ, id, found := strings.Cut(botID, ":")
	if !found {
		typ, id = "agent_bot", botID
	}
	if botID == "" {
		return strings.EqualFold(sender.Type, "agent_bot")
	}
	return strings.EqualFold(sender.Type, typ) && string(sender.ID) == id
}

// chatwootStatus is what a status change means: "open" is a human's,
// "resolved" ends it, "pending" is the bot's again.
func chatwootStatus(conv, status string) Event {
	if conv == "" {
		return Event{Kind: Ignore, Reason: "status change without a conversation id"}
	}
	switch status {
	case "open":
		return Event{Kind: Pause, Reason: store.PauseStatusOpen, ConversationID: conv}
	case "resolved":
		return Event{Kind: Resume, Reason: store.ResumeResolved, ConversationID: conv}
	case "pending":
		return Event{Kind: Resume, Reason: store.ResumeHandback, ConversationID: conv}
	}
	return Event{Kind: Ignore, Reason: "status " + status + " changes nothing", ConversationID: conv}
}

// assignedToAgent reports whether changed_attributes ([{"assignee_id":
// {"previous_value": ..., "current_value": 5}}]) assign an agent.
func assignedToAgent(changes []json.RawMessage) bool {
	for _, raw := range changes {
		var c map[string]struct {
			Current json.RawMessage `json:"current_value"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		if a, ok := c["assignee_id"]; ok {
			v := strings.TrimSpace(string(a.Current))
			if v != "" && v != "null" {
				return true
			}
		}
	}
	return false
}
