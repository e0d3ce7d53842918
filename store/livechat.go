package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketLiveChats    = []byte("livechat_sessions") // session id -> LiveChatSession JSON
	bucketLiveChatOpen = []byte("livechat_open")     // ConvRef.key() -> id of its open session
)

// Live-chat session states. A session goes waiting -> active -> closed, or
// waiting -> closed when nobody accepts it; closed is final.
const (
	LiveChatWaiting = "waiting" // opened, no agent yet
	LiveChatActive  = "active"  // an agent has accepted it
	LiveChatClosed  = "closed"  // ended; the bot answers again
)

// LiveChatSession is one hand-over of a conversation to a human agent.
type LiveChatSession struct {
	ID    string `json:"id"` // live_<random>
	State string `json:"state"`
	// ConfigID (or WidgetID) is the integration the conversation came
	// through: the session holds that integration's conversation only, and
	// its notices and the agent's replies go out through it.
	ConfigID       uint64 `json:"config_id,omitempty"`
	WidgetID       uint64 `json:"widget_id,omitempty"`
	Platform       string `json:"platform"`
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
	Username       string `json:"username,omitempty"`
	Agent          string `json:"agent,omitempty"`
	// MessageCount counts the messages of the session, both ways; the user's
	// and the agent's are also counted apart. Notices are not counted.
	MessageCount      int       `json:"message_count"`
	UserMessages      int       `json:"user_messages"`
	AgentMessages     int       `json:"agent_messages"`
	ClosedBy          string    `json:"closed_by,omitempty"` // agent or timeout
	CreatedAt         time.Time `json:"created_at"`
	AcceptedAt        time.Time `json:"accepted_at,omitzero"`
	ClosedAt          time.Time `json:"closed_at,omitzero"`
	LastMessageAt     time.Time `json:"last_message_at,omitzero"`
	NoAgentNotifiedAt time.Time `json:"no_agent_notified_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// Open reports whether the session still holds its conversation.
func (l *LiveChatSession) Open() bool { return l.State == LiveChatWaiting || l.State == LiveChatActive }

// Ref is the conversation the session holds.
func (l *LiveChatSession) Ref() ConvRef {
	return ConvRef{ConfigID: l.ConfigID, WidgetID: l.WidgetID, Platform: l.Platform, ConversationID: l.ConversationID}
}

func getLiveChatTx(tx *bolt.Tx, id string) (*LiveChatSession, error) {
	v := tx.Bucket(bucketLiveChats).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("live chat session %q: %w", id, ErrNotFound)
	}
	var l LiveChatSession
	if err := json.Unmarshal(v, &l); err != nil { // decodes into fresh values
		return nil, fmt.Errorf("decode live chat session %q: %w", id, err)
	}
	return &l, nil
}

func putLiveChatTx(tx *bolt.Tx, l *LiveChatSession) error {
	data, err := json.Marshal(l)
	if err != nil {
		return fmt.Errorf("encode live chat session %q: %w", l.ID, err)
	}
	if err := tx.Bucket(bucketLiveChats).Put([]byte(l.ID), data); err != nil {
		return fmt.Errorf("put live chat session %q: %w", l.ID, err)
	}
	open := tx.Bucket(bucketLiveChatOpen)
	key := l.Ref().key()
	if l.Open() {
		return open.Put(key, []byte(l.ID))
	}
	if cur := open.Get(key); cur != nil && string(cur) == l.ID {
		return open.Delete(key)
	}
	return nil
}

// CreateLiveChat stores a new waiting session. The caller chooses l.ID. If
// the conversation already has an open session it returns that session
// together with an error wrapping ErrConflict, so at most one session per
// conversation is ever open.
func (s *Store) CreateLiveChat(l *LiveChatSession) (*LiveChatSession, error) {
	var out *LiveChatSession
	err := s.update(func(tx *bolt.Tx) error {
		if id := tx.Bucket(bucketLiveChatOpen).Get(l.Ref().key()); id != nil {
			cur, err := getLiveChatTx(tx, string(id))
			if err != nil {
				return err
			}
			out = cur
			return fmt.Errorf("%s already has live chat session %q: %w", l.Ref(), cur.ID, ErrConflict)
		}
		if tx.Bucket(bucketLiveChats).Get([]byte(l.ID)) != nil {
			return fmt.Errorf("live chat session id %q: %w", l.ID, ErrConflict)
		}
		c := *l
		now := s.now().UTC()
		c.State, c.CreatedAt, c.UpdatedAt = LiveChatWaiting, now, now
		if err := putLiveChatTx(tx, &c); err != nil {
			return err
		}
		out = &c
		return nil
	})
	return out, err
}

// LiveChat returns the session with this id.
func (s *Store) LiveChat(id string) (*LiveChatSession, error) {
	var l *LiveChatSession
	err := s.view(func(tx *bolt.Tx) (err error) {
		l, err = getLiveChatTx(tx, id)
		return err
	})
	return l, err
}

// OpenLiveChat returns the conversation's open (waiting or active) session,
// or ErrNotFound. The same conversation id of another integration is
// another conversation.
func (s *Store) OpenLiveChat(ref ConvRef) (*LiveChatSession, error) {
	var l *LiveChatSession
	err := s.view(func(tx *bolt.Tx) (err error) {
		id := tx.Bucket(bucketLiveChatOpen).Get(ref.key())
		if id == nil {
			return fmt.Errorf("open live chat session for %s: %w", ref, ErrNotFound)
		}
		l, err = getLiveChatTx(tx, string(id))
		return err
	})
	return l, err
}

// UpdateLiveChat applies change to the session inside one transaction and
// keeps the open-session index in step. change sees the current record, so
// a state check inside it is race-free: of two concurrent accepts exactly
// one sees "waiting". An error from change aborts the update and is
// returned as is.
func (s *Store) UpdateLiveChat(id string, change func(l *LiveChatSession) error) (*LiveChatSession, error) {
	var out *LiveChatSession
	err := s.update(func(tx *bolt.Tx) error {
		l, err := getLiveChatTx(tx, id)
		if err != nil {
			return err
		}
		wasOpen, ref := l.Open(), l.Ref()
		if err := change(l); err != nil {
			return err
		}
		if l.Ref() != ref {
			return fmt.Errorf("live chat session %q: its conversation and integration cannot change: %w", id, ErrConflict)
		}
		if !wasOpen && l.Open() {
			return fmt.Errorf("live chat session %q is closed and cannot be reopened: %w", id, ErrConflict)
		}
		l.ID, l.UpdatedAt = id, s.now().UTC()
		if err := putLiveChatTx(tx, l); err != nil {
			return err
		}
		out = l
		return nil
	})
	return out, err
}

// UpdateOpenLiveChat applies change to the conversation's open session in
// one transaction, or returns ErrNotFound when it has none. The engine uses
// it to count a user's message so that the message and a concurrent close
// are ordered by bbolt's single writer: one of them commits first.
func (s *Store) UpdateOpenLiveChat(ref ConvRef, change func(l *LiveChatSession) error) (*LiveChatSession, error) {
	var out *LiveChatSession
	err := s.update(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketLiveChatOpen).Get(ref.key())
		if id == nil {
			return fmt.Errorf("open live chat session for %s: %w", ref, ErrNotFound)
		}
		l, err := getLiveChatTx(tx, string(id))
		if err != nil {
			return err
		}
		if err := change(l); err != nil {
			return err
		}
		if !l.Open() {
			return fmt.Errorf("live chat session %q: close it with UpdateLiveChat: %w", l.ID, ErrConflict)
		}
		l.UpdatedAt = s.now().UTC()
		if err := putLiveChatTx(tx, l); err != nil {
			return err
		}
		out = l
		return nil
	})
	return out, err
}

// LiveChats lists sessions, newest first; state "" lists every state.
func (s *Store) LiveChats(state string) ([]*LiveChatSession, error) {
	out := []*LiveChatSession{}
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketLiveChats).ForEach(func(k, v []byte) error {
			var l LiveChatSession
			if err := json.Unmarshal(v, &l); err != nil {
				return fmt.Errorf("decode live chat session %q: %w", k, err)
			}
			if state == "" || l.State == state {
				out = append(out, &l)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}
