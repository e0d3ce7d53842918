package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// keyRetentionNext (in bucketMeta) is the id of the first message the
// retention sweep has not yet looked at: messages are numbered in the
// order they arrive, so each sweep goes on from there, never over the
// whole history again.
var keyRetentionNext = []byte("retention_next_message_id")

// retentionBatch bounds the messages one transaction of a sweep changes.
const retentionBatch = 1000

// RetentionReport counts what a sweep removed.
type RetentionReport struct {
	Messages     int `json:"messages"`      // texts (and platform metadata) removed
	Turns        int `json:"turns"`         // conversation memory turns removed
	Feedback     int `json:"feedback"`      // ratings whose comment and question were removed
	GapQuestions int `json:"gap_questions"` // gap questions removed
}

// RedactBefore removes the text of everything stored before cutoff while
// keeping the records and counts: each message's text and metadata (its
// type, status, times, response type and sources stay), the memory's turns,
// the ratings' comments and questions (the ratings stay), and the gap
// questions. Messages are swept from where the last sweep stopped, in
// transactions of 1,000.
func (s *Store) RedactBefore(cutoff time.Time) (RetentionReport, error) {
	var rep RetentionReport
	for {
		var n int
		var done bool
		err := s.update(func(tx *bolt.Tx) (err error) {
			n, done, err = redactMessagesTx(tx, cutoff, s.now().UTC())
			return err
		})
		if err != nil {
			return rep, fmt.Errorf("retention: messages: %w", err)
		}
		rep.Messages += n
		if done {
			break
		}
	}
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if rep.Turns, err = redactTurnsTx(tx, cutoff); err != nil {
			return err
		}
		if rep.Feedback, err = redactFeedbackTx(tx, cutoff); err != nil {
			return err
		}
		rep.GapQuestions, err = deleteJSONWhere(tx, bucketGaps, func(g *GapQuestion) bool { return g.At.Before(cutoff) })
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	return rep, nil
}

// redactMessagesTx clears up to retentionBatch messages from the
// watermark on; done when it reached a message at or after cutoff, or
// the end.
func redactMessagesTx(tx *bolt.Tx, cutoff, now time.Time) (n int, done bool, err error) {
	meta := tx.Bucket(bucketMeta)
	next := btoi(meta.Get(keyRetentionNext))
	c := tx.Bucket(bucketMessages).Cursor()
	var ids []uint64
	k, v := c.Seek(itob(next))
	for ; k != nil && len(ids) < retentionBatch; k, v = c.Next() {
		var m struct {
			CreatedAt time.Time `json:"created_at"`
		}
		if err := json.Unmarshal(v, &m); err != nil {
			return 0, false, fmt.Errorf("decode message %d: %w", btoi(k), err)
		}
		if !m.CreatedAt.Before(cutoff) {
			done = true
			break
		}
		ids = append(ids, btoi(k))
	}
	if k == nil {
		done = true
	}
	for _, id := range ids {
		if _, err := updateMessageTx(tx, id, now, func(m *Message) error {
			if m.Text != "" || m.Metadata != nil {
				n++
			}
			m.Text, m.Metadata = "", nil
			return nil
		}); err != nil {
			return 0, false, err
		}
	}
	if len(ids) > 0 {
		if err := meta.Put(keyRetentionNext, itob(ids[len(ids)-1]+1)); err != nil {
			return 0, false, err
		}
	}
	return n, done, nil
}

// redactTurnsTx drops the memory's turns said before cutoff.
func redactTurnsTx(tx *bolt.Tx, cutoff time.Time) (int, error) {
	b := tx.Bucket(bucketConversations)
	n := 0
	type change struct {
		key  []byte
		data []byte // nil: delete
	}
	var changes []change
	err := b.ForEach(func(k, v []byte) error {
		var c Conversation
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("decode conversation memory: %w", err)
		}
		kept := c.Turns[:0:0]
		for _, t := range c.Turns {
			if t.At.Before(cutoff) {
				n++
			} else {
				kept = append(kept, t)
			}
		}
		if len(kept) == len(c.Turns) {
			return nil
		}
		if len(kept) == 0 {
			changes = append(changes, change{key: clone(k)})
			return nil
		}
		c.Turns = kept
		data, err := json.Marshal(c)
		if err != nil {
			return err
		}
		changes = append(changes, change{key: clone(k), data: data})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, ch := range changes {
		if ch.data == nil {
			err = b.Delete(ch.key)
		} else {
			err = b.Put(ch.key, ch.data)
		}
		if err != nil {
			return 0, err
		}
	}
	return n, nil
}

// redactFeedbackTx clears the comment and question of ratings given
// before cutoff.
func redactFeedbackTx(tx *bolt.Tx, cutoff time.Time) (int, error) {
	b := tx.Bucket(bucketFeedback)
	n := 0
	var keys, values [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var f Feedback
		if err := json.Unmarshal(v, &f); err != nil {
			return fmt.Errorf("decode feedback: %w", err)
		}
		if !f.UpdatedAt.Before(cutoff) || (f.Comment == "" && f.Question == "") {
			return nil
		}
		f.Comment, f.Question = "", ""
		data, err := json.Marshal(f)
		if err != nil {
			return err
		}
		keys, values = append(keys, clone(k)), append(values, data)
		n++
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, k := range keys {
		if err := b.Put(k, values[i]); err != nil {
			return 0, err
		}
	}
	return n, nil
}
