package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Conversation outcomes, kept incrementally so that reading the numbers
// never walks the message history:
//
//   - bucketOutcomes holds each conversation's current episode: when it
//     started, its stored state and its last answer.
//   - bucketOutcomeDays holds, per day (UTC) and integration, how many
//     episodes started that day and how many are in each stored state
//     now, and the ratings given that day. A turn moves its episode from
//     one state's count to another's in the same transaction.
//   - bucketOutcomePending lists the episodes whose state is "answered" by
//     the time of their last answer: one answered longer ago than the quiet
//     period is resolved by the bot, a more recent one is still open. So
//     a reader counts the open ones with a walk over the quiet period's
//     answers only, and resolved = answered - open.
//
// An episode ends when its conversation stays quiet for the quiet period:
// a user who comes back later starts a new episode, counted on its own day.
var (
	bucketOutcomes       = []byte("outcomes")        // ConvRef.key() -> ConvOutcome JSON
	bucketOutcomeDays    = []byte("outcome_days")    // day "2006-01-02" || scopeKey -> DayCounts JSON
	bucketOutcomePending = []byte("outcome_pending") // last answer unix nanos(8) || ConvRef.key() -> day
	// bucketGaps lists the questions the knowledge base did not answer
	// well (no answer, a weak one, one rated not helpful), by the id of
	// the question's message.
	bucketGaps = []byte("gap_questions") // question message id(8) -> GapQuestion JSON
)

// DefaultQuietPeriod is how long a conversation must stay quiet after an
// answer before it counts as resolved by the bot.
const DefaultQuietPeriod = 24 * time.Hour

// Outcome is what became of a conversation episode.
type Outcome string

// Outcomes. Answered is stored; a reader sees it as Resolved once the
// quiet period has passed, as Open before.
const (
	OutcomeResolved   Outcome = "resolved_by_bot" // answered, then quiet (no hand-off, no negative rating)
	OutcomeHandedOff  Outcome = "handed_off"      // a live-chat session was opened
	OutcomeUnanswered Outcome = "unanswered"      // its last turn got no answer
	OutcomeNotHelpful Outcome = "not_helpful"     // an answer was rated not helpful within the quiet period
	OutcomeOpen       Outcome = "open"            // answered, quiet period not over yet
	OutcomeAnswered   Outcome = "answered"        // stored state behind Resolved and Open
)

// TurnKind is what a turn did, for the outcome bookkeeping.
type TurnKind string

// Turn kinds.
const (
	TurnAnswered TurnKind = "answered"  // the bot answered (knowledge base, small talk, curated)
	TurnNoAnswer TurnKind = "no_answer" // the bot had no answer
	TurnHandoff  TurnKind = "handoff"   // live chat took the conversation
)

// ConvOutcome is the bookkeeping of one conversation's current episode.
type ConvOutcome struct {
	ConfigID       uint64    `json:"config_id,omitempty"`
	WidgetID       uint64    `json:"widget_id,omitempty"`
	Platform       string    `json:"platform"`
	ConversationID string    `json:"conversation_id"`
	UserID         string    `json:"user_id,omitempty"`
	State          Outcome   `json:"state"` // answered, handed_off, unanswered or not_helpful
	Day            string    `json:"day"`   // the day (UTC) the episode started, where it is counted
	Episode        int       `json:"episode"`
	Turns          int       `json:"turns"` // turns of this episode
	StartedAt      time.Time `json:"started_at"`
	LastAt         time.Time `json:"last_at"`
	LastAnswerAt   time.Time `json:"last_answer_at,omitzero"`
}

// Ref is the conversation.
func (c *ConvOutcome) Ref() ConvRef {
	return ConvRef{ConfigID: c.ConfigID, WidgetID: c.WidgetID, Platform: c.Platform, ConversationID: c.ConversationID}
}

// Effective is the outcome as of now: an answered episode is resolved
// once quiet has passed since its last answer, open before.
func (c *ConvOutcome) Effective(now time.Time, quiet time.Duration) Outcome {
	if c.State != OutcomeAnswered {
		return c.State
	}
	if now.Sub(c.LastAnswerAt) >= quiet {
		return OutcomeResolved
	}
	return OutcomeOpen
}

