// Package livechat hands a conversation to a human agent: it detects a
// user's request for a person, keeps live-chat sessions (waiting -> active
// -> closed) in the store, routes the user's messages to the agent's event
// stream instead of the AI while a session is open, and serves the agent
// API under /api/livechat.
package livechat

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Store is what the manager needs of the store, which *store.Store is: it
// is passed once, not once per role.
type Store interface {
	Now() time.Time
	// The sessions.
	CreateLiveChat(l *store.LiveChatSession) (*store.LiveChatSession, error)
	LiveChat(id string) (*store.LiveChatSession, error)
	OpenLiveChat(ref store.ConvRef) (*store.LiveChatSession, error)
	UpdateLiveChat(id string, change func(l *store.LiveChatSession) error) (*store.LiveChatSession, error)
	UpdateOpenLiveChat(ref store.ConvRef, change func(l *store.LiveChatSession) error) (*store.LiveChatSession, error)
	LiveChats(state string) ([]*store.LiveChatSession, error)
	// AddOutgoingForDelivery stores an outgoing or agent_outgoing message
	// as pending and queues its delivery to the platform in the same
	// transaction, setting the message's id.
	AddOutgoingForDelivery(msg *store.Message) (store.DeliveryJob, error)
	// ConversationMessages reads the newest limit messages of a
	// conversation (incoming, outgoing and agent_outgoing), oldest first:
	// those of its integration only.
	ConversationMessages(ref store.ConvRef, limit int) ([]store.Message, error)
}

// No-agent timeout actions.
const (
	NoAgentNotify = "notify" // tell the user, keep the session waiting
	NoAgentClose  = "close"  // tell the user, close the session; the bot answers again
)

// Default texts of the notices an operator is most likely to reword.
const (
	DefaultTransferAnswer       = "Connecting you with a human agent. Please wait a moment; an agent will be with you shortly."
	DefaultNoAgentMessage       = "All our agents are busy right now. Please stay here: an agent will answer as soon as one is free."
	DefaultNoAgentClosedMessage = "No agent is available right now, so the assistant will keep helping you. Ask for a human again later."
)

// MaxNoticeChars bounds a configured notice text, in characters: it is
// one chat message, not a document.
const MaxNoticeChars = 1000

// CheckNotice reports a notice text that cannot be sent: blank, not UTF-8,
// or longer than MaxNoticeChars.
func CheckNotice(text string) error {
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return errors.New("must be valid UTF-8 text")
	case strings.TrimSpace(text) == "":
		return errors.New("must not be empty")
	case n > MaxNoticeChars:
		return fmt.Errorf("must be at most %d characters, not %d", MaxNoticeChars, n)
	}
	return nil
}

// Config tunes the live chat. The zero value gets the defaults.
type Config struct {
	// Phrases that ask for a human (DefaultPhrases when empty) and words
	// that do so only as the whole message (DefaultAloneWords when nil).
	Phrases    []string
	AloneWords []string
	// Texts sent to the user. {agent} is replaced by the agent's name.
	TransferAnswer       string // on opening a session, the reply and the system notice
	ConnectedMessage     string // on accept, in the agent's name
	TransferredMessage   string // on transfer, in the new agent's name
	ClosedMessage        string // on close
	NoAgentMessage       string // the timeout passed and the session stays waiting
	NoAgentClosedMessage string // the timeout passed and the session was closed
	// NoAgentTimeout is how long a session may wait for an agent before
	// NoAgentAction happens (notify or close).
	NoAgentTimeout time.Duration
	NoAgentAction  string
	// BotName is the sender of system notices (DESIGN: "Assistant").
	BotName string
	// MaxMessageBytes bounds an agent's message (10 KB).
	MaxMessageBytes int
	// EventBuffer is how many recent events the hub keeps for replay.
	EventBuffer int
	// Heartbeat is the interval of SSE keep-alive comments.
	Heartbeat time.Duration
	// TranscriptLimit is how many of the newest messages a transcript shows.
	TranscriptLimit int
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if strings.TrimSpace(*s) == "" {
			*s = v
		}
	}
	def(&c.TransferAnswer, DefaultTransferAnswer)
	def(&c.ConnectedMessage, "Agent {agent} is now connected and will help you from here.")
	def(&c.TransferredMessage, "You are now connected with Agent {agent}, who will continue helping you.")
	def(&c.ClosedMessage, "The agent has ended the chat. The assistant will answer your next message.")
	def(&c.NoAgentMessage, DefaultNoAgentMessage)
	def(&c.NoAgentClosedMessage, DefaultNoAgentClosedMessage)
	def(&c.NoAgentAction, NoAgentNotify)
	def(&c.BotName, "Assistant")
	if c.NoAgentTimeout <= 0 {
		c.NoAgentTimeout = 5 * time.Minute
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 10 << 10
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 1024
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 15 * time.Second
	}
	if c.TranscriptLimit <= 0 {
		c.TranscriptLimit = 500
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.NoAgentAction != "" && c.NoAgentAction != NoAgentNotify && c.NoAgentAction != NoAgentClose {
		return fmt.Errorf("live chat no-agent action %q: must be %q or %q", c.NoAgentAction, NoAgentNotify, NoAgentClose)
	}
	if c.NoAgentTimeout < 0 {
		return fmt.Errorf("live chat no-agent timeout %s: must not be negative", c.NoAgentTimeout)
	}
	// Empty texts get the defaults; any other text must be sendable.
	for _, t := range []struct{ name, text string }{
		{"transfer answer", c.TransferAnswer}, {"connected message", c.ConnectedMessage},
		{"transferred message", c.TransferredMessage}, {"closed message", c.ClosedMessage},
		{"no-agent message", c.NoAgentMessage}, {"no-agent closed message", c.NoAgentClosedMessage},
	} {
		if t.text == "" {
			continue
		}
		if err := CheckNotice(t.text); err != nil {
			return fmt.Errorf("live chat %s %w", t.name, err)
		}
	}
	return nil
}

