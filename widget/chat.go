package widget

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// Widget chat limits.
const (
	// MaxChatMessage is the largest visitor message, in bytes (as for webhooks).
	MaxChatMessage = 10 << 10
	chatBodyLimit  = 16 << 10
	// Platform is the platform name of widget conversations.
	Platform = store.WidgetPlatform
)

var conversationIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{8,100}$`)

type chatInput struct {
	Message        string `json:"message"`
	ConversationID string `json:"conversation_id"`
	Handoff        bool   `json:"handoff"`
}

type chatOutput struct {
	Success        bool              `json:"success"`
	ConversationID string            `json:"conversation_id"`
	Answer         string            `json:"answer"`
	ResponseType   chat.ResponseType `json:"response_type"`
	Sources        []chat.Source     `json:"sources"`
	SessionID      string            `json:"session_id,omitempty"`
}

func (h *Handler) chat(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	wd, origin, err := h.widgetFor(r)
	if err != nil {
		h.limiter.count("refused")
		h.fail(w, r, err)
		return
	}
	setCORS(w, origin)
	// The body is validated before the rate is spent: invalid requests,
	// whoever sends them, leave the visitors' budget alone.
	var in chatInput
	if err := decodeChat(w, r, &in); err != nil {
		h.limiter.count("invalid")
		h.fail(w, r, err)
		return
	}
	if wait := h.limiter.take(wd.ID, h.clientIP(r), wd.RatePerMinute); wait > 0 {
		h.limiter.count("rate_limited")
		e := apperr.New(apperr.RateLimited, "too many messages; try again in %d seconds", retryAfter(wait))
		e.RetryAfterSeconds = retryAfter(wait)
		h.fail(w, r, e)
		return
	}
	if h.opts.Turns == nil {
		h.limiter.count("unavailable")
		h.fail(w, r, apperr.New(apperr.Unavailable, "the assistant is not available right now"))
		return
	}
	// The turn stores the visitor's message first, like a platform's:
	// operators see widget chats, and agents see them in the live-chat
	// transcript. The conversation is the widget's own (WidgetID): a
	// visitor of another site sending the same conversation_id reaches
	// another conversation. The reply is in the response (no delivery);
	// agent replies are polled (messages).
	ctx, stream := h.openChatStream(w, r) // nil unless the request accepts text/event-stream
	out, err := h.opts.Turns.Handle(ctx, conversation.Inbound{Channel: conversation.Widget,
		WidgetID: wd.ID, Platform: Platform, ConversationID: in.ConversationID,
		UserID: "visitor_" + in.ConversationID, Username: "Website visitor",
		Text: in.Message, Handoff: in.Handoff, Mode: store.ResponseSync,
	})
	if err != nil {
		h.limiter.count("error")
		if _, ok := apperr.As(err); !ok {
			err = apperr.Wrap(apperr.Unavailable, err, "the assistant could not answer; try again")
		}
		h.failChat(w, r, stream, err)
		return
	}
	h.limiter.count("answered")
	reply := out.Answer
	sources := reply.Sources
	if sources == nil {
		sources = []chat.Source{}
	}
	h.writeChat(w, stream, chatOutput{
		Success: true, ConversationID: in.ConversationID, Answer: reply.Answer,
		ResponseType: reply.Type, Sources: sources, SessionID: reply.SessionID,
	})
}

// visitorMessage is what the widget shows of a stored message.
type visitorMessage struct {
	ID         uint64    `json:"id"`
	Sender     string    `json:"sender"`
	SenderType string    `json:"sender_type"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"created_at"`
}

// maxVisitorMessages bounds one poll's answer.
const maxVisitorMessages = 50

// messages answers the widget's poll during a live chat: the agent's
// replies and the system notices of the conversation after the id given.
// Polls have their own budget per widget, ten times the chat rate.
func (h *Handler) messages(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	wd, origin, err := h.widgetFor(r)
	if err != nil {
		h.limiter.count("refused")
		h.fail(w, r, err)
		return
	}
	setCORS(w, origin)
	if wait := h.limiter.take(pollBucket(wd.ID), h.clientIP(r), 10*wd.RatePerMinute); wait > 0 {
		e := apperr.New(apperr.RateLimited, "polling too often; try again in %d seconds", retryAfter(wait))
		e.RetryAfterSeconds = retryAfter(wait)
		h.fail(w, r, e)
		return
	}
	q := r.URL.Query()
	conv := q.Get("conversation_id")
	if !conversationIDPattern.MatchString(conv) {
		h.fail(w, r, httpapi.QueryError("conversation_id", "must be 8 to 100 letters, digits, _ or -"))
		return
	}
	var after uint64
	if s := q.Get("after"); s != "" {
		if after, err = strconv.ParseUint(s, 10, 64); err != nil {
			h.fail(w, r, httpapi.QueryError("after", "must be a message id"))
			return
		}
	}
	if h.opts.Conversations == nil {
		h.fail(w, r, apperr.New(apperr.Unavailable, "live chat is not available"))
		return
	}
	msgs, err := h.opts.Conversations.ConversationMessages(store.ConvRef{WidgetID: wd.ID, Platform: Platform, ConversationID: conv})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := []visitorMessage{}
	for _, m := range msgs {
		agent := m.Type == store.MessageAgentOutgoing
		// The hand-off notice is not polled: the visitor got it as the
		// answer to the message that asked for a human (as a platform's
		// user does, conversation.Outcome.Handed).
		system := m.Type == store.MessageOutgoing && m.SenderType == "system" && m.ResponseType != chat.TypeLiveChatTransfer
		if m.ID <= after || !(agent || system) {
			continue
		}
		st := "system"
		if agent {
			st = "agent"
		}
		out = append(out, visitorMessage{ID: m.ID, Sender: m.Sender, SenderType: st, Text: m.Text, CreatedAt: m.CreatedAt})
		if len(out) == maxVisitorMessages {
			break
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "messages": out})
}

// decodeChat reads and validates a chat request. The raw body must be
// valid UTF-8: encoding/json would quietly turn invalid bytes into U+FFFD.
func decodeChat(w http.ResponseWriter, r *http.Request, in *chatInput) error {
	body, err := httpapi.ReadBody(w, r, chatBodyLimit)
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return apperr.Invalidf("", "request body must be valid UTF-8")
	}
	if err := httpapi.Unmarshal(body, in); err != nil {
		return err
	}
	return validateChat(in)
}

func validateChat(in *chatInput) error {
	if len(in.Message) > MaxChatMessage {
		return apperr.New(apperr.TooLarge, "message is %d bytes; the limit is %d", len(in.Message), MaxChatMessage)
	}
	if !utf8.ValidString(in.Message) {
		return apperr.Invalidf("message", "message must be valid UTF-8 text")
	}
	// As for webhooks: no NUL or other control characters but line breaks and tabs.
	if strings.ContainsFunc(in.Message, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) {
		return apperr.Invalidf("message", "message must not contain NUL or other control characters")
	}
	if in.Message == "" && !in.Handoff {
		return apperr.Invalidf("message", "message is required")
	}
	if in.Message == "" {
		in.Message = "I would like to talk to a human."
	}
	if in.ConversationID == "" {
		in.ConversationID = secret.NewToken("w_")
	} else if !conversationIDPattern.MatchString(in.ConversationID) {
		return apperr.Invalidf("conversation_id", "conversation_id must be 8 to 100 letters, digits, _ or -")
	}
	return nil
}
