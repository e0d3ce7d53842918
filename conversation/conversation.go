// Package conversation is the turn: one user message in, one outcome out.
// Every channel (a platform's webhook, the website widget, `chatbot ask`)
// translates its request into an Inbound and its reply out of an Outcome;
// the steps between are written once, here, in this order:
//
//  1. dedupe: a platform's retry of a message id it sent before gets the
//     first outcome, also while the first is still being answered;
//  2. store the incoming message with its dedupe key: on arrival for a
//     channel that answers later (Accept: durable before its 202); for a
//     channel that answers in the same request (Receive) in the reply's
//     transaction (step 4), or alone first when live chat or a step may
//     take the message, or when the turn fails (docs/turn.md);
//  3. live chat and the answer: the engine (chat.Engine) routes the message
//     to the human agent who has the conversation, opens a hand-off, or
//     answers from the knowledge base;
//  4. store the reply with its delivery job, the memory and the outcome
//     (one transaction), or record that live chat took the message;
//  5. hand over what waits for the user (agent replies on a channel with
//     no outgoing URL), each message exactly once.
//
// What stays with a channel: authenticating the caller, limits, parsing
// its format, how many answers it lets run at once, and writing the reply
// in its own shape.
package conversation

import (
	"encoding/json"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Channel is the way a message came in.
type Channel string

// Channels.
const (
	Webhook Channel = "webhook" // a support platform's webhook (POST /api/webhook/incoming)
	Widget  Channel = "widget"  // the website widget (POST /api/chat)
	CLI     Channel = "cli"     // chatbot ask (POST /api/ask, or the data directory itself)
)

// Inbound is one user message, normalised by its channel.
type Inbound struct {
	Channel Channel
	// ConfigID (a webhook integration) or WidgetID (a website widget) is the
	// integration the message came through; both are 0 for chatbot ask.
	// With ConversationID it names the conversation: the same id through
	// another integration is another conversation.
	ConfigID       uint64
	WidgetID       uint64
	Platform       string
	ConversationID string
	UserID         string
	Username       string
	Text           string
	// PlatformMessageID is the platform's id of the message; a message id
	// seen before (within the retention) is a retry: it gets the first
	// outcome and no second answer.
	PlatformMessageID string
	// Handoff is the user's explicit "talk to a human" (a platform's flag,
	// the widget's button).
	Handoff bool
	// Metadata is the platform's free-form object about the user or the
	// conversation (JSON), stored with the message for later steps.
	Metadata json.RawMessage
	// Mode says what a retry racing the first delivery waits for: the
	// stored answer (sync) or only the stored message (async).
	Mode store.ResponseMode
	// Deliver queues the reply to the integration's outgoing URL. Without
	// it the reply is the response itself, and agent replies wait, held,
	// for the user's next message (Outcome.Handed).
	Deliver bool
}

// ref is the conversation of the message.
func (in Inbound) ref() store.ConvRef {
	return store.ConvRef{ConfigID: in.ConfigID, WidgetID: in.WidgetID, Platform: in.Platform, ConversationID: in.ConversationID}
}

// message is the incoming message to store.
func (in Inbound) message() *store.Message {
	return &store.Message{ConfigID: in.ConfigID, WidgetID: in.WidgetID, Platform: in.Platform,
		ConversationID: in.ConversationID, UserID: in.UserID, Username: in.Username, Text: in.Text,
		PlatformMessageID: in.PlatformMessageID, Handoff: in.Handoff, Metadata: in.Metadata, SenderType: "user"}
}

// Outcome is what became of an Inbound.
type Outcome struct {
	// Message is the stored incoming message.
	Message *store.Message
	// Reply is the stored reply (its ID is the response_id); nil when live
	// chat took the message (Answer.Type says which way).
	Reply *store.Message
	// Answer is the engine's reply; for a duplicate, rebuilt from the
	// stored one (no timings, no fallback reason).
	Answer chat.Reply
	// Duplicate marks a platform's retry answered from the first outcome.
	Duplicate bool
	// Handed are the messages that waited for this user's next message
	// (agent replies and notices on a channel with no outgoing URL),
	// oldest first; each is handed over once, with the message that
	// carried it (a retry of that message gets them again).
	Handed []store.Message
	// Recorded says the Recorders' records were written with the reply
	// (Observe must not write them again).
	Recorded bool
}

// ResponseID is the stored reply's id, 0 when there is none.
func (o Outcome) ResponseID() uint64 {
	if o.Reply == nil {
		return 0
	}
	return o.Reply.ID
}

// Sources are the reply's cited passages, never nil.
func (o Outcome) Sources() []store.MessageSource {
	out := make([]store.MessageSource, 0, len(o.Answer.Sources))
	for _, s := range o.Answer.Sources {
		out = append(out, store.MessageSource{Title: s.Title, Source: s.Source, URL: s.URL, Score: s.Score})
	}
	return out
}

// isLiveChat reports whether a reply type means live chat took the message.
func isLiveChat(t store.ResponseType) bool {
	return t == chat.TypeLiveChatMessage || t == chat.TypeLiveChatTransfer
}

// handled reports whether an incoming message has its reply recorded.
func handled(m *store.Message) bool { return m.ResponseID != 0 || m.ResponseType != "" }
