package livechat

import (
	"sync"
	"time"

	"github.com/chatbot/chatbot/store"
)

// Event types on the agent streams.
const (
	EventSessionOpened      = "session_opened"      // a user asked for a human
	EventUserMessage        = "user_message"        // the user wrote in an open session
	EventSessionAccepted    = "session_accepted"    // an agent took it
	EventAgentMessage       = "agent_message"       // the agent replied
	EventSessionTransferred = "session_transferred" // handed to another agent
	EventNoAgent            = "no_agent"            // nobody accepted in time; the user was told
	EventSessionClosed      = "session_closed"      // ended by an agent or the timeout
	// EventReset is sent (never stored) when a reconnecting client asks to
	// resume after an event that has left the buffer: it must reload.
	EventReset = "reset"
)

// Event is one thing that happened to a session, as the agent console sees it.
type Event struct {
	ID        uint64                 `json:"id"`
	Type      string                 `json:"type"`
	SessionID string                 `json:"session_id"`
	Session   *store.LiveChatSession `json:"session,omitempty"` // the session after the change
	Message   *EventMessage          `json:"message,omitempty"`
	Time      time.Time              `json:"time"`
}

// EventMessage is the message an event carries.
type EventMessage struct {
	ID         uint64 `json:"id,omitempty"` // stored message id, when stored here
	Sender     string `json:"sender"`
	SenderType string `json:"sender_type"` // user, agent, system
	Text       string `json:"text"`
}

// Hub fans events out to the agent streams and keeps the last ones in a
// bounded ring so a reconnecting client can resume from Last-Event-ID.
//
// Event ids increase strictly. They start at the hub's creation time in
// microseconds, so ids of a restarted process are larger than those of the
// previous one and a client's stale Last-Event-ID is detected as a gap.
type Hub struct {
	mu     sync.Mutex
	next   uint64
	ring   []Event // circular, len = capacity
	start  int     // index of the oldest event
	n      int     // events held
	subs   map[*Subscription]struct{}
	closed bool
}

// Subscription is one stream's view of the hub.
type Subscription struct {
	session string // "" for all sessions
	ch      chan Event
}

// Events delivers the subscription's live events. It is closed when the
// client falls too far behind (it should reconnect with Last-Event-ID), or
// when the hub closes.
func (s *Subscription) Events() <-chan Event { return s.ch }

// subscriberBuffer is how many events a slow stream may lag before it is
// cut off (and replays from the ring when it reconnects).
const subscriberBuffer = 64

// NewHub returns a hub keeping the last capacity events (at least 16).
func NewHub(capacity int, now time.Time) *Hub {
	capacity = max(capacity, 16)
	return &Hub{next: uint64(now.UnixMicro()), ring: make([]Event, capacity), subs: map[*Subscription]struct{}{}}
}

// Publish stamps ev with the next id and sends it to the matching streams.
// It never blocks: a stream whose buffer is full is closed instead.
func (h *Hub) Publish(ev Event) Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.next++
	ev.ID = h.next
	if h.n < len(h.ring) {
		h.ring[(h.start+h.n)%len(h.ring)] = ev
		h.n++
	} else {
		h.ring[h.start] = ev
		h.start = (h.start + 1) % len(h.ring)
	}
	for sub := range h.subs {
		if sub.session != "" && sub.session != ev.SessionID {
			continue
		}
		select {
		case sub.ch <- ev:
		default:
			delete(h.subs, sub)
			close(sub.ch)
		}
	}
	return ev
}

// Subscribe registers a stream for session ("" for all). With after > 0 it
// also returns the buffered events after that id; gap reports that some
// events after it are no longer buffered (or the id is from another
// process). Replay and registration happen under one lock, so no event
// falls between them. head is the newest id at that moment. ok is false
// once the hub is closed.
func (h *Hub) Subscribe(session string, after uint64) (sub *Subscription, replay []Event, head uint64, gap, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, 0, false, false
	}
	if after > 0 {
		oldest := h.next + 1 // the id the next event gets, when none is held
		if h.n > 0 {
			oldest = h.ring[h.start].ID
		}
		// An id this process never gave out, or events after it that
		// have left the ring.
		gap = after > h.next || oldest > after+1
		for i := range h.n {
			ev := h.ring[(h.start+i)%len(h.ring)]
			if ev.ID > after && (session == "" || ev.SessionID == session) {
				replay = append(replay, ev)
			}
		}
	}
	sub = &Subscription{session: session, ch: make(chan Event, subscriberBuffer)}
	h.subs[sub] = struct{}{}
	return sub, replay, h.next, gap, true
}

// LastID is the id of the newest event (or the starting point if none).
func (h *Hub) LastID() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.next
}

// Unsubscribe removes sub; safe to call after the hub dropped it.
func (h *Hub) Unsubscribe(sub *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[sub]; ok {
		delete(h.subs, sub)
		close(sub.ch)
	}
}

// Subscribers is the number of open streams.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close ends every stream and refuses new ones. The server calls it at
// shutdown (http.Server.RegisterOnShutdown), since Shutdown does not cancel
// the contexts of long-lived requests. Idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for sub := range h.subs {
		delete(h.subs, sub)
		close(sub.ch)
	}
}
