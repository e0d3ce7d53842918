package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Message history: the records live in bucketMessages (id -> JSON). Two
// more buckets make the listing filters cheap without a scan:
//
//   - bucketMessageIndex holds, for each of the 8 combinations of the
//     filters platform, message_type and status a message matches, and for
//     its conversation_id alone, the key combo || id(8). Keys of one
//     combination sort by id, so "newest first" is a reverse cursor walk
//     inside its prefix. A filter on the conversation and more walks the
//     conversation's entries and reads each message: a conversation is
//     short, and the 7 combinations of the conversation with the other
//     filters were most of the cost of storing a message (each a leaf page
//     of its own, read into memory and written again by every commit: 72%
//     of a turn's allocations, BenchmarkTurn).
//   - bucketMessageCounts holds combo -> number of messages, so the exact
//     total of an indexed filter is one Get.
//
// A combo key is a mask byte (which filters are set) followed by each set
// field as uvarint(len) || bytes. That is self-delimiting, so a combo is
// never the prefix of another combo's keys.
//
// Dedupe of platform retries: bucketDedupe maps (integration, message id)
// to the incoming message and the time it arrived; bucketDedupeByTime orders
// the same entries by time so expired ones are pruned oldest first.
var (
	bucketMessageIndex  = []byte("message_index")    // combo || id(8) -> empty
	bucketMessageCounts = []byte("message_counts")   // combo -> count(8)
	bucketDedupe        = []byte("message_dedupe")   // dedupe key -> incoming id(8) || unix nanos(8)
	bucketDedupeByTime  = []byte("message_dedupe_t") // unix nanos(8) || incoming id(8) -> dedupe key
	// bucketUnanswered holds incoming messages stored but not yet answered,
	// so async answers interrupted by a restart are produced after it.
	bucketUnanswered = []byte("message_unanswered") // incoming id(8) -> empty
)

// pruneBatch bounds how many expired dedupe keys one insert removes, so an
// insert after a long pause stays quick; the rest go with later inserts.
const pruneBatch = 256

// indexFields are the message fields the listing filters on.
type indexFields struct {
	platform, typ, status, conv string
}

func indexFieldsOf(m *Message) indexFields {
	return indexFields{platform: m.Platform, typ: string(m.Type), status: string(m.Status), conv: m.ConversationID}
}

// convMask is the combination of the conversation alone; indexedMask
// says which combinations have index entries and counts.
const convMask = 1 << 3

func indexedMask(mask byte) bool { return mask < convMask || mask == convMask }

// comboKey encodes the fields selected by mask (bit 0 platform, 1 type,
// 2 status, 3 conversation).
func comboKey(mask byte, f indexFields) []byte {
	k := []byte{mask}
	for i, v := range [4]string{f.platform, f.typ, f.status, f.conv} {
		if mask&(1<<i) != 0 {
			k = binary.AppendUvarint(k, uint64(len(v)))
			k = append(k, v...)
		}
	}
	return k
}

func addCountTx(tx *bolt.Tx, combo []byte, delta int64) error {
	b := tx.Bucket(bucketMessageCounts)
	n := int64(btoi(b.Get(combo))) + delta
	if n <= 0 {
		return b.Delete(combo)
	}
	return b.Put(combo, itob(uint64(n)))
}

// indexMessageTx adds message id under every combination of f.
func indexMessageTx(tx *bolt.Tx, id uint64, f indexFields) error {
	ix := tx.Bucket(bucketMessageIndex)
	for mask := byte(0); mask <= convMask; mask++ {
		combo := comboKey(mask, f)
		if err := ix.Put(append(combo, itob(id)...), []byte{}); err != nil {
			return fmt.Errorf("index message %d: %w", id, err)
		}
		if err := addCountTx(tx, combo, 1); err != nil {
			return fmt.Errorf("count message %d: %w", id, err)
		}
	}
	return nil
}

// unindexMessageTx removes message id from every combination of f, also
// those no longer indexed (a database written before they were dropped
// may still hold them until the next Open cleans them up).
func unindexMessageTx(tx *bolt.Tx, id uint64, f indexFields) error {
	ix := tx.Bucket(bucketMessageIndex)
	for mask := byte(0); mask < 16; mask++ {
		combo := comboKey(mask, f)
		key := append(combo, itob(id)...)
		if ix.Get(key) == nil {
			continue // not indexed (written before the index existed)
		}
		if err := ix.Delete(key); err != nil {
			return fmt.Errorf("unindex message %d: %w", id, err)
		}
		if err := addCountTx(tx, combo, -1); err != nil {
			return fmt.Errorf("count message %d: %w", id, err)
		}
	}
	return nil
}

