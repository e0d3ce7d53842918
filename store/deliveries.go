package store

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The delivery queue. bucketDeliveryJobs (message.go) holds one job per
// message; these buckets order and schedule them:
//
//   - the queue keeps every job of a conversation in arrival order, so only
//     the head of a conversation is ever attempted (per-conversation FIFO);
//   - the due index holds the heads that are waiting for their next attempt,
//     ordered by time. A claimed job is in flight: it stays in the due index
//     and the store's in-memory claim set hides it from the next claims
//     (claiming costs no commit). After a crash the claims are gone and the
//     jobs that were in flight are due again (at-least-once);
//   - the job index maps a message to its queue and due keys;
//   - webhook ids outlive their job, so a redelivery reuses the id and
//     receivers that dedupe on it recognise the message.
var (
	bucketDeliveryQueue = []byte("delivery_queue")       // conversation(16) + seq(8) -> message id
	bucketDeliveryDue   = []byte("delivery_due")         // unix nanos(8) + message id(8) -> empty
	bucketDeliveryIndex = []byte("delivery_index")       // message id -> queue key(24) [+ due key(16)]
	bucketWebhookIDs    = []byte("delivery_webhook_ids") // message id -> webhook id
)

const (
	convKeyLen  = 16
	queueKeyLen = convKeyLen + 8
	dueKeyLen   = 16
)

// Delivery is a claimed job with the message it carries.
type Delivery struct {
	Job     DeliveryJob
	Message Message
}

// DeliveryAttempt is the outcome of one POST to the platform.
type DeliveryAttempt struct {
	OK         bool          // the platform answered 2xx
	StatusCode int           // 0 when no HTTP answer came
	Err        string        // why it failed, secrets already scrubbed
	Latency    time.Duration // time of the attempt
	RetryAfter time.Duration // the platform's Retry-After; 0 when absent or unreadable
	Permanent  bool          // no retry can help (410 Gone, config deleted, address refused)
	// MaxAttempts is the total number of attempts allowed for this job
	// (1 + the config's retry_attempts).
	MaxAttempts int
}

// DeliveryOutcome is what RecordDeliveryAttempt decided.
type DeliveryOutcome struct {
	Status        Status    // StatusSent, StatusFailed or StatusPending (retrying)
	NextAttemptAt time.Time // when retrying
	Attempt       int       // attempts made by this job
}

// RetryPolicy schedules retries: exponential backoff with full jitter, at
// least the platform's Retry-After (itself capped).
type RetryPolicy struct {
	Base time.Duration // first retry at most this long after the first attempt
	Cap  time.Duration // no backoff step longer than this
	// MaxRetryAfter caps a platform's Retry-After (default 1h).
	MaxRetryAfter time.Duration
	// Jitter returns a uniform value in [0, n]; nil uses math/rand/v2.
	Jitter func(n int64) int64
}

// Delay is the wait before attempt number attempt+1, after attempt failed
// attempts: uniform in [0, min(Cap, Base*2^(attempt-1))], raised to the
// capped Retry-After when the platform sent one.
func (p RetryPolicy) Delay(attempt int, retryAfter time.Duration) time.Duration {
	base, ceiling := p.Base, p.Cap
	if base <= 0 {
		base = time.Second
	}
	if ceiling < base {
		ceiling = base
	}
	step := base
	for i := 1; i < attempt && step < ceiling; i++ {
		step *= 2
	}
	step = min(step, ceiling)
	jitter := p.Jitter
	if jitter == nil {
		jitter = func(n int64) int64 { return mrand.Int64N(n + 1) }
	}
	d := time.Duration(jitter(int64(step)))
	if retryAfter > 0 {
		maxRA := p.MaxRetryAfter
		if maxRA <= 0 {
			maxRA = time.Hour
		}
		d = max(d, min(retryAfter, maxRA))
	}
	return d
}

func convKey(configID uint64, conversationID string) []byte {
	h := sha256.New()
	h.Write(itob(configID))
	h.Write([]byte(conversationID))
	return h.Sum(nil)[:convKeyLen]
}

func dueKey(t time.Time, id uint64) []byte {
	n := t.UnixNano()
	if t.IsZero() || n < 0 {
		n = 0
	}
	return append(itob(uint64(n)), itob(id)...)
}

func dueTime(key []byte) time.Time { return time.Unix(0, int64(btoi(key[:8]))).UTC() }

