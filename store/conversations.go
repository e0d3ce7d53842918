package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

var (
	bucketConversations = []byte("conversations") // ConvRef.key() -> Conversation JSON
	// bucketConvMessages lists each conversation's messages, so a
	// transcript is read by its integration and id, not by the provider.
	bucketConvMessages = []byte("conversation_messages") // ConvRef.key() || message id(8) -> empty
)

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

// Conversation is the remembered recent history of one conversation of one
// integration, oldest turn first.
type Conversation struct {
	ConfigID       uint64    `json:"config_id,omitempty"`
	WidgetID       uint64    `json:"widget_id,omitempty"`
	Platform       string    `json:"platform"`
	ConversationID string    `json:"conversation_id"`
	Turns          []Turn    `json:"turns"`
	TotalTurns     int       `json:"total_turns"` // turns ever appended, kept or not
	UpdatedAt      time.Time `json:"updated_at"`

	// stored identifies the record this was decoded from (its length and
	// CRC-32C), so a write that starts from it (MemoryAppend.Base) need
	// not decode the record again when it is unchanged.
	stored recordSum
}

// recordSum is a cheap identity of a stored record.
type recordSum struct {
	n   int
	crc uint32
}

func sumOf(v []byte) recordSum { return recordSum{n: len(v), crc: crc32.Checksum(v, castagnoli)} }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ConvRef names one conversation: the integration it came through and its
// id there. Two integrations of one provider (two Zendesk brands, a staging
// and a production Chatwoot) may each have a conversation "42" of a
// different person, so every key built from a conversation (its memory, its
// live-chat session, its transcript) starts with the integration, never
// with the provider name alone.
type ConvRef struct {
	ConfigID uint64 // the webhook integration; or
	WidgetID uint64 // the website widget; with neither,
	// Platform names the caller ("cli" for `chatbot ask`). It is part of the
	// key only when there is no integration: a provider name alone never
	// reaches another integration's conversations.
	Platform       string
	ConversationID string
}

// scopeKey is the integration part of every key: 'c' || config id,
// 'w' || widget id, or 'p' || uvarint(len) || platform. The tag and the
// fixed or length-prefixed width make it self-delimiting, so no scope's key
// is the prefix of another's.
func (r ConvRef) scopeKey() []byte {
	switch {
	case r.ConfigID != 0:
		return append([]byte{'c'}, itob(r.ConfigID)...)
	case r.WidgetID != 0:
		return append([]byte{'w'}, itob(r.WidgetID)...)
	}
	k := binary.AppendUvarint([]byte{'p'}, uint64(len(r.Platform)))
	return append(k, r.Platform...)
}

// key is scopeKey || uvarint(len) || conversation id; length-prefixed so
// that a key followed by a message id is never another conversation's.
func (r ConvRef) key() []byte {
	k := binary.AppendUvarint(r.scopeKey(), uint64(len(r.ConversationID)))
	return append(k, r.ConversationID...)
}

// Key identifies the conversation, for maps of its in-memory state (the
// engine's per-conversation order).
func (r ConvRef) Key() string { return string(r.key()) }

// String names the conversation in errors and logs.
func (r ConvRef) String() string {
	switch {
	case r.ConfigID != 0:
		return fmt.Sprintf("conversation %q of integration %d", r.ConversationID, r.ConfigID)
	case r.WidgetID != 0:
		return fmt.Sprintf("conversation %q of widget %d", r.ConversationID, r.WidgetID)
	}
	return fmt.Sprintf("conversation %q on %q", r.ConversationID, r.Platform)
}

// Ref is the conversation the message belongs to.
func (m *Message) Ref() ConvRef {
	return ConvRef{ConfigID: m.ConfigID, WidgetID: m.WidgetID, Platform: m.Platform, ConversationID: m.ConversationID}
}

// indexConvMessageTx lists message id under its conversation (none for a
// message without one).
func indexConvMessageTx(tx *bolt.Tx, m *Message) error {
	if m.ConversationID == "" {
		return nil
	}
	return tx.Bucket(bucketConvMessages).Put(append(m.Ref().key(), itob(m.ID)...), []byte{})
}

func unindexConvMessageTx(tx *bolt.Tx, m *Message) error {
	if m.ConversationID == "" {
		return nil
	}
	return tx.Bucket(bucketConvMessages).Delete(append(m.Ref().key(), itob(m.ID)...))
}

// ConversationMessages returns the newest limit messages of the
// conversation (incoming, outgoing and agent_outgoing), oldest first.
func (s *Store) ConversationMessages(ref ConvRef, limit int) ([]Message, error) {
	var out []Message
	err := s.view(func(tx *bolt.Tx) error {
		prefix := ref.key()
		b := tx.Bucket(bucketConvMessages)
		if b == nil { // a schema-1 file opened read-only: not migrated yet
			return nil
		}
		c := b.Cursor()
		k, _ := c.Seek(append(clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
		if k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
		for ; k != nil && len(out) < limit && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
			m, err := getMessageTx(tx, btoi(k[len(prefix):]))
			if err != nil {
				return err
			}
			out = append(out, *m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("messages of %s: %w", ref, err)
	}
	slices.Reverse(out)
	return out, nil
}

// Conversation returns the memory of ref, or an error wrapping ErrNotFound
// when nothing has been said in it yet.
func (s *Store) Conversation(ref ConvRef) (Conversation, error) {
	var c Conversation
	err := s.view(func(tx *bolt.Tx) error {
		key := ref.key()
		v := tx.Bucket(bucketConversations).Get(key)
		if v == nil {
			return fmt.Errorf("%s: %w", ref, ErrNotFound)
		}
		sum := sumOf(v)
		if cached, ok := s.memos.get(key, sum); ok {
			c = cached
			return nil
		}
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode %s: %w", ref, err)
		}
		c.stored = sum
		s.memos.put(key, c)
		return nil
	})
	return c, err
}

// AppendTurns adds turns to the conversation's memory and then drops the
// oldest turns until the kept ones fit in budget tokens (the sum of
// Turn.Tokens) and number at most maxTurns. The newest turn is always kept.
// Turns with a zero time get the store's clock. It returns the memory as
// stored.
func (s *Store) AppendTurns(ref ConvRef, budget, maxTurns int, turns ...Turn) (Conversation, error) {
	if len(turns) == 0 {
		return Conversation{}, errors.New("append turns: no turns given")
	}
	var c Conversation
	err := s.batch(func(tx *bolt.Tx) (err error) {
		// batch may run this twice: appendTurnsTx starts from the stored state
		c, err = appendTurnsTx(tx, ref, s.now(), budget, maxTurns, turns, nil)
		return err
	})
	if err != nil {
		return Conversation{}, err
	}
	s.memos.put(ref.key(), c)
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

// DeleteConversation forgets the memory of ref. It is not an error when
// there is none.
func (s *Store) DeleteConversation(ref ConvRef) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketConversations).Delete(ref.key())
	})
}