// DayCounts are one day's numbers of one integration.
type DayCounts struct {
	Conversations int `json:"conversations"` // episodes started that day
	Answered      int `json:"answered"`      // of those, answered last (resolved or open)
	HandedOff     int `json:"handed_off"`
	Unanswered    int `json:"unanswered"`
	NotHelpful    int `json:"not_helpful"`
	Turns         int `json:"turns"`              // turns answered that day
	RatedHelpful  int `json:"rated_helpful"`      // ratings given that day
	RatedNot      int `json:"rated_not_helpful"`  // ratings given that day
	Open          int `json:"open,omitempty"`     // computed by the reader
	Resolved      int `json:"resolved,omitempty"` // computed by the reader
}

func (d *DayCounts) add(state Outcome, delta int) {
	switch state {
	case OutcomeAnswered:
		d.Answered += delta
	case OutcomeHandedOff:
		d.HandedOff += delta
	case OutcomeUnanswered:
		d.Unanswered += delta
	case OutcomeNotHelpful:
		d.NotHelpful += delta
	}
}

// Plus adds o's counts to d.
func (d *DayCounts) Plus(o DayCounts) {
	d.Conversations += o.Conversations
	d.Answered += o.Answered
	d.HandedOff += o.HandedOff
	d.Unanswered += o.Unanswered
	d.NotHelpful += o.NotHelpful
	d.Turns += o.Turns
	d.RatedHelpful += o.RatedHelpful
	d.RatedNot += o.RatedNot
	d.Open += o.Open
	d.Resolved += o.Resolved
}

// Day is the counting day of t: its date in UTC.
func Day(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// TurnEvent is one answered turn for the outcome bookkeeping.
type TurnEvent struct {
	Ref    ConvRef
	UserID string
	Kind   TurnKind
	At     time.Time
	// Gap, when set, records the question as a knowledge gap.
	Gap *GapQuestion
}

// GapQuestion is a question the knowledge base did not answer well.
type GapQuestion struct {
	QuestionID     uint64    `json:"question_id"` // the incoming message
	AnswerID       uint64    `json:"answer_id,omitempty"`
	ConfigID       uint64    `json:"config_id,omitempty"`
	WidgetID       uint64    `json:"widget_id,omitempty"`
	Platform       string    `json:"platform,omitempty"`
	ConversationID string    `json:"conversation_id,omitempty"`
	UserID         string    `json:"user_id,omitempty"`
	Question       string    `json:"question"`
	Reason         string    `json:"reason"` // no_answer, low_confidence, not_helpful
	At             time.Time `json:"at"`
}

// RecordTurn moves the conversation's episode to the state the turn
// leaves it in, starting a new episode when the conversation was quiet
// for quiet or longer, and records its gap question, in one transaction.
func (s *Store) RecordTurn(ev TurnEvent, quiet time.Duration) error {
	return s.batch(func(tx *bolt.Tx) error { return recordTurnWithGapTx(tx, ev, quiet) })
}

// recordTurnWithGapTx is RecordTurn inside tx.
func recordTurnWithGapTx(tx *bolt.Tx, ev TurnEvent, quiet time.Duration) error {
	if err := recordTurnTx(tx, ev, quiet); err != nil {
		return fmt.Errorf("record the outcome of a turn of %s: %w", ev.Ref, err)
	}
	if ev.Gap != nil {
		if err := putGapTx(tx, *ev.Gap); err != nil {
			return fmt.Errorf("record the gap question of %s: %w", ev.Ref, err)
		}
	}
	return nil
}

func recordTurnTx(tx *bolt.Tx, ev TurnEvent, quiet time.Duration) error {
	key := ev.Ref.key()
	c, found, err := getOutcomeTx(tx, key)
	if err != nil {
		return err
	}
	at := ev.At.UTC()
	if err := prunePendingTx(tx, at.Add(-quiet), pruneBatch); err != nil {
		return err
	}
	if !found || at.Sub(c.LastAt) >= quiet {
		// A new episode: the previous one keeps its state and its day.
		c = ConvOutcome{ConfigID: ev.Ref.ConfigID, WidgetID: ev.Ref.WidgetID, Platform: ev.Ref.Platform,
			ConversationID: ev.Ref.ConversationID, Episode: c.Episode + 1, Day: Day(at), StartedAt: at}
		if err := changeDayTx(tx, c.Day, ev.Ref, func(d *DayCounts) { d.Conversations++ }); err != nil {
			return err
		}
	}
	next := c.State
	switch {
	case c.State == OutcomeHandedOff: // a hand-off stays the episode's outcome
	case ev.Kind == TurnHandoff:
		next = OutcomeHandedOff
	case ev.Kind == TurnNoAnswer:
		next = OutcomeUnanswered
	default:
		next = OutcomeAnswered
	}
	if ev.UserID != "" {
		c.UserID = ev.UserID
	}
	if err := moveStateTx(tx, &c, key, next); err != nil {
		return err
	}
	if ev.Kind == TurnAnswered && next == OutcomeAnswered {
		if err := setPendingTx(tx, &c, key, at); err != nil {
			return err
		}
	}
	c.Turns++
	c.LastAt = at
	if err := changeDayTx(tx, Day(at), ev.Ref, func(d *DayCounts) { d.Turns++ }); err != nil {
		return err
	}
	return putOutcomeTx(tx, key, &c)
}

// moveStateTx moves c from its state's count to next's (on its day) and
// keeps the pending list in step.
func moveStateTx(tx *bolt.Tx, c *ConvOutcome, key []byte, next Outcome) error {
	if c.State == next {
		return nil
	}
	prev := c.State
	if prev == OutcomeAnswered {
		if err := tx.Bucket(bucketOutcomePending).Delete(pendingKey(c.LastAnswerAt, key)); err != nil {
			return err
		}
	}
	c.State = next
	err := changeDayTx(tx, c.Day, c.Ref(), func(d *DayCounts) {
		d.add(prev, -1)
		d.add(next, 1)
	})
	if err != nil {
		return err
	}
	if next == OutcomeAnswered && !c.LastAnswerAt.IsZero() {
		return tx.Bucket(bucketOutcomePending).Put(pendingKey(c.LastAnswerAt, key), []byte(c.Day))
	}
	return nil
}

// setPendingTx records a new last answer of an answered episode.
func setPendingTx(tx *bolt.Tx, c *ConvOutcome, key []byte, at time.Time) error {
	p := tx.Bucket(bucketOutcomePending)
	if !c.LastAnswerAt.IsZero() {
		if err := p.Delete(pendingKey(c.LastAnswerAt, key)); err != nil {
			return err
		}
	}
	c.LastAnswerAt = at
	return p.Put(pendingKey(at, key), []byte(c.Day))
}

// prunePendingTx drops up to limit pending entries answered before
// cutoff: their episodes are resolved (or ended), and readers only walk
// the quiet period's.
func prunePendingTx(tx *bolt.Tx, cutoff time.Time, limit int) error {
	c := tx.Bucket(bucketOutcomePending).Cursor()
	end := itob(uint64(cutoff.UnixNano()))
	for k, _ := c.First(); k != nil && limit > 0 && bytes.Compare(k[:8], end) < 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
		limit--
	}
	return nil
}

