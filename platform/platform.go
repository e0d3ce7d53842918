// Package platform holds the native adapters: a support platform
// (Chatwoot first) points its own webhook at POST
// /api/platforms/{id}/events, and the bot replies through the platform's
// own API, with no glue code in between.
//
// Each adapter does three things for its provider: verify the platform's
// signature, parse its native event into what the bot must do (answer a
// user's message, pause because a human took over, resume, or ignore),
// and send a stored reply through the platform's reply API. The rest is
// shared: the events endpoint acknowledges at once and answers through the
// conversation service in the background (platform timeouts are shorter
// than an answer); the answer goes out through the delivery queue
// (webhook.Worker with Senders as its NativeSender): durable, retried,
// per-conversation order; and the Steps keep the bot quiet in a
// conversation a human owns.
package platform

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Response types of the native adapters' turns.
const (
	// TypePaused: a human owns the conversation on the platform; the
	// message is stored and shown, not answered.
	TypePaused store.ResponseType = "platform_paused"
	// TypeHandoff: the user asked for a human; the reply is the notice,
	// and its delivery hands the conversation over on the platform.
	TypeHandoff store.ResponseType = "platform_handoff"
)

// HandoffNotice is the reply that tells the user a human takes over.
const HandoffNotice = "I'm passing you to a human agent; they will reply here shortly."

// Kind is what an event asks of the bot.
type Kind int

// Kinds of events.
const (
	Ignore  Kind = iota // nothing to do (the bot's own message, a private note, an unused event)
	Message             // a user's message to answer
	Pause               // a human took the conversation over
	Resume              // the conversation is the bot's again
)

// Event is a parsed native event.
type Event struct {
	Kind Kind
	// Reason says why an event is ignored, or the cause of a pause or a
	// resume (store.Pause*, store.Resume*).
	Reason         string
	ConversationID string
	// Inbound is the user's message (Kind Message): user, text, the
	// platform's message id; the endpoint fills in the integration.
	Inbound conversation.Inbound
	// SentID is the platform's id of an outgoing message that would pause
	// the bot: if the bot posted it, it is the bot's own echo.
	SentID string
	// HumanOwned: the platform says a human owns the conversation as this
	// message arrives (Chatwoot status "open"); it is stored, not answered.
	HumanOwned bool
}

// ErrUnsigned is a Verify error: the event carries no signature at all.
// An integration with accept_unsigned takes it (and logs it).
var ErrUnsigned = errors.New("the event carries no signature")

// Caller makes one request to a platform's API under the delivery's rules
// (*webhook.Sender).
type Caller interface {
	Call(ctx context.Context, cfg *store.WebhookConfig, req *http.Request) (webhook.Result, []byte)
}

// Adapter is one provider's native format.
type Adapter interface {
	// Verify checks the event's signature with cfg.Secret: ErrUnsigned
	// when there is none, another error when it is wrong or stale.
	Verify(cfg *store.WebhookConfig, h http.Header, body []byte, now time.Time) error
	// Parse reads the events of one POST (Sunshine Conversations sends
	// several at once); a body it cannot read is an apperr Invalid.
	Parse(cfg *store.WebhookConfig, body []byte) ([]Event, error)
	// Send delivers the stored outgoing message m through the reply API
	// (and hands over, for a TypeHandoff reply with native hand-off). sent
	// is the platform's id of the posted message, "" when unknown.
	Send(ctx context.Context, call Caller, cfg *store.WebhookConfig, m *store.Message) (res webhook.Result, sent string)
}

// Typer is an adapter whose platform shows the user that the bot is
// typing (Chatwoot's toggle_typing_status); best effort.
type Typer interface {
	Typing(ctx context.Context, call Caller, cfg *store.WebhookConfig, conversationID string) webhook.Result
}

// Adapters are the native adapters by provider.
func Adapters() map[string]Adapter {
	return map[string]Adapter{"chatwoot": Chatwoot{}, "zendesk": Sunshine{}, "intercom": Intercom{}, "freshchat": Freshchat{}}
}

// Senders is the delivery worker's NativeSender: it sends each message
// through its integration's adapter and remembers the platform's id of
// what it posted (the platform echoes it back as an outgoing message).
type Senders struct {
	adapters map[string]Adapter
	call     Caller
	store    *store.Store
	log      *slog.Logger
}

// NewSenders returns the native senders over call (the worker's
// *webhook.Sender, so native replies obey the same address policy).
func NewSenders(adapters map[string]Adapter, call Caller, st *store.Store, log *slog.Logger) *Senders {
	return &Senders{adapters: adapters, call: call, store: st, log: log}
}

// SendNative implements webhook.NativeSender.
func (s *Senders) SendNative(ctx context.Context, cfg *store.WebhookConfig, m *store.Message) webhook.Result {
	a, ok := s.adapters[cfg.Provider]
	if !ok {
		return webhook.Result{Err: errors.New("no native adapter for provider " + cfg.Provider + "; set the integration's adapter to generic"), Permanent: true}
	}
	res, sent := a.Send(ctx, s.call, cfg, m)
	if sent != "" {
		if err := s.store.RecordPlatformSent(cfg.ID, sent); err != nil {
			// Without it, only bot_id tells the echo of this message apart
			// from an agent's.
			s.log.Warn("the id of a posted message was not recorded", "config_id", cfg.ID, "message_id", m.ID, "err", err)
		}
	}
	return res
}
