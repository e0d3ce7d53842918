package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// PurgeReport counts what PurgeUser removed.
type PurgeReport struct {
	UserID           string `json:"user_id"`
	Conversations    int    `json:"conversations"`      // conversations of the user, whole
	Messages         int    `json:"messages"`           // theirs, the bot's and agents' in them
	Memories         int    `json:"memories"`           // conversation memories
	Feedback         int    `json:"feedback"`           // ratings of, or by, the user
	LiveChatSessions int    `json:"live_chat_sessions"` // hand-offs
	Deliveries       int    `json:"deliveries"`         // queued deliveries and their webhook ids
	DedupeKeys       int    `json:"dedupe_keys"`        // the platform's message ids remembered for retries
	Outcomes         int    `json:"outcomes"`           // conversation outcome records (the day counts stay)
	GapQuestions     int    `json:"gap_questions"`
}

// PurgeUser deletes everything stored about one user (a right-to-erasure
// request), in one transaction: every conversation in which a message or
// a live-chat session names userID, whole (the user's messages, the
// answers and agents' replies to them, the memory, the live-chat
// sessions, the queued deliveries, the dedupe keys, the outcome records,
// the gap questions and ratings), and any rating whose rater is userID.
// The anonymous day counts of the insights stay. bbolt does not wipe the
// pages it frees (it reuses them for later writes), so until then the
// bytes may remain in the file's free space.
func (s *Store) PurgeUser(userID string) (PurgeReport, error) {
	rep := PurgeReport{UserID: userID}
	if userID == "" {
		return rep, errors.New("purge: the user id is empty")
	}
	err := s.update(func(tx *bolt.Tx) error {
		rep = PurgeReport{UserID: userID}
		refs, loose, err := userConversationsTx(tx, userID)
		if err != nil {
			return err
		}
		rep.Conversations = len(refs)
		ids := map[uint64]bool{}
		for _, id := range loose {
			ids[id] = true
		}
		cm := tx.Bucket(bucketConvMessages)
		for key := range refs {
			prefix := []byte(key)
			c := cm.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if len(k) == len(prefix)+8 {
					ids[btoi(k[len(prefix):])] = true
				}
			}
		}
		for id := range ids {
			queued, err := deleteMessageTx(tx, id)
			if err != nil {
				return err
			}
			rep.Messages++
			if queued {
				rep.Deliveries++
			}
		}
		if rep.DedupeKeys, err = purgeDedupeTx(tx, ids); err != nil {
			return err
		}
		for key := range refs {
			k := []byte(key)
			if tx.Bucket(bucketConversations).Get(k) != nil {
				rep.Memories++
				if err := tx.Bucket(bucketConversations).Delete(k); err != nil {
					return err
				}
			}
			if tx.Bucket(bucketOutcomes).Get(k) != nil {
				rep.Outcomes++
				if err := tx.Bucket(bucketOutcomes).Delete(k); err != nil {
					return err
				}
			}
			if err := tx.Bucket(bucketLiveChatOpen).Delete(k); err != nil {
				return err
			}
		}
		if err := deleteWhere(tx, bucketOutcomePending, func(k, _ []byte) bool { return len(k) > 8 && refs[string(k[8:])] }); err != nil {
			return err
		}
		if rep.LiveChatSessions, err = deleteJSONWhere(tx, bucketLiveChats, func(l *LiveChatSession) bool {
			return l.UserID == userID || refs[string(l.Ref().key())]
		}); err != nil {
			return err
		}
		if rep.Feedback, err = deleteJSONWhere(tx, bucketFeedback, func(f *Feedback) bool {
			return ids[f.MessageID] || f.UserID == userID || f.Rater == userID || refs[string(f.ref().key())]
		}); err != nil {
			return err
		}
		rep.GapQuestions, err = deleteJSONWhere(tx, bucketGaps, func(g *GapQuestion) bool {
			return ids[g.QuestionID] || g.UserID == userID
		})
		return err
	})
	if err != nil {
		return PurgeReport{}, fmt.Errorf("purge user: %w", err)
	}
	return rep, nil
}