// reindexMessageTx moves message id from the combinations of before to
// those of after, touching only the combinations that differ: a delivery
// that changes the status moves 4 entries, not 9, and updates 8 counters.
func reindexMessageTx(tx *bolt.Tx, id uint64, before, after indexFields) error {
	ix := tx.Bucket(bucketMessageIndex)
	for mask := byte(0); mask <= convMask; mask++ {
		old, next := comboKey(mask, before), comboKey(mask, after)
		if bytes.Equal(old, next) {
			continue
		}
		if key := append(old, itob(id)...); ix.Get(key) != nil { // else not indexed (written before the index existed)
			if err := ix.Delete(key); err != nil {
				return fmt.Errorf("unindex message %d: %w", id, err)
			}
			if err := addCountTx(tx, old, -1); err != nil {
				return fmt.Errorf("count message %d: %w", id, err)
			}
		}
		if err := ix.Put(append(next, itob(id)...), []byte{}); err != nil {
			return fmt.Errorf("index message %d: %w", id, err)
		}
		if err := addCountTx(tx, next, 1); err != nil {
			return fmt.Errorf("count message %d: %w", id, err)
		}
	}
	return nil
}

// insertMessageTx stores m as a new message with the next id and indexes
// it. Every new message goes through here so the listing stays complete.
func insertMessageTx(tx *bolt.Tx, m *Message, now time.Time) error {
	b := tx.Bucket(bucketMessages)
	id, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("next message id: %w", err)
	}
	m.ID = id
	if m.CreatedAt.IsZero() {
		m.CreatedAt = now
	}
	m.UpdatedAt = now
	data, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode message: %w", err)
	}
	if err := b.Put(itob(id), data); err != nil {
		return err
	}
	if err := indexConvMessageTx(tx, m); err != nil {
		return fmt.Errorf("index message %d by conversation: %w", id, err)
	}
	return indexMessageTx(tx, id, indexFieldsOf(m))
}

// Message returns the stored message with this id.
func (s *Store) Message(id uint64) (*Message, error) {
	var m *Message
	err := s.view(func(tx *bolt.Tx) (err error) {
		m, err = getMessageTx(tx, id)
		return err
	})
	return m, err
}

// IncomingResult is the outcome of storing an incoming message.
type IncomingResult struct {
	// Message is the stored incoming message: the new one, or on a
	// duplicate the first one.
	Message *Message
	// Duplicate is true when (integration, message id) was seen within the
	// retention period; nothing new was stored.
	Duplicate bool
	// Response is the first message's stored answer, when it has one.
	Response *Message
}

// dedupeKey is the integration's scope key (ConvRef.scopeKey) followed by
// the platform's message id. It is the integration, not the provider: two
// Zendesk brands number their messages independently, and a message id one
// of them sends must never find the other's message (and answer with its
// text and user).
func dedupeKey(ref ConvRef, messageID string) []byte {
	return append(ref.scopeKey(), messageID...)
}

// InsertIncoming stores m as a received incoming message, unless its
// (integration, message id) was stored within retention: then it returns the
// first message (and its answer, if stored) marked Duplicate. Check and
// insert happen in one transaction, so of two concurrent deliveries of the
// same id exactly one is new. Without a PlatformMessageID there is no
// dedupe. Expired dedupe keys are pruned on the way.
func (s *Store) InsertIncoming(m *Message, retention time.Duration) (IncomingResult, error) {
	var res IncomingResult
	err := s.batch(func(tx *bolt.Tx) (err error) {
		res, err = insertIncomingTx(tx, m, retention, s.now().UTC(), nil)
		return err
	})
	if err != nil {
		return IncomingResult{}, fmt.Errorf("store incoming message: %w", err)
	}
	return res, nil
}