func pendingKey(at time.Time, convKey []byte) []byte {
	return append(itob(uint64(at.UnixNano())), convKey...)
}

// feedbackOutcomeTx applies a rating of an answer given at answerAt to its
// conversation: not helpful within the quiet period after the episode's
// last answer makes an answered episode not_helpful; helpful replacing a
// rater's not helpful gives it back.
func feedbackOutcomeTx(tx *bolt.Tx, ref ConvRef, answerAt time.Time, rating Rating, prev *Feedback, at time.Time, quiet time.Duration) error {
	key := ref.key()
	c, found, err := getOutcomeTx(tx, key)
	if err != nil || !found || answerAt.Before(c.StartedAt) || at.Sub(c.LastAnswerAt) >= quiet {
		return err // no episode, an earlier episode's answer, or resolved already
	}
	switch {
	case rating == RatingNotHelpful && c.State == OutcomeAnswered:
		if err := moveStateTx(tx, &c, key, OutcomeNotHelpful); err != nil {
			return err
		}
	case rating == RatingHelpful && prev != nil && prev.Rating == RatingNotHelpful && c.State == OutcomeNotHelpful:
		if err := moveStateTx(tx, &c, key, OutcomeAnswered); err != nil {
			return err
		}
	default:
		return nil
	}
	return putOutcomeTx(tx, key, &c)
}

func getOutcomeTx(tx *bolt.Tx, key []byte) (ConvOutcome, bool, error) {
	var c ConvOutcome
	v := tx.Bucket(bucketOutcomes).Get(key)
	if v == nil {
		return c, false, nil
	}
	if err := json.Unmarshal(v, &c); err != nil {
		return c, false, fmt.Errorf("decode outcome: %w", err)
	}
	return c, true, nil
}

func putOutcomeTx(tx *bolt.Tx, key []byte, c *ConvOutcome) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode outcome: %w", err)
	}
	return tx.Bucket(bucketOutcomes).Put(key, data)
}

