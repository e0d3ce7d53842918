package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketConversations = []byte("conversations") // conversationKey -> Conversation JSON

// Conversation roles.
const (
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// Turn is one message of a conversation's memory.
type Turn struct {
	Role         string    `json:"role"` // RoleUser or RoleAssistant
	Text         string    `json:"text"`
	ResponseType string    `json:"response_type,omitempty"` // for assistant turns
	Query        string    `json:"query,omitempty"`         // for user turns: the standalone question retrieval used
	Tokens       int       `json:"tokens"`                  // the caller's estimate, used for the budget
	At           time.Time `json:"at"`
}

// Conversation is the remembered recent history of one conversation on one
// platform, oldest turn first.
type Conversation struct {
	Platform       string    `json:"platform"`
	ConversationID string    `json:"conversation_id"`
	Turns          []Turn    `json:"turns"`
	TotalTurns     int       `json:"total_turns"` // turns ever appended, kept or not
	UpdatedAt      time.Time `json:"updated_at"`
}

// conversationKey is length-prefixed so that no pair of (platform, id)
// strings, whatever bytes they hold, maps to the key of another pair.
func conversationKey(platform, conversationID string) []byte {
	k := binary.AppendUvarint(nil, uint64(len(platform)))
	k = append(k, platform...)
	return append(k, conversationID...)
}

// Conversation returns the memory of (platform, conversationID), or an
// error wrapping ErrNotFound when nothing has been said in it yet.
func (s *Store) Conversation(platform, conversationID string) (Conversation, error) {
	var c Conversation
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketConversations).Get(conversationKey(platform, conversationID))
		if v == nil {
			return fmt.Errorf("conversation %q on %q: %w", conversationID, platform, ErrNotFound)
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode conversation %q on %q: %w", conversationID, platform, err)
		}
		return nil
	})
	return c, err
}

// AppendTurns adds turns to the conversation's memory and then drops the
// oldest turns until the kept ones fit in budget tokens (the sum of
// Turn.Tokens) and number at most maxTurns. The newest turn is always kept.
// Turns with a zero time get the store's clock. It returns the memory as
// stored.
func (s *Store) AppendTurns(platform, conversationID string, budget, maxTurns int, turns ...Turn) (Conversation, error) {
	if len(turns) == 0 {
		return Conversation{}, errors.New("append turns: no turns given")
	}
	var c Conversation
	err := s.batch(func(tx *bolt.Tx) error {
		c = Conversation{} // batch may run this twice: start from the stored state
		b := tx.Bucket(bucketConversations)
		key := conversationKey(platform, conversationID)
		if v := b.Get(key); v != nil {
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode conversation %q on %q: %w", conversationID, platform, err)
			}
		}
		now := s.now()
		c.Platform, c.ConversationID, c.UpdatedAt = platform, conversationID, now
		for _, t := range turns {
			if t.At.IsZero() {
				t.At = now
			}
			c.Turns = append(c.Turns, t)
		}
		c.TotalTurns += len(turns)
		c.Turns = trimTurns(c.Turns, budget, maxTurns)
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode conversation %q on %q: %w", conversationID, platform, err)
		}
		return b.Put(key, data)
	})
	if err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// trimTurns keeps the newest turns within budget tokens and maxTurns
// (non-positive limits mean no limit); the newest turn always stays.
func trimTurns(turns []Turn, budget, maxTurns int) []Turn {
	start, total := len(turns)-1, turns[len(turns)-1].Tokens
	for start > 0 {
		next := total + turns[start-1].Tokens
		if budget > 0 && next > budget {
			break
		}
		if maxTurns > 0 && len(turns)-start+1 > maxTurns {
			break
		}
		start, total = start-1, next
	}
	return append([]Turn(nil), turns[start:]...)
}

// DeleteConversation forgets the memory of (platform, conversationID). It
// is not an error when there is none.
func (s *Store) DeleteConversation(platform, conversationID string) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConversations).Delete(conversationKey(platform, conversationID))
	})
}
