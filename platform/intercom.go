package platform

import (
	"crypto/hmac"
	"crypto/sha1" // Intercom signs its webhooks with HMAC-SHA1; not our choice
	"encoding/hex"
	"encoding/json"
	"errors"
	"html"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// Intercom is the adapter of Intercom's webhooks (conversation topics)
// and its REST API. Settings: api_url https://api.intercom.io (or the
// region's), api_token an access token, platform_secret the app's client
// secret, bot_id the admin id the bot replies as (required),
// handoff_target the team or admin to assign a hand-off to (empty: run the
// assignment rules).
type Intercom struct{}

// Verify checks X-Hub-Signature: "sha1=" and the hex HMAC-SHA1, keyed with
// the client secret, of the body. Intercom sends no timestamp: a replay is
// caught by the dedupe on the message's id.
func (Intercom) Verify(cfg *store.WebhookConfig, h http.Header, body []byte, _ time.Time) error {
	sig := h.Get("X-Hub-Signature")
	if sig == "" {
		return ErrUnsigned
	}
	got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha1="))
	if err != nil || !strings.HasPrefix(sig, "sha1=") {
		return errors.New("X-Hub-Signature is not sha1=<hex>")
	}
	mac := hmac.New(sha1.New, []byte(cfg.Secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature does not match: check platform_secret (the app's client secret)")
	}
	return nil
}

type icAuthor struct {
	Type string `json:"type"`
	ID   cwID   `json:"id"`
	Name string `json:"name"`
}

type icPart struct {
	ID       cwID     `json:"id"`
	PartType string   `json:"part_type"`
	Body     *string  `json:"body"`
	Author   icAuthor `json:"author"`
}

type icNotification struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Topic string `json:"topic"`
	Data  struct {
		Item *struct {
			ID              cwID `json:"id"`
			AdminAssigneeID cwID `json:"admin_assignee_id"`
			Source          struct {
				ID     cwID     `json:"id"`
				Body   *string  `json:"body"`
				Author icAuthor `json:"author"`
			} `json:"source"`
			Parts struct {
				Parts []icPart `json:"conversation_parts"`
			} `json:"conversation_parts"`
		} `json:"item"`
	} `json:"data"`
}

// Parse reads an Intercom notification: one event per POST.
func (Intercom) Parse(cfg *store.WebhookConfig, body []byte) ([]Event, error) {
	ev, err := parseIntercom(cfg, body)
	if err != nil {
		return nil, err
	}
	return []Event{ev}, nil
}

func parseIntercom(cfg *store.WebhookConfig, body []byte) (Event, error) {
	var n icNotification
	if err := json.Unmarshal(body, &n); err != nil {
		return Event{}, apperr.Invalidf("body", "not an Intercom notification: %v", err)
	}
	if n.Type != "notification_event" || n.Topic == "" {
		return Event{}, apperr.Invalidf("type", "an Intercom notification has type \"notification_event\" and a topic")
	}
	if n.Topic == "ping" {
		return Event{Kind: Ignore, Reason: "ping"}, nil
	}
	item := n.Data.Item
	if item == nil || item.ID == "" {
		return Event{Kind: Ignore, Reason: "topic " + n.Topic + " without a conversation"}, nil
	}
	conv := string(item.ID)
	assignedToOther := item.AdminAssigneeID != "" && string(item.AdminAssigneeID) != cfg.BotID
	switch n.Topic {
	case "conversation.user.created":
		src := item.Source
		return intercomMessage(conv, string(src.ID), src.Author, src.Body, assignedToOther)
	case "conversation.user.replied":
		p := newestComment(item.Parts.Parts, func(a icAuthor) bool { return isIntercomUser(a.Type) })
		if p == nil {
			return Event{Kind: Ignore, Reason: "reply without a user's comment", ConversationID: conv}, nil
		}
		return intercomMessage(conv, string(p.ID), p.Author, p.Body, assignedToOther)
	case "conversation.admin.replied":
		p := newestComment(item.Parts.Parts, func(a icAuthor) bool { return a.Type == "admin" })
		if p != nil && string(p.Author.ID) == cfg.BotID {
			return Event{Kind: Ignore, Reason: "the bot's own message", ConversationID: conv}, nil
		}
		ev := Event{Kind: Pause, Reason: store.PauseAgentReply, ConversationID: conv}
		if p != nil {
			ev.SentID = string(p.ID)
		}
		return ev, nil
	case "conversation.admin.assigned":
		if assignedToOther {
			return Event{Kind: Pause, Reason: store.PauseAssigned, ConversationID: conv}, nil
		}
		return Event{Kind: Ignore, Reason: "assigned to the bot or a team, not an agent", ConversationID: conv}, nil
	case "conversation.admin.closed":
		return Event{Kind: Resume, Reason: store.ResumeResolved, ConversationID: conv}, nil
	}
	return Event{Kind: Ignore, Reason: "topic " + n.Topic + " is not used", ConversationID: conv}, nil
}

func isIntercomUser(t string) bool { return t == "user" || t == "lead" || t == "contact" }

// newestComment is the last comment part whose author matches.
func newestComment(parts []icPart, author func(icAuthor) bool) *icPart {
	for i := len(parts) - 1; i >= 0; i-- {
		if parts[i].PartType == "comment" && author(parts[i].Author) {
			return &parts[i]
		}
	}
	return nil
}

func intercomMessage(conv, id string, author icAuthor, body *string, humanOwned bool) (Event, error) {
	if !isIntercomUser(author.Type) {
		return Event{Kind: Ignore, Reason: "message of a " + author.Type + " author", ConversationID: conv}, nil
	}
	text := ""
	if body != nil {
		text = htmlText(*body)
	}
	if text == "" {
		return Event{Kind: Ignore, Reason: "message without text", ConversationID: conv}, nil
	}
	if len(text) > maxTextBytes || !utf8.ValidString(text) {
		return Event{}, apperr.New(apperr.TooLarge, "the message body must be valid UTF-8 of at most %d bytes", maxTextBytes)
	}
	if id == "" || author.ID == "" {
		return Event{}, apperr.Invalidf("data.item", "a user's message needs its part id and author id")
	}
	return Event{Kind: Message, ConversationID: conv, HumanOwned: humanOwned,
		Inbound: conversation.Inbound{UserID: string(author.ID), Username: author.Name, Text: text, PlatformMessageID: id}}, nil
}

// htmlText is the text of Intercom's HTML body: tags dropped (a block
// tag or a line break becomes a space, an inline one nothing), entities
// decoded, spaces collapsed.
func htmlText(s string) string {
	var b, tag strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<' && !inTag:
			inTag = true
			tag.Reset()
		case r == '>' && inTag:
			inTag = false
			name, _, _ := strings.Cut(strings.Trim(strings.ToLower(tag.String()), "/ "), " ")
			if blockTags[name] {
				b.WriteByte(' ')
			}
		case inTag:
			tag.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
}

var blockTags = map[string]bool{"p": true, "br": true, "div": true, "li": true, "ul": true, "ol": true, "tr": true,
	"td": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true, "pre": true}