// insertIncomingTx is InsertIncoming inside tx. Without answer the new
// message is marked as waiting for its answer. With answer, the reply
// InsertReply stores next in the same transaction (NewIncoming), the new
// message is written with the reply recorded on it (its id is the next
// one), so that it is encoded and written once, not written and updated.
func insertIncomingTx(tx *bolt.Tx, m *Message, retention time.Duration, now time.Time, answer *Message) (IncomingResult, error) {
	if _, err := pruneDedupeTx(tx, now.Add(-retention), pruneBatch); err != nil {
		return IncomingResult{}, err
	}
	var dkey []byte
	if m.PlatformMessageID != "" {
		dkey = dedupeKey(m.Ref(), m.PlatformMessageID)
		first, resp, ok, err := dedupeHitTx(tx, dkey, now.Add(-retention))
		if err != nil {
			return IncomingResult{}, err
		}
		if ok {
			return IncomingResult{Message: first, Duplicate: true, Response: resp}, nil
		}
	}
	in := *m
	in.ID, in.Type, in.Status = 0, MessageIncoming, StatusReceived
	if answer != nil {
		in.ResponseID = tx.Bucket(bucketMessages).Sequence() + 2 // this message takes +1
		in.ResponseType, in.LatencyMS, in.SessionID = answer.ResponseType, answer.LatencyMS, answer.SessionID
	}
	if err := insertMessageTx(tx, &in, now); err != nil {
		return IncomingResult{}, err
	}
	if dkey != nil {
		if err := putDedupeTx(tx, dkey, in.ID, now); err != nil {
			return IncomingResult{}, err
		}
	}
	if answer == nil {
		if err := tx.Bucket(bucketUnanswered).Put(itob(in.ID), []byte{}); err != nil {
			return IncomingResult{}, err
		}
	}
	return IncomingResult{Message: &in}, nil
}

// IncomingByPlatformID returns the incoming message stored for the
// integration of ref (its conversation id is not used: message ids are the
// integration's) and message id, and its answer, if any, or ErrNotFound.
func (s *Store) IncomingByPlatformID(ref ConvRef, messageID string, retention time.Duration) (IncomingResult, error) {
	var res IncomingResult
	err := s.view(func(tx *bolt.Tx) error {
		first, resp, ok, err := dedupeHitTx(tx, dedupeKey(ref, messageID), s.now().UTC().Add(-retention))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("incoming message %q of %s: %w", messageID, ref, ErrNotFound)
		}
		res = IncomingResult{Message: first, Duplicate: true, Response: resp}
		return nil
	})
	return res, err
}

// dedupeHitTx looks dkey up; ok is false when it is absent, older than
// cutoff, or its message is gone.
func dedupeHitTx(tx *bolt.Tx, dkey []byte, cutoff time.Time) (first, resp *Message, ok bool, err error) {
	v := tx.Bucket(bucketDedupe).Get(dkey)
	if len(v) != 16 || time.Unix(0, int64(btoi(v[8:]))).Before(cutoff) {
		return nil, nil, false, nil
	}
	first, err = getMessageTx(tx, btoi(v[:8]))
	if errors.Is(err, ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	if first.ResponseID != 0 {
		if resp, err = getMessageTx(tx, first.ResponseID); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, nil, false, err
		}
	}
	return first, resp, true, nil
}

func putDedupeTx(tx *bolt.Tx, dkey []byte, id uint64, now time.Time) error {
	d := tx.Bucket(bucketDedupe)
	if old := d.Get(dkey); len(old) == 16 { // an expired entry not yet pruned
		if err := tx.Bucket(bucketDedupeByTime).Delete(append(clone(old[8:]), old[:8]...)); err != nil {
			return err
		}
	}
	ts := itob(uint64(now.UnixNano()))
	if err := d.Put(dkey, append(itob(id), ts...)); err != nil {
		return err
	}
	return tx.Bucket(bucketDedupeByTime).Put(append(ts, itob(id)...), dkey)
}