func (f *Feedback) ref() ConvRef {
	return ConvRef{ConfigID: f.ConfigID, WidgetID: f.WidgetID, Platform: f.Platform, ConversationID: f.ConversationID}
}

// userConversationsTx finds the conversations (by key) in which a message
// or a live-chat session names userID, and the ids of the user's messages
// outside any conversation. It reads every message: erasure is rare.
func userConversationsTx(tx *bolt.Tx, userID string) (refs map[string]bool, loose []uint64, err error) {
	refs = map[string]bool{}
	quoted, err := json.Marshal(userID) // as it appears in the records
	if err != nil {
		return nil, nil, err
	}
	needle := quoted[1 : len(quoted)-1]
	err = tx.Bucket(bucketMessages).ForEach(func(k, v []byte) error {
		var m struct {
			UserID string `json:"user_id"`
		}
		if !bytes.Contains(v, needle) { // most records: no decoding
			return nil
		}
		if err := json.Unmarshal(v, &m); err != nil || m.UserID != userID {
			return err
		}
		var full Message
		if err := json.Unmarshal(v, &full); err != nil {
			return err
		}
		if full.ConversationID == "" {
			loose = append(loose, btoi(k))
		} else {
			refs[string(full.Ref().key())] = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	err = tx.Bucket(bucketLiveChats).ForEach(func(_, v []byte) error {
		var l LiveChatSession
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		if l.UserID == userID {
			refs[string(l.Ref().key())] = true
		}
		return nil
	})
	return refs, loose, err
}

// deleteMessageTx removes message id and every index entry of it, and its
// delivery if one was queued (queued says so).
func deleteMessageTx(tx *bolt.Tx, id uint64) (queued bool, err error) {
	m, err := getMessageTx(tx, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := unindexMessageTx(tx, id, indexFieldsOf(m)); err != nil {
		return false, err
	}
	if err := unindexConvMessageTx(tx, m); err != nil {
		return false, err
	}
	queued = tx.Bucket(bucketDeliveryJobs).Get(itob(id)) != nil || tx.Bucket(bucketWebhookIDs).Get(itob(id)) != nil
	if err := unqueueTx(tx, id); err != nil {
		return false, err
	}
	for _, b := range [][]byte{bucketWebhookIDs, bucketUnanswered, bucketMessages} {
		if err := tx.Bucket(b).Delete(itob(id)); err != nil {
			return false, err
		}
	}
	return queued, nil
}

// purgeDedupeTx removes the dedupe entries of the messages ids.
func purgeDedupeTx(tx *bolt.Tx, ids map[uint64]bool) (int, error) {
	n := 0
	byTime := tx.Bucket(bucketDedupeByTime)
	err := deleteWhere(tx, bucketDedupe, func(_, v []byte) bool {
		if len(v) != 16 || !ids[btoi(v[:8])] {
			return false
		}
		n++
		_ = byTime.Delete(append(clone(v[8:]), v[:8]...)) // the time index entry, same id
		return true
	})
	if err != nil {
		return 0, err
	}
	// Time entries whose key entry was already replaced.
	err = deleteWhere(tx, bucketDedupeByTime, func(k, _ []byte) bool { return len(k) == 16 && ids[btoi(k[8:])] })
	return n, err
}

// deleteWhere deletes the keys of bucket for which match is true.
func deleteWhere(tx *bolt.Tx, bucket []byte, match func(k, v []byte) bool) error {
	b := tx.Bucket(bucket)
	var del [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		if match(k, v) {
			del = append(del, clone(k))
		}
		return nil
	}); err != nil {
		return err
	}
	for _, k := range del {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// deleteJSONWhere deletes the records of bucket (JSON of T) for which
// match is true and returns how many.
func deleteJSONWhere[T any](tx *bolt.Tx, bucket []byte, match func(*T) bool) (int, error) {
	n := 0
	var decodeErr error
	err := deleteWhere(tx, bucket, func(k, v []byte) bool {
		var rec T
		if err := json.Unmarshal(v, &rec); err != nil {
			decodeErr = fmt.Errorf("decode %s record: %w", bucket, err)
			return false
		}
		if match(&rec) {
			n++
			return true
		}
		return false
	})
	if err == nil {
		err = decodeErr
	}
	return n, err
}