// Manager owns the live-chat sessions: it opens them for the engine,
// changes their state for the agent API, sends the platform notices and
// publishes every change on the hub.
type Manager struct {
	store    Store
	detector *Detector
	hub      *Hub
	cfg      Config
	log      *slog.Logger
	// mu orders a state change and its event: the stream shows events in
	// the order their changes committed. The state checks themselves are
	// inside the store's transactions.
	mu sync.Mutex
}

// NewManager returns a manager over st, which keeps the sessions, queues
// the notices and agent messages for delivery and reads the transcripts.
func NewManager(st Store, cfg Config, log *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	return &Manager{
		store: st, cfg: cfg, log: log,
		detector: NewDetector(cfg.Phrases, cfg.AloneWords),
		hub:      NewHub(cfg.EventBuffer, st.Now()),
	}, nil
}

// Hub is the manager's event hub.
func (m *Manager) Hub() *Hub { return m.hub }

// Config is the effective configuration, defaults applied.
func (m *Manager) Config() Config { return m.cfg }

// NewSessionID returns "live_" and 16 random base32 characters (80 bits).
func NewSessionID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return "live_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Session returns a session or a NotFound error.
func (m *Manager) Session(id string) (*store.LiveChatSession, error) {
	l, err := m.store.LiveChat(id)
	if err != nil {
		return nil, m.storeErr(id, err)
	}
	return l, nil
}

// Sessions lists sessions in state ("" for all, "open" for waiting and
// active), newest first.
func (m *Manager) Sessions(state string) ([]*store.LiveChatSession, error) {
	switch state {
	case "", store.LiveChatWaiting, store.LiveChatActive, store.LiveChatClosed:
		return m.store.LiveChats(state)
	case "open":
		all, err := m.store.LiveChats("")
		if err != nil {
			return nil, err
		}
		open := all[:0]
		for _, l := range all {
			if l.Open() {
				open = append(open, l)
			}
		}
		return open, nil
	}
	return nil, apperr.Invalidf("state", "state must be waiting, active, closed or open, not %q", state)
}

// Accept gives a waiting session to agent. Of concurrent accepts exactly
// one succeeds; the others get a Conflict naming the winner. The platform
// is told "Agent <name> is now connected..." in the agent's name.
func (m *Manager) Accept(ctx context.Context, id, agent string) (*store.LiveChatSession, error) {
	agent, err := checkAgent(agent)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateLiveChat(id, func(l *store.LiveChatSession) error {
		switch l.State {
		case store.LiveChatActive:
			return apperr.New(apperr.Conflict, "session %s was already accepted by %s", id, l.Agent)
		case store.LiveChatClosed:
			return apperr.New(apperr.Conflict, "session %s is closed", id)
		}
		l.State, l.Agent, l.AcceptedAt = store.LiveChatActive, agent, m.store.Now().UTC()
		return nil
	})
	if err != nil {
		return nil, m.storeErr(id, err)
	}
	text := strings.ReplaceAll(m.cfg.ConnectedMessage, "{agent}", agent)
	msg, err := m.notify(l, store.MessageAgentOutgoing, "Agent "+agent, "agent", text, chat.TypeLiveChatMessage)
	m.publish(ctx, EventSessionAccepted, l, msg)
	m.noticeFailed(ctx, l, err)
	m.log.InfoContext(ctx, "live chat accepted", "session_id", id, "agent", agent)
	return l, nil
}