// pruneDedupeTx removes up to limit dedupe entries older than cutoff and
// returns how many it removed.
func pruneDedupeTx(tx *bolt.Tx, cutoff time.Time, limit int) (int, error) {
	byTime, d := tx.Bucket(bucketDedupeByTime), tx.Bucket(bucketDedupe)
	end := itob(uint64(cutoff.UnixNano()))
	c := byTime.Cursor()
	var expired [][]byte
	for k, _ := c.First(); k != nil && len(expired) < limit && bytes.Compare(k[:8], end) < 0; k, _ = c.Next() {
		expired = append(expired, clone(k))
	}
	for _, k := range expired {
		dkey := clone(byTime.Get(k))
		if v := d.Get(dkey); len(v) == 16 && bytes.Equal(v[8:], k[:8]) && bytes.Equal(v[:8], k[8:]) {
			if err := d.Delete(dkey); err != nil {
				return 0, err
			}
		}
		if err := byTime.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(expired), nil
}

// PruneDedupe removes every dedupe key older than retention and returns
// how many went. Inserts prune as they go; this is for a periodic sweep.
func (s *Store) PruneDedupe(retention time.Duration) (int, error) {
	total := 0
	for {
		var n int
		err := s.update(func(tx *bolt.Tx) (err error) {
			n, err = pruneDedupeTx(tx, s.now().UTC().Add(-retention), 10*pruneBatch)
			return err
		})
		total += n
		if err != nil || n < 10*pruneBatch {
			return total, err
		}
	}
}

// InsertReply stores out as the outgoing answer to incoming message
// incomingID and records it on the incoming message, in one transaction.
// With deliver the answer is pending and its delivery job is written in
// the same transaction; without (no outgoing URL) it is sent at once.
// with are the turn's other records (memory, outcome), written in the
// same transaction.
//
// A synchronous turn that has not stored its incoming message yet passes
// incomingID 0 and the message as a *NewIncoming in with: the message,
// its dedupe key and the reply are then one commit (turnincoming.go).
func (s *Store) InsertReply(incomingID uint64, out *Message, deliver bool, with ...TurnWrite) error {
	newIn, with := splitNewIncoming(with)
	if (incomingID == 0) == (newIn == nil) {
		return fmt.Errorf("store reply: give either the incoming message's id (%d) or the message to store with the reply (NewIncoming), not both or neither", incomingID)
	}
	err := s.batch(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		id := incomingID
		if newIn != nil {
			done, err := newIn.insertTx(tx, now, out)
			if err != nil || done {
				return err
			}
			id = newIn.Result.Message.ID
		}
		// A missing incoming message fails updateMessageTx below, and the
		// transaction with it: reading it first too decoded it twice.
		out.ReplyTo = id
		if out.Type == "" {
			out.Type = MessageOutgoing
		}
		out.Status = StatusSent
		if deliver {
			out.Status = StatusPending
		}
		out.CreatedAt = time.Time{}
		if err := insertMessageTx(tx, out, now); err != nil {
			return err
		}
		if deliver {
			job := DeliveryJob{MessageID: out.ID, ConfigID: out.ConfigID, ConversationID: out.ConversationID,
				NextAttemptAt: now, CreatedAt: now}
			if err := putDeliveryJobTx(tx, job); err != nil {
				return err
			}
		}
		// A message new in this transaction was written with the reply
		// recorded on it (insertIncomingTx); one stored before is updated.
		if newIn == nil || newIn.Result.Duplicate || newIn.Result.Message.ResponseID != out.ID {
			in, err := updateMessageTx(tx, id, now, func(in *Message) error {
				in.ResponseID, in.ResponseType, in.LatencyMS, in.SessionID = out.ID, out.ResponseType, out.LatencyMS, out.SessionID
				return nil
			})
			if err != nil {
				return err
			}
			if newIn != nil {
				newIn.Result.Message = in
			}
		}
		if err := applyTurnWritesTx(turnTx{tx: tx, now: now, reply: out, memos: &s.memos}, with); err != nil {
			return err
		}
		return tx.Bucket(bucketUnanswered).Delete(itob(id))
	})
	if err != nil && newIn != nil {
		return fmt.Errorf("store message %q of %s with its reply: %w", newIn.Message.PlatformMessageID, newIn.Message.Ref(), err)
	}
	if err != nil {
		return fmt.Errorf("store reply to message %d: %w", incomingID, err)
	}
	return nil
}

// RecordHandled notes on incoming message id how it was handled when the
// reply needs no outgoing message of ours (a live-chat hand-off, whose
// notice the live-chat manager queues itself). A duplicate then finds it
// handled. with are the turn's other records, in the same transaction.
func (s *Store) RecordHandled(id uint64, responseType ResponseType, sessionID string, latencyMS int64, with ...TurnWrite) error {
	err := s.batch(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		_, err := updateMessageTx(tx, id, now, func(in *Message) error {
			in.ResponseType, in.SessionID, in.LatencyMS = responseType, sessionID, latencyMS
			return nil
		})
		if err != nil {
			return err
		}
		if err := applyTurnWritesTx(turnTx{tx: tx, now: now, memos: &s.memos}, with); err != nil {
			return err
		}
		return tx.Bucket(bucketUnanswered).Delete(itob(id))
	})
	if err != nil {
		return fmt.Errorf("record handling of message %d: %w", id, err)
	}
	return nil
}

// MessageFilter selects messages; empty fields match everything.
type MessageFilter struct {
	Platform       string
	Type           MessageType
	Status         Status
	ConversationID string
}

func (f MessageFilter) mask() byte {
	var mask byte
	for i, v := range [4]string{f.Platform, string(f.Type), string(f.Status), f.ConversationID} {
		if v != "" {
			mask |= 1 << i
		}
	}
	return mask
}

func (f MessageFilter) combo() []byte {
	return comboKey(f.mask(), indexFields{platform: f.Platform, typ: string(f.Type), status: string(f.Status), conv: f.ConversationID})
}