// NewWebhookID returns a fresh Standard Webhooks message id ("msg_" and 22
// URL-safe characters; never a dot).
func NewWebhookID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the OS RNG does not fail on Linux
	}
	return "msg_" + base64.RawURLEncoding.EncodeToString(b)
}

func getJobTx(tx *bolt.Tx, id uint64) (*DeliveryJob, error) {
	v := tx.Bucket(bucketDeliveryJobs).Get(itob(id))
	if v == nil {
		return nil, fmt.Errorf("delivery job %d: %w", id, ErrNotFound)
	}
	var j DeliveryJob
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("decode delivery job %d: %w", id, err)
	}
	return &j, nil
}

func saveJobTx(tx *bolt.Tx, job *DeliveryJob) error {
	data, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("encode delivery job %d: %w", job.MessageID, err)
	}
	return tx.Bucket(bucketDeliveryJobs).Put(itob(job.MessageID), data)
}

// jobIndex is where a job sits in the queue and, when waiting, the due index.
type jobIndex struct {
	queue []byte
	due   []byte // nil while in flight or behind the conversation's head
}

func getIndexTx(tx *bolt.Tx, id uint64) (jobIndex, bool) {
	v := tx.Bucket(bucketDeliveryIndex).Get(itob(id))
	if len(v) < queueKeyLen {
		return jobIndex{}, false
	}
	ix := jobIndex{queue: clone(v[:queueKeyLen])}
	if len(v) == queueKeyLen+dueKeyLen {
		ix.due = clone(v[queueKeyLen:])
	}
	return ix, true
}

func putIndexTx(tx *bolt.Tx, id uint64, ix jobIndex) error {
	v := append(append(make([]byte, 0, queueKeyLen+dueKeyLen), ix.queue...), ix.due...)
	return tx.Bucket(bucketDeliveryIndex).Put(itob(id), v)
}

// setDueTx moves job id's due entry to t (or removes it when t is nil).
func setDueTx(tx *bolt.Tx, id uint64, ix jobIndex, t *time.Time) error {
	due := tx.Bucket(bucketDeliveryDue)
	if ix.due != nil {
		if err := due.Delete(ix.due); err != nil {
			return err
		}
		ix.due = nil
	}
	if t != nil {
		ix.due = dueKey(*t, id)
		if err := due.Put(ix.due, nil); err != nil {
			return err
		}
	}
	return putIndexTx(tx, id, ix)
}

// headTx returns the first queue entry of the conversation with key conv.
func headTx(tx *bolt.Tx, conv []byte) (qkey []byte, id uint64, ok bool) {
	k, v := tx.Bucket(bucketDeliveryQueue).Cursor().Seek(conv)
	if k == nil || !bytes.HasPrefix(k, conv) {
		return nil, 0, false
	}
	return clone(k), btoi(v), true
}

// enqueueDeliveryTx stores job at the tail of its conversation's queue. A
// job already queued for the message is replaced. An empty WebhookID takes
// the message's existing id, or a new one.
func enqueueDeliveryTx(tx *bolt.Tx, job DeliveryJob) error {
	if job.MessageID == 0 {
		return fmt.Errorf("delivery job without a message id")
	}
	ids := tx.Bucket(bucketWebhookIDs)
	if job.WebhookID == "" {
		if v := ids.Get(itob(job.MessageID)); v != nil {
			job.WebhookID = string(v)
		} else {
			job.WebhookID = NewWebhookID()
		}
	}
	if err := ids.Put(itob(job.MessageID), []byte(job.WebhookID)); err != nil {
		return err
	}
	if job.NextAttemptAt.IsZero() {
		job.NextAttemptAt = job.CreatedAt
	}
	if err := unqueueTx(tx, job.MessageID); err != nil {
		return err
	}
	if err := saveJobTx(tx, &job); err != nil {
		return err
	}
	queue := tx.Bucket(bucketDeliveryQueue)
	seq, err := queue.NextSequence()
	if err != nil {
		return err
	}
	conv := convKey(job.ConfigID, job.ConversationID)
	qkey := append(clone(conv), itob(seq)...)
	if err := queue.Put(qkey, itob(job.MessageID)); err != nil {
		return err
	}
	ix := jobIndex{queue: qkey}
	if head, _, _ := headTx(tx, conv); bytes.Equal(head, qkey) {
		return setDueTx(tx, job.MessageID, ix, &job.NextAttemptAt)
	}
	return putIndexTx(tx, job.MessageID, ix)
}