// Transfer hands an active session to another agent and tells the user.
func (m *Manager) Transfer(ctx context.Context, id, agent string) (*store.LiveChatSession, error) {
	agent, err := checkAgent(agent)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateLiveChat(id, func(l *store.LiveChatSession) error {
		switch {
		case l.State == store.LiveChatWaiting:
			return apperr.New(apperr.Conflict, "session %s is waiting for an agent; accept it instead of transferring it", id)
		case l.State == store.LiveChatClosed:
			return apperr.New(apperr.Conflict, "session %s is closed", id)
		case l.Agent == agent:
			return apperr.New(apperr.Conflict, "session %s is already with %s", id, agent)
		}
		l.Agent = agent
		return nil
	})
	if err != nil {
		return nil, m.storeErr(id, err)
	}
	text := strings.ReplaceAll(m.cfg.TransferredMessage, "{agent}", agent)
	msg, err := m.notify(l, store.MessageAgentOutgoing, "Agent "+agent, "agent", text, chat.TypeLiveChatMessage)
	m.publish(ctx, EventSessionTransferred, l, msg)
	m.noticeFailed(ctx, l, err)
	m.log.InfoContext(ctx, "live chat transferred", "session_id", id, "agent", agent)
	return l, nil
}

// Send delivers an agent's message to the platform: stored as
// agent_outgoing with sender "Agent <name>", sender_type agent and the
// session id. Only an active session takes messages.
func (m *Manager) Send(ctx context.Context, id, text string) (*store.LiveChatSession, *store.Message, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil, apperr.Invalidf("message", "message must not be empty")
	}
	if len(text) > m.cfg.MaxMessageBytes {
		return nil, nil, &apperr.Error{Code: apperr.TooLarge, Field: "message",
			Message: fmt.Sprintf("message is %d bytes; the limit is %d", len(text), m.cfg.MaxMessageBytes)}
	}
	if !utf8.ValidString(text) {
		return nil, nil, apperr.Invalidf("message", "message must be valid UTF-8")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateLiveChat(id, func(l *store.LiveChatSession) error {
		switch l.State {
		case store.LiveChatWaiting:
			return apperr.New(apperr.Conflict, "session %s is waiting for an agent; accept it (POST /api/livechat/sessions/%s/accept) before sending messages", id, id)
		case store.LiveChatClosed:
			return apperr.New(apperr.Conflict, "session %s is closed; the user is back with the bot", id)
		}
		l.AgentMessages++
		l.MessageCount++
		l.LastMessageAt = m.store.Now().UTC()
		return nil
	})
	if err != nil {
		return nil, nil, m.storeErr(id, err)
	}
	msg, err := m.notify(l, store.MessageAgentOutgoing, "Agent "+l.Agent, "agent", text, chat.TypeLiveChatMessage)
	if err != nil {
		return nil, nil, err
	}
	m.publish(ctx, EventAgentMessage, l, msg)
	return l, msg, nil
}

// Close ends an open session and tells the user; from the next message on
// the bot answers. Closing a closed session is a Conflict.
func (m *Manager) Close(ctx context.Context, id string) (*store.LiveChatSession, error) {
	return m.close(ctx, id, "agent", m.cfg.ClosedMessage, EventSessionClosed)
}

func (m *Manager) close(ctx context.Context, id, by, text, event string) (*store.LiveChatSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateLiveChat(id, func(l *store.LiveChatSession) error {
		if l.State == store.LiveChatClosed {
			return apperr.New(apperr.Conflict, "session %s is already closed", id)
		}
		l.State, l.ClosedBy, l.ClosedAt = store.LiveChatClosed, by, m.store.Now().UTC()
		return nil
	})
	if err != nil {
		return nil, m.storeErr(id, err)
	}
	msg, err := m.notify(l, store.MessageOutgoing, m.cfg.BotName, "system", text, chat.TypeLiveChatMessage)
	m.publish(ctx, event, l, msg)
	m.noticeFailed(ctx, l, err)
	m.log.InfoContext(ctx, "live chat closed", "session_id", id, "closed_by", by, "messages", l.MessageCount)
	return l, nil
}

// CheckTimeouts handles the waiting sessions older than NoAgentTimeout that
// were not yet handled: with NoAgentNotify the user is told once and the
// session keeps waiting; with NoAgentClose it is closed (closed_by
// "timeout") and the user told. It returns how many it handled.
func (m *Manager) CheckTimeouts(ctx context.Context) (int, error) {
	waiting, err := m.store.LiveChats(store.LiveChatWaiting)
	if err != nil {
		return 0, fmt.Errorf("list waiting live chats: %w", err)
	}
	deadline := m.store.Now().Add(-m.cfg.NoAgentTimeout)
	n := 0
	for _, l := range waiting {
		if !l.NoAgentNotifiedAt.IsZero() || l.CreatedAt.After(deadline) {
			continue
		}
		if m.cfg.NoAgentAction == NoAgentClose {
			_, err = m.close(ctx, l.ID, "timeout", m.cfg.NoAgentClosedMessage, EventSessionClosed)
		} else {
			err = m.notifyNoAgent(ctx, l.ID)
		}
		switch {
		case apperr.CodeOf(err) == apperr.Conflict: // accepted or closed meanwhile
		case err != nil:
			return n, fmt.Errorf("live chat %s no-agent timeout: %w", l.ID, err)
		default:
			n++
		}
	}
	return n, nil
}

