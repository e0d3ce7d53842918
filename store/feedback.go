package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketFeedback holds the ratings of the bot's answers, one per rater and
// answer: a rater's second rating of an answer replaces the first.
var bucketFeedback = []byte("feedback") // answer id(8) || rater key -> Feedback JSON

// Rating is a rater's verdict on an answer.
type Rating string

// Ratings.
const (
	RatingHelpful    Rating = "helpful"
	RatingNotHelpful Rating = "not_helpful"
)

// RaterKind says who rated, by how they authenticated.
type RaterKind string

// Rater kinds.
const (
	RaterUser    RaterKind = "user"    // a platform's user, through the integration's token
	RaterAgent   RaterKind = "agent"   // an agent or operator, through the admin token
	RaterVisitor RaterKind = "visitor" // a website visitor, through the widget
)

// ErrNotAnswer means a rated message is not an answer of the bot.
var ErrNotAnswer = errors.New("not an answer of the bot")

// Feedback is one rating of one answer of the bot, stored with what the
// answer was (its response type and sources) and the question it answered.
type Feedback struct {
	MessageID      uint64          `json:"message_id"` // the rated answer
	QuestionID     uint64          `json:"question_id,omitempty"`
	Question       string          `json:"question,omitempty"`
	ConfigID       uint64          `json:"config_id,omitempty"`
	WidgetID       uint64          `json:"widget_id,omitempty"`
	Platform       string          `json:"platform,omitempty"`
	ConversationID string          `json:"conversation_id,omitempty"`
	UserID         string          `json:"user_id,omitempty"` // the answer's user
	ResponseType   ResponseType    `json:"response_type"`
	Sources        []MessageSource `json:"sources,omitempty"`
	Rating         Rating          `json:"rating"`
	Comment        string          `json:"comment,omitempty"`
	// Rater is who rated, as the caller reported it: recorded, trusted
	// for nothing (it only tells one rater's rating from another's).
	Rater     string    `json:"rater"`
	RaterKind RaterKind `json:"rater_kind"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IsAnswer reports whether m is an answer of the bot that can be rated.
func IsAnswer(m *Message) bool {
	return m.Type == MessageOutgoing && m.SenderType == "bot" && m.ReplyTo != 0
}

func feedbackKey(answerID uint64, kind RaterKind, rater string) []byte {
	k := append(itob(answerID), kind...)
	return append(append(k, 0), rater...)
}

// PutFeedback stores fb (MessageID, Rating, Comment, Rater, RaterKind) as
// its rater's rating of the answer, replacing the rater's earlier one, and
// applies it to the conversation's outcome and the day's counts, in one
// transaction. It returns the stored rating and the replaced one (nil for
// a first rating). A not helpful rating records the question as a gap.
func (s *Store) PutFeedback(fb Feedback, quiet time.Duration) (stored Feedback, prev *Feedback, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		answer, err := getMessageTx(tx, fb.MessageID)
		if err != nil {
			return err
		}
		if !IsAnswer(answer) {
			return fmt.Errorf("message %d: %w", fb.MessageID, ErrNotAnswer)
		}
		now := s.now().UTC()
		fb.ConfigID, fb.WidgetID, fb.Platform, fb.ConversationID = answer.ConfigID, answer.WidgetID, answer.Platform, answer.ConversationID
		fb.UserID, fb.ResponseType, fb.Sources, fb.QuestionID = answer.UserID, answer.ResponseType, answer.Sources, answer.ReplyTo
		if q, err := getMessageTx(tx, answer.ReplyTo); err == nil {
			fb.Question = q.Text
		}
		fb.CreatedAt, fb.UpdatedAt = now, now
		b := tx.Bucket(bucketFeedback)
		key := feedbackKey(fb.MessageID, fb.RaterKind, fb.Rater)
		prev = nil
		if v := b.Get(key); v != nil {
			var old Feedback
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("decode feedback: %w", err)
			}
			prev, fb.CreatedAt = &old, old.CreatedAt
			if err := changeDayTx(tx, Day(old.UpdatedAt), answer.Ref(), func(d *DayCounts) { d.rate(old.Rating, -1) }); err != nil {
				return err
			}
		}
		data, err := json.Marshal(fb)
		if err != nil {
			return fmt.Errorf("encode feedback: %w", err)
		}
		if err := b.Put(key, data); err != nil {
			return err
		}
		if err := changeDayTx(tx, Day(now), answer.Ref(), func(d *DayCounts) { d.rate(fb.Rating, 1) }); err != nil {
			return err
		}
		// A question already kept as a gap (no answer, a weak one) keeps
		// that reason: it says more than the rating.
		if fb.Rating == RatingNotHelpful && fb.Question != "" && tx.Bucket(bucketGaps).Get(itob(fb.QuestionID)) == nil {
			g := GapQuestion{QuestionID: fb.QuestionID, AnswerID: fb.MessageID, ConfigID: fb.ConfigID, WidgetID: fb.WidgetID,
				Platform: fb.Platform, ConversationID: fb.ConversationID, UserID: fb.UserID, Question: fb.Question,
				Reason: "not_helpful", At: now}
			if err := putGapTx(tx, g); err != nil {
				return err
			}
		}
		stored = fb
		return feedbackOutcomeTx(tx, answer.Ref(), answer.CreatedAt, fb.Rating, prev, now, quiet)
	})
	if err != nil {
		return Feedback{}, nil, fmt.Errorf("store feedback on message %d: %w", fb.MessageID, err)
	}
	return stored, prev, nil
}

func (d *DayCounts) rate(r Rating, delta int) {
	if r == RatingHelpful {
		d.RatedHelpful += delta
	} else {
		d.RatedNot += delta
	}
}

// FeedbackOn returns the ratings of answer id, oldest rater key first.
func (s *Store) FeedbackOn(id uint64) ([]Feedback, error) {
	out := []Feedback{}
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketFeedback).Cursor()
		prefix := itob(id)
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var f Feedback
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode feedback: %w", err)
			}
			out = append(out, f)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("feedback on message %d: %w", id, err)
	}
	return out, nil
}

// EachFeedback calls fn with every rating given at or after since (a
// report over the ratings; it reads them all).
func (s *Store) EachFeedback(since time.Time, fn func(f Feedback) error) error {
	return s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketFeedback).ForEach(func(_, v []byte) error {
			var f Feedback
			if err := json.Unmarshal(v, &f); err != nil {
				return fmt.Errorf("decode feedback: %w", err)
			}
			if f.UpdatedAt.Before(since) {
				return nil
			}
			return fn(f)
		})
	})
}