// ListMessages returns up to limit messages matching f, newest first,
// after skipping offset, and the exact number that match. It walks the
// filter's index from the newest entry: the cost grows with offset+limit,
// not with the size of the history; a filter on the conversation and
// more walks the conversation's messages (filterConversation).
func (s *Store) ListMessages(f MessageFilter, offset, limit int) ([]*Message, int, error) {
	out := []*Message{}
	var total int
	err := s.view(func(tx *bolt.Tx) error {
		if f.ConversationID != "" && f.mask() != convMask {
			var err error
			out, total, err = filterConversationTx(tx, f, offset, limit)
			return err
		}
		prefix := f.combo()
		total = int(btoi(tx.Bucket(bucketMessageCounts).Get(prefix)))
		if offset >= total || limit <= 0 {
			return nil
		}
		return walkComboTx(tx, prefix, func(id uint64) (bool, error) {
			if offset > 0 {
				offset--
				return true, nil
			}
			m, err := getMessageTx(tx, id)
			if err != nil {
				return false, err
			}
			out = append(out, m)
			return len(out) < limit, nil
		})
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list messages: %w", err)
	}
	return out, total, nil
}

// filterConversationTx lists the messages of f's conversation that match
// the rest of f, reading each of the conversation's messages once.
func filterConversationTx(tx *bolt.Tx, f MessageFilter, offset, limit int) ([]*Message, int, error) {
	out := []*Message{}
	total := 0
	prefix := comboKey(convMask, indexFields{conv: f.ConversationID})
	err := walkComboTx(tx, prefix, func(id uint64) (bool, error) {
		m, err := getMessageTx(tx, id)
		if err != nil {
			return false, err
		}
		if (f.Platform != "" && m.Platform != f.Platform) || (f.Type != "" && m.Type != f.Type) || (f.Status != "" && m.Status != f.Status) {
			return true, nil
		}
		total++
		if total > offset && len(out) < limit {
			out = append(out, m)
		}
		return true, nil
	})
	return out, total, err
}

// walkComboTx calls fn with the ids under prefix, newest first, until fn
// says stop.
func walkComboTx(tx *bolt.Tx, prefix []byte, fn func(id uint64) (more bool, err error)) error {
	c := tx.Bucket(bucketMessageIndex).Cursor()
	upper := append(clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	k, _ := c.Seek(upper)
	if k == nil {
		k, _ = c.Last()
	} else if !bytes.Equal(k, upper) {
		k, _ = c.Prev()
	}
	for ; k != nil && len(k) == len(prefix)+8 && bytes.HasPrefix(k, prefix); k, _ = c.Prev() {
		more, err := fn(btoi(k[len(prefix):]))
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// dropUnindexedCombosTx removes the index entries and counts of the
// combinations no longer indexed (the conversation with other filters),
// left by a database written before they were dropped. Keys sort by their
// mask byte first, so they are the tail of both buckets; on a current
// database this is one Seek each.
func dropUnindexedCombosTx(tx *bolt.Tx) (int, error) {
	n := 0
	for _, name := range [][]byte{bucketMessageIndex, bucketMessageCounts} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.Seek([]byte{convMask + 1}); k != nil; k, _ = c.Next() {
			keys = append(keys, clone(k))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return n, fmt.Errorf("drop index entry: %w", err)
			}
		}
		n += len(keys)
	}
	return n, nil
}

// Unanswered returns up to limit incoming messages that were stored but
// never answered (a restart or an engine failure came between), oldest
// first.
func (s *Store) Unanswered(limit int) ([]*Message, error) {
	var out []*Message
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketUnanswered).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			m, err := getMessageTx(tx, btoi(k))
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unanswered messages: %w", err)
	}
	return out, nil
}

// ForgetUnanswered drops incoming message id from the unanswered set
// without answering it (its integration answers synchronously, so the
// platform's retry will).
func (s *Store) ForgetUnanswered(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUnanswered).Delete(itob(id))
	})
}

// WebhookIDs returns the Standard Webhooks id ("msg_...") of each message
// in ids that was ever queued for delivery, so the message listing can show
// the id a receiver logged. Messages never queued are absent from the map.
func (s *Store) WebhookIDs(ids []uint64) (map[uint64]string, error) {
	out := make(map[uint64]string, len(ids))
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketWebhookIDs)
		for _, id := range ids {
			if v := b.Get(itob(id)); v != nil {
				out[id] = string(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read webhook ids: %w", err)
	}
	return out, nil
}