func (m *Manager) notifyNoAgent(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateLiveChat(id, func(l *store.LiveChatSession) error {
		if l.State != store.LiveChatWaiting || !l.NoAgentNotifiedAt.IsZero() {
			return apperr.New(apperr.Conflict, "session %s is no longer waiting", id)
		}
		l.NoAgentNotifiedAt = m.store.Now().UTC()
		return nil
	})
	if err != nil {
		return m.storeErr(id, err)
	}
	msg, err := m.notify(l, store.MessageOutgoing, m.cfg.BotName, "system", m.cfg.NoAgentMessage, chat.TypeLiveChatMessage)
	m.publish(ctx, EventNoAgent, l, msg)
	m.noticeFailed(ctx, l, err)
	return nil
}

// noticeFailed logs a notice that could not be queued. The state change it
// announces has committed and is on the agents' streams, so the agent's
// request still succeeds; answering 500 would only make the agent retry
// into a 409.
func (m *Manager) noticeFailed(ctx context.Context, l *store.LiveChatSession, err error) {
	if err != nil {
		m.log.ErrorContext(ctx, "live chat notice to the platform not queued", "session_id", l.ID, "state", l.State, "err", err)
	}
}

// Run checks the no-agent timeout until ctx ends, at a quarter of the
// timeout (between 1 s and 30 s). Errors are logged; a panic is recovered
// and logged so the server keeps running.
func (m *Manager) Run(ctx context.Context) error {
	every := min(max(m.cfg.NoAgentTimeout/4, time.Second), 30*time.Second)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.checkSafely(ctx)
		}
	}
}

func (m *Manager) checkSafely(ctx context.Context) {
	defer func() {
		if p := recover(); p != nil {
			m.log.Error("live chat timeout check panicked", "panic", p)
		}
	}()
	if _, err := m.CheckTimeouts(ctx); err != nil {
		m.log.Warn("live chat timeout check", "err", err)
	}
}

// notify stores a message to the user of session l and queues its delivery.
func (m *Manager) notify(l *store.LiveChatSession, typ store.MessageType, sender, senderType, text string, rt chat.ResponseType) (*store.Message, error) {
	msg := &store.Message{
		Type: typ, ConfigID: l.ConfigID, WidgetID: l.WidgetID, Platform: l.Platform, ConversationID: l.ConversationID,
		UserID: l.UserID, Username: l.Username, Text: text, ResponseType: rt,
		SessionID: l.ID, Sender: sender, SenderType: senderType,
	}
	if _, err := m.store.AddOutgoingForDelivery(msg); err != nil {
		return nil, apperr.Wrap(apperr.Internal, err, "could not queue the message to the platform")
	}
	return msg, nil
}

func (m *Manager) publish(ctx context.Context, typ string, l *store.LiveChatSession, msg *store.Message) {
	ev := Event{Type: typ, SessionID: l.ID, Session: l, Time: m.store.Now().UTC()}
	if msg != nil {
		ev.Message = &EventMessage{ID: msg.ID, Sender: msg.Sender, SenderType: msg.SenderType, Text: msg.Text}
	}
	ev = m.hub.Publish(ev)
	m.log.DebugContext(ctx, "live chat event", "event", typ, "event_id", ev.ID, "session_id", l.ID, "state", l.State)
}

// storeErr turns store sentinels into API errors; apperr errors pass.
func (m *Manager) storeErr(id string, err error) error {
	if _, ok := apperr.As(err); ok {
		return err
	}
	if errors.Is(err, store.ErrNotFound) {
		return apperr.New(apperr.NotFound, "no live chat session %q", id)
	}
	return apperr.Wrap(apperr.Internal, err, "live chat session %s", id)
}

// checkAgent validates an agent's display name.
func checkAgent(agent string) (string, error) {
	agent = strings.TrimSpace(agent)
	switch {
	case agent == "":
		return "", apperr.Invalidf("agent", "agent is required: the name the user sees, e.g. \"Sarah\"")
	case utf8.RuneCountInString(agent) > 64:
		return "", apperr.Invalidf("agent", "agent must be at most 64 characters")
	case !utf8.ValidString(agent) || strings.ContainsFunc(agent, unicode.IsControl):
		return "", apperr.Invalidf("agent", "agent must be printable text without control characters")
	}
	return agent, nil
}