// unqueueTx removes message id's job, if any, from the queue and indexes,
// and makes the next job of its conversation due when it becomes the head.
func unqueueTx(tx *bolt.Tx, id uint64) error {
	ix, ok := getIndexTx(tx, id)
	if !ok {
		return tx.Bucket(bucketDeliveryJobs).Delete(itob(id))
	}
	if ix.due != nil {
		if err := tx.Bucket(bucketDeliveryDue).Delete(ix.due); err != nil {
			return err
		}
	}
	if err := tx.Bucket(bucketDeliveryQueue).Delete(ix.queue); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeliveryIndex).Delete(itob(id)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketDeliveryJobs).Delete(itob(id)); err != nil {
		return err
	}
	return promoteTx(tx, ix.queue[:convKeyLen])
}

// promoteTx makes the head of conversation conv due, if it is not already.
func promoteTx(tx *bolt.Tx, conv []byte) error {
	_, next, ok := headTx(tx, conv)
	if !ok {
		return nil
	}
	nix, ok := getIndexTx(tx, next)
	if !ok || nix.due != nil {
		return nil
	}
	job, err := getJobTx(tx, next)
	if err != nil {
		return err
	}
	return setDueTx(tx, next, nix, &job.NextAttemptAt)
}

// OnDeliveryQueued registers fn to be called after every commit that
// queued a delivery job, whoever wrote it; the worker uses it to wake up
// without polling. fn must not block. A later call replaces fn.
func (s *Store) OnDeliveryQueued(fn func()) { s.queued.Store(&fn) }

// deliveryMarkTx is the queue's sequence at the start of a write
// transaction; it grows with every job queued.
func deliveryMarkTx(tx *bolt.Tx) uint64 {
	if b := tx.Bucket(bucketDeliveryQueue); b != nil {
		return b.Sequence()
	}
	return 0
}

// notifyIfQueuedTx arranges the OnDeliveryQueued call when tx queued a job.
func (s *Store) notifyIfQueuedTx(tx *bolt.Tx, mark uint64) {
	fn := s.queued.Load()
	if fn == nil || deliveryMarkTx(tx) == mark {
		return
	}
	tx.OnCommit(*fn)
}

// AddOutgoingForDelivery stores msg as a new pending outgoing message and
// queues its delivery in the same transaction. A message with no config
// (ConfigID 0) or whose config has no outgoing URL gets no job (the zero
// DeliveryJob is returned): a widget's is stored as sent (its visitor
// polls), any other as held until the user's next message hands it over. msg.Type must be outgoing or
// agent_outgoing; ID, Status and the timestamps are set here. It returns
// the job as queued (with its webhook id).
func (s *Store) AddOutgoingForDelivery(msg *Message) (DeliveryJob, error) {
	if msg.Type != MessageOutgoing && msg.Type != MessageAgentOutgoing {
		return DeliveryJob{}, fmt.Errorf("add outgoing message: type %q is not outgoing", msg.Type)
	}
	var job DeliveryJob
	err := s.batch(func(tx *bolt.Tx) error {
		job = DeliveryJob{}
		now := s.now().UTC()
		deliver, err := s.hasOutgoingURL(tx, msg.ConfigID)
		if err != nil {
			return err
		}
		msg.Status, msg.CreatedAt = StatusPending, now
		switch {
		case deliver:
		case msg.WidgetID != 0:
			// The widget's visitor polls for it: sent as stored.
			msg.Status = StatusSent
		default:
			// No outgoing URL (or chatbot ask): it waits for the user's
			// next message, whose response hands it over (HandHeld).
			msg.Status = StatusHeld
		}
		if err := insertMessageTx(tx, msg, now); err != nil { // indexed for the listing
			return err
		}
		if !deliver {
			return nil
		}
		job = DeliveryJob{MessageID: msg.ID, ConfigID: msg.ConfigID, ConversationID: msg.ConversationID,
			WebhookID: NewWebhookID(), NextAttemptAt: now, CreatedAt: now}
		return putDeliveryJobTx(tx, job)
	})
	if err != nil {
		return DeliveryJob{}, fmt.Errorf("add outgoing message: %w", err)
	}
	return job, nil
}

// deliveryClaims is the set of jobs in flight, by message id.
type deliveryClaims struct {
	mu  sync.Mutex // also serialises ClaimDeliveries
	ids map[uint64]struct{}
}

