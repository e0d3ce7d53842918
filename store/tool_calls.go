package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketToolCalls = []byte("tool_calls") // sequence -> ToolCall JSON

// maxToolCalls bounds the call log: the oldest calls are dropped first.
const maxToolCalls = 10000

// ToolCall records one call of an API tool, made for a turn of a
// conversation: what was asked (parameters with secrets scrubbed), how
// the API answered and how long it took. Never the response body.
type ToolCall struct {
	ID             uint64            `json:"id"`
	At             time.Time         `json:"at"`
	ConfigID       uint64            `json:"config_id,omitempty"`
	WidgetID       uint64            `json:"widget_id,omitempty"`
	Platform       string            `json:"platform,omitempty"`
	ConversationID string            `json:"conversation_id,omitempty"`
	UserID         string            `json:"user_id,omitempty"`
	Tool           string            `json:"tool"`
	Params         map[string]string `json:"params"`
	Status         int               `json:"status"` // HTTP status, 0 when none came
	LatencyMS      int64             `json:"latency_ms"`
	Outcome        string            `json:"outcome"`
}

// AppendToolCall records c (setting its ID and, when zero, its time) and
// drops the oldest records beyond the log's bound.
func (s *Store) AppendToolCall(c *ToolCall) error { return s.appendToolCall(c, maxToolCalls) }

func (s *Store) appendToolCall(c *ToolCall, keep uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketToolCalls)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		c.ID = id
		if c.At.IsZero() {
			c.At = s.now().UTC()
		}
		data, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("encode tool call: %w", err)
		}
		if err := b.Put(itob(id), data); err != nil {
			return err
		}
		if id <= keep {
			return nil
		}
		cur := b.Cursor()
		for k, _ := cur.First(); k != nil && btoi(k) <= id-keep; k, _ = cur.First() {
			if err := cur.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ToolCalls lists up to limit recorded calls, newest first.
func (s *Store) ToolCalls(limit int) ([]ToolCall, error) {
	out := []ToolCall{}
	err := s.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketToolCalls).Cursor()
		for k, v := cur.Last(); k != nil && len(out) < limit; k, v = cur.Prev() {
			var c ToolCall
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode tool call %d: %w", btoi(k), err)
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}
