// Package chat is the conversation engine: given a user's message in a
// conversation it decides whether the bot answers, hands the conversation to
// a human, or routes the message to the agent who has it, and produces the
// reply. The webhook, the widget and `chatbot ask` all go through it.
package chat

import (
	"time"

	"github.com/chatbot/chatbot/store"
)

// ResponseType says how a reply was produced; it is stored with the
// reply as it is.
type ResponseType = store.ResponseType

const (
	TypeRAG              ResponseType = "rag_knowledge_base" // LLM answer grounded in passages
	TypeExtractive       ResponseType = "extractive"         // no LLM: quoted passages
	TypeNoAnswer         ResponseType = "no_answer"          // nothing relevant; offers a human
	TypeLiveChatTransfer ResponseType = "live_chat_transfer" // a live-chat session was opened
	TypeLiveChatMessage  ResponseType = "live_chat_message"  // routed to the agent; no answer
	TypeGeneral          ResponseType = "general"            // small talk without knowledge
	TypeCurated          ResponseType = "curated"            // an operator's own question/answer pair matched
	TypeAPITool          ResponseType = "api_tool"           // from an operator's API (package tools)
)

// Request is one user message in a conversation.
type Request struct {
	// ConfigID or WidgetID is the integration the message came through.
	// With ConversationID it names the conversation (Ref): the same id of
	// another integration, of the same provider too, is another one.
	ConfigID       uint64
	WidgetID       uint64
	Platform       string // the provider; names the conversation only with no integration ("cli")
	ConversationID string
	UserID         string
	Username       string
	Text           string
	// Handoff is the platform's explicit "talk to a human" flag.
	Handoff bool
	// Metadata is the platform's free-form object about the user (JSON
	// text; a string keeps Request comparable); API tools take identity
	// values from it ({{metadata.KEY}}).
	Metadata string
}

// Ref is the conversation of the request.
func (r Request) Ref() store.ConvRef {
	return store.ConvRef{ConfigID: r.ConfigID, WidgetID: r.WidgetID, Platform: r.Platform, ConversationID: r.ConversationID}
}

// Source is a passage an answer cites.
type Source struct {
	Title  string `json:"title"`
	Source string `json:"source"` // the document's path or page, for the admin panel and the API
	// URL is the document's public address, when known: what a customer
	// can follow.
	URL   string  `json:"url,omitempty"`
	Score float64 `json:"score"`
}

// Reply is the engine's answer to a Request.
type Reply struct {
	Answer    string
	Type      ResponseType
	Sources   []Source
	SessionID string // set for live-chat replies
	// Fallback says why an LLM answer was not given (FallbackDown, ...);
	// empty for an LLM answer and for replies that need no LLM.
	Fallback string
	// Query is the retrieval query used: the message, or the message made
	// standalone from the conversation.
	Query string
	// Timings of the stages, for logs and metrics.
	Retrieval  time.Duration
	Generation time.Duration
	Total      time.Duration
	// spoken is what the conversation remembers of an LLM answer: the
	// model's own text, without the list of sources shown to the customer
	// (listCitations), which would only take up the history's tokens.
	spoken string
}