func (c *deliveryClaims) has(id uint64) bool {
	_, ok := c.ids[id]
	return ok
}

// release ends the claim of message id (its attempt is recorded).
func (c *deliveryClaims) release(id uint64) {
	c.mu.Lock()
	delete(c.ids, id)
	c.mu.Unlock()
}

// ClaimDeliveries takes up to limit jobs that are due at now and at the
// head of their conversation, and marks them in flight. hold, when not nil,
// may hold back a config's jobs (a tripped circuit): a job held until a
// later time is rescheduled then, without counting an attempt. hold gets
// the message id so the circuit knows which job is its probe.
// A job whose message is gone or no longer pending is dropped.
//
// The claim itself is in memory (deliveryClaims): finding the due jobs is
// a read transaction, and only held or dropped jobs need a commit. It was
// a commit per claim, one of three per delivery.
func (s *Store) ClaimDeliveries(now time.Time, limit int, hold func(configID, messageID uint64, now time.Time) time.Time) ([]Delivery, error) {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	var (
		out    []Delivery
		moves  []dueMove
		stales [][]byte
	)
	err := s.view(func(tx *bolt.Tx) error {
		limitKey := dueKey(now, ^uint64(0))
		scan := 4*limit + 64 + len(s.claims.ids)
		c := tx.Bucket(bucketDeliveryDue).Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, limitKey) <= 0 && scan > 0 && len(out) < limit; k, _ = c.Next() {
			scan--
			id := btoi(k[8:])
			if s.claims.has(id) {
				continue
			}
			if _, ok := getIndexTx(tx, id); !ok {
				stales = append(stales, clone(k))
				continue
			}
			job, err := getJobTx(tx, id)
			if err != nil {
				return err
			}
			if hold != nil {
				if until := hold(job.ConfigID, job.MessageID, now); until.After(now) {
					moves = append(moves, dueMove{id: id, due: clone(k), until: until})
					continue
				}
			}
			msg, err := getMessageTx(tx, id)
			if err != nil || msg.Status != StatusPending {
				moves = append(moves, dueMove{id: id, due: clone(k), drop: true})
				continue
			}
			out = append(out, Delivery{Job: *job, Message: *msg})
		}
		return nil
	})
	if err == nil && (len(moves) > 0 || len(stales) > 0) {
		err = s.batch(func(tx *bolt.Tx) error { return applyDueMovesTx(tx, moves, stales) })
	}
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if s.claims.ids == nil {
		s.claims.ids = map[uint64]struct{}{}
	}
	for _, d := range out {
		s.claims.ids[d.Job.MessageID] = struct{}{}
	}
	return out, nil
}

// dueMove is a change a claim found necessary: a job held back until a
// later time, or dropped because its message is gone or no longer pending.
type dueMove struct {
	id    uint64
	due   []byte // the due key the claim saw
	until time.Time
	drop  bool
}

// applyDueMovesTx applies what a claim found, to the jobs that are still
// where the claim saw them (a write in between wins). It may run twice
// (batch): each move checks the stored state first.
func applyDueMovesTx(tx *bolt.Tx, moves []dueMove, stales [][]byte) error {
	for _, k := range stales {
		if _, ok := getIndexTx(tx, btoi(k[8:])); !ok {
			if err := tx.Bucket(bucketDeliveryDue).Delete(k); err != nil {
				return err
			}
		}
	}
	for _, m := range moves {
		ix, ok := getIndexTx(tx, m.id)
		if !ok || !bytes.Equal(ix.due, m.due) {
			continue
		}
		if m.drop {
			if err := unqueueTx(tx, m.id); err != nil {
				return err
			}
			continue
		}
		until := m.until
		if err := setDueTx(tx, m.id, ix, &until); err != nil {
			return err
		}
	}
	return nil
}

// ReleaseDeliveries makes the waiting jobs among ids due at now when they
// were due later: the circuit that held them back closed, so they need not
// wait out its cooldown. Jobs in flight, gone or already due are left as
// they are. It returns how many were moved.
func (s *Store) ReleaseDeliveries(ids []uint64, now time.Time) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		for _, id := range ids {
			ix, ok := getIndexTx(tx, id)
			if !ok || ix.due == nil || !dueTime(ix.due).After(now) {
				continue
			}
			if err := setDueTx(tx, id, ix, &now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("release held deliveries: %w", err)
	}
	return n, nil
}