func dayKey(day string, ref ConvRef) []byte { return append([]byte(day), ref.scopeKey()...) }

// changeDayTx applies change to the counts of day and ref's integration.
func changeDayTx(tx *bolt.Tx, day string, ref ConvRef, change func(d *DayCounts)) error {
	b := tx.Bucket(bucketOutcomeDays)
	key := dayKey(day, ref)
	var d DayCounts
	if v := b.Get(key); v != nil {
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode counts of %s: %w", day, err)
		}
	}
	change(&d)
	data, err := json.Marshal(d)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

func putGapTx(tx *bolt.Tx, g GapQuestion) error {
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("encode gap question: %w", err)
	}
	return tx.Bucket(bucketGaps).Put(itob(g.QuestionID), data)
}

// Scope selects the integrations a reader counts: a webhook integration,
// a widget, or (zero) all of them.
type Scope struct {
	ConfigID uint64
	WidgetID uint64
}

func (sc Scope) all() bool { return sc.ConfigID == 0 && sc.WidgetID == 0 }

func (sc Scope) key() []byte { return ConvRef{ConfigID: sc.ConfigID, WidgetID: sc.WidgetID}.scopeKey() }

// OutcomeDays returns the counts of each day from..to (inclusive, UTC
// days) of the scope, summed over its integrations, with Open and
// Resolved as of now. It reads one record per day and integration and the
// answers of the last quiet period: never the history.
func (s *Store) OutcomeDays(from, to time.Time, sc Scope, now time.Time, quiet time.Duration) (map[string]DayCounts, error) {
	out := map[string]DayCounts{}
	first, last := Day(from), Day(to)
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutcomeDays).Cursor()
		for k, v := c.Seek([]byte(first)); k != nil && len(k) >= 10 && string(k[:10]) <= last; k, v = c.Next() {
			if !sc.all() && !bytes.Equal(k[10:], sc.key()) {
				continue
			}
			var d DayCounts
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode counts of %s: %w", k[:10], err)
			}
			sum := out[string(k[:10])]
			sum.Plus(d)
			out[string(k[:10])] = sum
		}
		p := tx.Bucket(bucketOutcomePending).Cursor()
		// Answered at now-quiet exactly is resolved (Effective).
		for k, v := p.Seek(itob(uint64(now.Add(-quiet).UnixNano()) + 1)); k != nil; k, v = p.Next() {
			if !sc.all() && !bytes.HasPrefix(k[8:], sc.key()) {
				continue
			}
			if d, ok := out[string(v)]; ok {
				d.Open++
				out[string(v)] = d
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outcome counts: %w", err)
	}
	for day, d := range out {
		d.Resolved = d.Answered - d.Open
		out[day] = d
	}
	return out, nil
}

// ConvOutcomeOf returns the current episode of ref, or ErrNotFound.
func (s *Store) ConvOutcomeOf(ref ConvRef) (ConvOutcome, error) {
	var c ConvOutcome
	err := s.view(func(tx *bolt.Tx) error {
		var found bool
		var err error
		c, found, err = getOutcomeTx(tx, ref.key())
		if err == nil && !found {
			err = fmt.Errorf("outcome of %s: %w", ref, ErrNotFound)
		}
		return err
	})
	return c, err
}

// EachConvOutcome calls fn with every conversation's current episode, in
// key order (an export; it reads them all).
func (s *Store) EachConvOutcome(sc Scope, fn func(c ConvOutcome) error) error {
	return s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketOutcomes).Cursor()
		prefix := []byte{}
		if !sc.all() {
			prefix = sc.key()
		}
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var o ConvOutcome
			if err := json.Unmarshal(v, &o); err != nil {
				return fmt.Errorf("decode outcome: %w", err)
			}
			if err := fn(o); err != nil {
				return err
			}
		}
		return nil
	})
}

// GapQuestions returns up to limit gap questions at or after since,
// newest first.
func (s *Store) GapQuestions(since time.Time, limit int) ([]GapQuestion, error) {
	var out []GapQuestion
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketGaps).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var g GapQuestion
			if err := json.Unmarshal(v, &g); err != nil {
				return fmt.Errorf("decode gap question %d: %w", btoi(k), err)
			}
			if g.At.Before(since) {
				break // ids grow with time
			}
			out = append(out, g)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read gap questions: %w", err)
	}
	return out, nil
}
