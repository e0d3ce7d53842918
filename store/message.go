package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// MessageType says who wrote a message and which way it goes.
type MessageType string

// Message types.
const (
	MessageIncoming      MessageType = "incoming"       // from the platform's user
	MessageOutgoing      MessageType = "outgoing"       // the bot's answer or a system notice
	MessageAgentOutgoing MessageType = "agent_outgoing" // a human agent's reply
)

// Status is where a message is in its life: stored, waiting for
// delivery, delivered, failed.
type Status string

// Message statuses.
const (
	StatusReceived Status = "received" // incoming, stored
	StatusPending  Status = "pending"  // outgoing, waiting for delivery
	StatusSent     Status = "sent"     // outgoing, delivered (or nothing to deliver to)
	StatusFailed   Status = "failed"   // outgoing, retries exhausted or not deliverable
	// StatusHeld: outgoing (an agent's reply, a live-chat notice) on an
	// integration with no outgoing URL: it waits for the user's next
	// message, whose response hands it over (then it is sent).
	StatusHeld Status = "held"
)

// ResponseType says how the reply to a message was produced (the chat
// engine's values: rag_knowledge_base, extractive, no_answer, general,
// live_chat_transfer, live_chat_message).
type ResponseType string

// ResponseMode is how an integration answers its platform: in the HTTP
// response (sync) or later through its outgoing URL only (async).
type ResponseMode string

// Response modes.
const (
	ResponseSync  ResponseMode = "sync"
	ResponseAsync ResponseMode = "async"
)

// MessageSource is a cited passage of an answer.
type MessageSource struct {
	Title  string `json:"title"`
	Source string `json:"source"`
	// URL is the document's public address, when known (front matter,
	// the ingest's base URL, a crawled page's canonical URL).
	URL   string  `json:"url,omitempty"`
	Score float64 `json:"score"`
}

// Message is one stored message, incoming or outgoing, with the outcome of
// its delivery when it is outgoing.
type Message struct {
	ID       uint64      `json:"id"`
	Type     MessageType `json:"message_type"`
	Status   Status      `json:"status"`
	ConfigID uint64      `json:"config_id"`
	// WidgetID is the website widget a widget conversation's message
	// belongs to (ConfigID is then 0): a widget is its own integration.
	WidgetID          uint64          `json:"widget_id,omitempty"`
	Platform          string          `json:"platform"`
	ConversationID    string          `json:"conversation_id"`
	UserID            string          `json:"user_id"`
	Username          string          `json:"username,omitempty"`
	Text              string          `json:"message"`
	ResponseType      ResponseType    `json:"response_type,omitempty"`
	Sources           []MessageSource `json:"sources,omitempty"`
	PlatformMessageID string          `json:"platform_message_id,omitempty"`
	ReplyTo           uint64          `json:"reply_to,omitempty"` // the incoming message this answers
	// Handoff is the platform's "talk to a human" flag on an incoming
	// message; kept so an async answer produced later still honours it.
	Handoff bool `json:"handoff,omitempty"`
	// ResponseID is set on an incoming message once its outgoing answer is
	// stored (0 when the reply needed no outgoing message, e.g. routed to
	// a live-chat agent; ResponseType then says what happened).
	ResponseID uint64 `json:"response_id,omitempty"`
	// Handed are the held messages (agent replies, notices) handed over in
	// the response to this incoming message, oldest first.
	Handed []uint64 `json:"handed,omitempty"`
	// Metadata is the platform's object about the user or conversation,
	// as it sent it (incoming only).
	Metadata   json.RawMessage `json:"metadata,omitempty"`
	SessionID  string          `json:"session_id,omitempty"`
	Sender     string          `json:"sender,omitempty"`
	SenderType string          `json:"sender_type,omitempty"` // bot, agent, system, user
	LatencyMS  int64           `json:"latency_ms,omitempty"`  // answer time
	// Delivery outcome (outgoing only).
	Attempts          int       `json:"attempts"`
	LastHTTPStatus    int       `json:"last_http_status,omitempty"`
	LastError         string    `json:"last_error,omitempty"`
	DeliveryLatencyMS int64     `json:"delivery_latency_ms,omitempty"`
	DeliveredAt       time.Time `json:"delivered_at,omitzero"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
}

var bucketDeliveryJobs = []byte("delivery_jobs") // message id -> DeliveryJob JSON

// DeliveryJob is one pending delivery of an outgoing message. It is written
// in the same transaction as the message it carries.
type DeliveryJob struct {
	MessageID      uint64    `json:"message_id"`
	ConfigID       uint64    `json:"config_id"`
	ConversationID string    `json:"conversation_id"` // deliveries of one conversation keep their order
	WebhookID      string    `json:"webhook_id"`      // stable across retries; receivers dedupe on it
	Attempt        int       `json:"attempt"`         // attempts made so far
	NextAttemptAt  time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time `json:"created_at"`
}

// putDeliveryJobTx stores job inside tx. Callers that write an outgoing
// message call it in the same transaction, so a message is never pending
// without a job nor a job without its message.
func putDeliveryJobTx(tx *bolt.Tx, job DeliveryJob) error {
	return enqueueDeliveryTx(tx, job) // deliveries.go: queue order and due index
}

var bucketMessages = []byte("messages") // id -> Message JSON

// getMessageTx reads message id inside tx.
func getMessageTx(tx *bolt.Tx, id uint64) (*Message, error) {
	v := tx.Bucket(bucketMessages).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("message %d: %w", id, ErrNotFound)
	}
	var m Message
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("decode message %d: %w", id, err)
	}
	return &m, nil
}

// updateMessageTx applies change to message id inside tx. It is the only
// way to change a stored message, so the listing indexes (messages.go) stay
// in step with the records: when the platform, type, status or
// conversation changes, the old index entries and counts go and new ones
// come.
func updateMessageTx(tx *bolt.Tx, id uint64, now time.Time, change func(m *Message) error) (*Message, error) {
	m, err := getMessageTx(tx, id)
	if err != nil {
		return nil, err
	}
	before, beforeRef := indexFieldsOf(m), *m
	if err := change(m); err != nil {
		return nil, err
	}
	m.ID, m.UpdatedAt = id, now
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode message %d: %w", id, err)
	}
	if err := tx.Bucket(bucketMessages).Put(itob(id), data); err != nil {
		return nil, err
	}
	if after := indexFieldsOf(m); after != before {
		if err := reindexMessageTx(tx, id, before, after); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(beforeRef.Ref().key(), m.Ref().key()) {
		if err := unindexConvMessageTx(tx, &beforeRef); err != nil {
			return nil, err
		}
		if err := indexConvMessageTx(tx, m); err != nil {
			return nil, err
		}
	}
	return m, nil
}