// RecordDeliveryAttempt stores the outcome of one attempt of message id's
// job: the message is sent, failed (permanent error or attempts used up) or
// stays pending with the next attempt scheduled by p. The message changes
// only through updateMessageTx.
func (s *Store) RecordDeliveryAttempt(id uint64, a DeliveryAttempt, p RetryPolicy) (DeliveryOutcome, error) {
	var out DeliveryOutcome
	err := s.batch(func(tx *bolt.Tx) error {
		out = DeliveryOutcome{} // batch may run this twice
		job, err := getJobTx(tx, id)
		if err != nil {
			return err
		}
		now := s.now().UTC()
		job.Attempt++
		out.Attempt = job.Attempt
		switch {
		case a.OK:
			out.Status = StatusSent
		case a.Permanent || job.Attempt >= max(a.MaxAttempts, 1):
			out.Status = StatusFailed
		default:
			out.Status = StatusPending
			out.NextAttemptAt = now.Add(p.Delay(job.Attempt, a.RetryAfter))
		}
		_, err = updateMessageTx(tx, id, now, func(m *Message) error {
			m.Attempts++
			m.Status = out.Status
			m.LastHTTPStatus = a.StatusCode
			m.LastError = a.Err
			m.DeliveryLatencyMS = a.Latency.Milliseconds()
			if a.OK {
				m.DeliveredAt = now
				m.LastError = ""
			}
			return nil
		})
		if err != nil {
			return err
		}
		if out.Status != StatusPending {
			return unqueueTx(tx, id)
		}
		job.NextAttemptAt = out.NextAttemptAt
		if err := saveJobTx(tx, job); err != nil {
			return err
		}
		ix, ok := getIndexTx(tx, id)
		if !ok {
			return fmt.Errorf("delivery job %d has no queue entry", id)
		}
		return setDueTx(tx, id, ix, &out.NextAttemptAt)
	})
	if err == nil || errors.Is(err, ErrNotFound) {
		// Recorded, or the job is gone: the claim ends. After another
		// failure the job stays in flight until the next start, as a
		// claim in the store did.
		s.claims.release(id)
	}
	if err != nil {
		return DeliveryOutcome{}, fmt.Errorf("record delivery of message %d: %w", id, err)
	}
	return out, nil
}

// RedeliverMessage queues a failed outgoing message again, at the tail of
// its conversation, with its original webhook id and a fresh attempt count.
// A message that is not outgoing, not failed, or already queued is
// ErrConflict.
func (s *Store) RedeliverMessage(id uint64) (DeliveryJob, error) {
	var job DeliveryJob
	err := s.update(func(tx *bolt.Tx) error {
		now := s.now().UTC()
		m, err := updateMessageTx(tx, id, now, func(m *Message) error {
			switch {
			case m.Type != MessageOutgoing && m.Type != MessageAgentOutgoing:
				return fmt.Errorf("message %d is %s, not outgoing: %w", id, m.Type, ErrConflict)
			case m.Status != StatusFailed:
				return fmt.Errorf("message %d is %s, only failed messages are redelivered: %w", id, m.Status, ErrConflict)
			}
			m.Status = StatusPending
			return nil
		})
		if err != nil {
			return err
		}
		if tx.Bucket(bucketDeliveryJobs).Get(itob(id)) != nil {
			return fmt.Errorf("message %d is already queued: %w", id, ErrConflict)
		}
		job = DeliveryJob{MessageID: id, ConfigID: m.ConfigID, ConversationID: m.ConversationID,
			WebhookID: string(tx.Bucket(bucketWebhookIDs).Get(itob(id))), NextAttemptAt: now, CreatedAt: now}
		if err := putDeliveryJobTx(tx, job); err != nil {
			return err
		}
		if job.WebhookID == "" {
			job.WebhookID = string(tx.Bucket(bucketWebhookIDs).Get(itob(id)))
		}
		return nil
	})
	if err != nil {
		return DeliveryJob{}, fmt.Errorf("redeliver message %d: %w", id, err)
	}
	return job, nil
}

// RecoverDeliveries rebuilds the due index from the queue after a start:
// every conversation's head is due at its next attempt time, including the
// jobs that were in flight when the process stopped. Jobs stored without a
// queue entry are queued. It returns the number of queued jobs.
func (s *Store) RecoverDeliveries() (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		var orphans []DeliveryJob
		err := tx.Bucket(bucketDeliveryJobs).ForEach(func(k, v []byte) error {
			if _, ok := getIndexTx(tx, btoi(k)); ok {
				return nil
			}
			var j DeliveryJob
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("decode delivery job %d: %w", btoi(k), err)
			}
			orphans = append(orphans, j)
			return nil
		})
		if err != nil {
			return err
		}
		for _, j := range orphans {
			if err := enqueueDeliveryTx(tx, j); err != nil {
				return err
			}
		}
		if err := tx.DeleteBucket(bucketDeliveryDue); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(bucketDeliveryDue); err != nil {
			return err
		}
		var prev []byte
		c := tx.Bucket(bucketDeliveryQueue).Cursor()
		type entry struct {
			qkey []byte
			id   uint64
			head bool
		}
		var entries []entry
		for k, v := c.First(); k != nil; k, v = c.Next() {
			head := prev == nil || !bytes.Equal(prev, k[:convKeyLen])
			entries = append(entries, entry{clone(k), btoi(v), head})
			prev = clone(k[:convKeyLen])
		}
		for _, e := range entries {
			n++
			ix := jobIndex{queue: e.qkey}
			if !e.head {
				if err := putIndexTx(tx, e.id, ix); err != nil {
					return err
				}
				continue
			}
			job, err := getJobTx(tx, e.id)
			if err != nil {
				return err
			}
			if err := setDueTx(tx, e.id, ix, &job.NextAttemptAt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("recover delivery queue: %w", err)
	}
	return n, nil
}

// NextDeliveryDue is the time of the earliest waiting job; ok is false when
// nothing waits.
func (s *Store) NextDeliveryDue() (t time.Time, ok bool, err error) {
	s.claims.mu.Lock()
	defer s.claims.mu.Unlock()
	err = s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDeliveryDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if !s.claims.has(btoi(k[8:])) { // jobs in flight are not waiting
				t, ok = dueTime(k), true
				return nil
			}
		}
		return nil
	})
	return t, ok, err
}

// DeliveryJobFor returns the queued job of message id, or ErrNotFound.
func (s *Store) DeliveryJobFor(id uint64) (DeliveryJob, error) {
	var job DeliveryJob
	err := s.view(func(tx *bolt.Tx) error {
		j, err := getJobTx(tx, id)
		if err == nil {
			job = *j
		}
		return err
	})
	return job, err
}

// PendingDeliveries counts the queued jobs.
func (s *Store) PendingDeliveries() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketDeliveryJobs).Stats().KeyN
		return nil
	})
	return n, err
}

// OutgoingMessage returns stored message id (any type), for the delivery
// API and its tests.
func (s *Store) OutgoingMessage(id uint64) (*Message, error) {
	var m *Message
	err := s.view(func(tx *bolt.Tx) (err error) {
		m, err = getMessageTx(tx, id)
		return err
	})
	return m, err
}

// ErrConfigDeleted is the last error of the deliveries a config's deletion
// failed.
var ErrConfigDeleted = errors.New("integration deleted")

// failConfigDeliveriesTx marks every queued delivery of config id failed
// with reason and removes its job, so no worker claims it afterwards. A job
// in flight at the time is removed too: its attempt's result finds no job
// and is not recorded (RecordDeliveryAttempt reports ErrNotFound).
func failConfigDeliveriesTx(tx *bolt.Tx, id uint64, now time.Time, reason string) error {
	var ids []uint64
	err := tx.Bucket(bucketDeliveryJobs).ForEach(func(k, v []byte) error {
		var j DeliveryJob
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("decode delivery job %d: %w", btoi(k), err)
		}
		if j.ConfigID == id {
			ids = append(ids, j.MessageID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, mid := range ids {
		_, err := updateMessageTx(tx, mid, now, func(m *Message) error {
			if m.Status == StatusPending {
				m.Status, m.LastError = StatusFailed, reason
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := unqueueTx(tx, mid); err != nil {
			return err
		}
	}
	return nil
}

// hasOutgoingURL reports whether messages of config id are delivered by
// webhook. A config deleted meanwhile still gets its job, which fails
// visibly in the delivery history.
func (s *Store) hasOutgoingURL(tx *bolt.Tx, id uint64) (bool, error) {
	if id == 0 {
		return false, nil
	}
	c, err := s.getConfig(tx, id)
	if errors.Is(err, ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return c.Delivers(), nil
}
