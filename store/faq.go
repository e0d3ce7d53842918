package store

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/chatbot/chatbot/apperr"
)

var (
	bucketFAQs         = []byte("faqs")          // id -> FAQ JSON
	bucketFAQQuestions = []byte("faq_questions") // FAQKey(question) -> id
)

// Limits of a curated answer, in characters (runes).
const (
	MaxFAQQuestion     = 500
	MaxFAQAnswer       = 4000
	MaxFAQAlternatives = 20
)

// FAQ is a curated answer: an operator's own question and answer, which
// wins over a generated or extractive answer when a user's question
// matches the question or one of its alternative phrasings closely enough.
// Curated answers are global: every integration and widget sees them.
type FAQ struct {
	ID           uint64    `json:"id"`
	Question     string    `json:"question"`
	Alternatives []string  `json:"alternatives"`
	Answer       string    `json:"answer"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// NormaliseFAQ trims the fields, turns CRLF line ends into LF, and drops
// empty and repeated alternatives (and those equal to the question), so
// that what is validated and stored is what a reader sees.
func NormaliseFAQ(f *FAQ) {
	f.Question = strings.TrimSpace(f.Question)
	f.Answer = strings.TrimSpace(strings.ReplaceAll(f.Answer, "\r\n", "\n"))
	seen := map[string]bool{FAQKey(f.Question): true}
	alts := make([]string, 0, len(f.Alternatives))
	for _, a := range f.Alternatives {
		a = strings.TrimSpace(a)
		if k := FAQKey(a); a != "" && !seen[k] {
			seen[k] = true
			alts = append(alts, a)
		}
	}
	f.Alternatives = alts
}

// ValidateFAQ checks a normalised FAQ; the error names the field and says
// what is allowed.
func ValidateFAQ(f FAQ) error {
	if err := checkFAQText("question", f.Question, MaxFAQQuestion, false); err != nil {
		return err
	}
	if len(f.Alternatives) > MaxFAQAlternatives {
		return apperr.Invalidf("alternatives", "at most %d alternative phrasings, not %d", MaxFAQAlternatives, len(f.Alternatives))
	}
	for i, a := range f.Alternatives {
		if err := checkFAQText(fmt.Sprintf("alternatives[%d]", i), a, MaxFAQQuestion, false); err != nil {
			return err
		}
	}
	return checkFAQText("answer", f.Answer, MaxFAQAnswer, true)
}

func checkFAQText(field, s string, limit int, newlines bool) error {
	if !utf8.ValidString(s) {
		return apperr.Invalidf(field, "%s must be valid UTF-8 text", field)
	}
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return apperr.Invalidf(field, "%s is required and must not be blank", field)
	}
	if n > limit {
		return apperr.Invalidf(field, "%s is %d characters; the limit is %d", field, n, limit)
	}
	for _, r := range s {
		if r == '\n' && newlines {
			continue
		}
		if unicode.IsControl(r) {
			if newlines {
				return apperr.Invalidf(field, "%s must not contain control characters other than line breaks (found U+%04X)", field, r)
			}
			return apperr.Invalidf(field, "%s must be one line without control characters (found U+%04X)", field, r)
		}
	}
	return nil
}

// FAQKey is the form under which questions are unique: lower case, runs
// of spaces as one, without the closing punctuation. "How do I pay?" and
// "how do i  pay" are one question.
func FAQKey(q string) string {
	return strings.TrimRight(strings.Join(strings.Fields(strings.ToLower(q)), " "), "?!.。？！ ")
}

func getFAQTx(tx *bolt.Tx, id uint64) (FAQ, error) {
	var v []byte
	if b := tx.Bucket(bucketFAQs); b != nil { // absent in a read-only file from before curated answers
		v = b.Get(itob(id))
	}
	if v == nil {
		return FAQ{}, faqNotFound(id)
	}
	var f FAQ
	if err := json.Unmarshal(v, &f); err != nil { // decodes into fresh values
		return FAQ{}, fmt.Errorf("decode curated answer %d: %w", id, err)
	}
	return f, nil
}

func faqNotFound(id uint64) error {
	return apperr.Wrap(apperr.NotFound, fmt.Errorf("curated answer %d: %w", id, ErrNotFound),
		"no curated answer %d; list them with GET /api/faq or chatbot faq list", id)
}

// putFAQTx validates f and writes it with its question key, refusing a
// question another FAQ already has.
func putFAQTx(tx *bolt.Tx, f FAQ, oldKey string) error {
	if err := ValidateFAQ(f); err != nil {
		return err
	}
	keys := tx.Bucket(bucketFAQQuestions)
	key := FAQKey(f.Question)
	if key != oldKey {
		if other := keys.Get([]byte(key)); other != nil {
			return &apperr.Error{Code: apperr.Conflict, Field: "question", Err: fmt.Errorf("faq question: %w", ErrConflict),
				Message: fmt.Sprintf("curated answer %d already has this question; change that one instead", btoi(other))}
		}
		if oldKey != "" {
			if err := keys.Delete([]byte(oldKey)); err != nil {
				return err
			}
		}
		if err := keys.Put([]byte(key), itob(f.ID)); err != nil {
			return err
		}
	}
	data, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("encode curated answer %d: %w", f.ID, err)
	}
	return tx.Bucket(bucketFAQs).Put(itob(f.ID), data)
}

func (s *Store) createFAQTx(tx *bolt.Tx, f *FAQ) error {
	NormaliseFAQ(f)
	if err := ValidateFAQ(*f); err != nil { // before the id is taken
		return err
	}
	id, err := tx.Bucket(bucketFAQs).NextSequence()
	if err != nil {
		return err
	}
	now := s.now().UTC()
	f.ID, f.CreatedAt, f.UpdatedAt = id, now, now
	return putFAQTx(tx, *f, "")
}

// CreateFAQ normalises, validates and stores a new curated answer, setting
// its ID and timestamps. A question already curated is a Conflict.
func (s *Store) CreateFAQ(f *FAQ) error {
	return s.update(func(tx *bolt.Tx) error { return s.createFAQTx(tx, f) })
}

// FAQ returns the curated answer with this id.
func (s *Store) FAQ(id uint64) (FAQ, error) {
	var f FAQ
	err := s.view(func(tx *bolt.Tx) (err error) {
		f, err = getFAQTx(tx, id)
		return err
	})
	return f, err
}

// FAQs lists every curated answer by id.
func (s *Store) FAQs() ([]FAQ, error) {
	out := []FAQ{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketFAQs)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			f, err := getFAQTx(tx, btoi(k))
			if err != nil {
				return err
			}
			out = append(out, f)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// UpdateFAQ applies change to the stored curated answer, then normalises
// and validates the result, in one transaction.
func (s *Store) UpdateFAQ(id uint64, change func(f *FAQ) error) (FAQ, error) {
	var updated FAQ
	err := s.update(func(tx *bolt.Tx) error {
		f, err := getFAQTx(tx, id)
		if err != nil {
			return err
		}
		oldKey := FAQKey(f.Question)
		if err := change(&f); err != nil {
			return err
		}
		NormaliseFAQ(&f)
		f.ID = id
		f.UpdatedAt = s.now().UTC()
		updated = f
		return putFAQTx(tx, f, oldKey)
	})
	return updated, err
}

// DeleteFAQ removes a curated answer.
func (s *Store) DeleteFAQ(id uint64) error {
	return s.update(func(tx *bolt.Tx) error {
		f, err := getFAQTx(tx, id)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketFAQQuestions).Delete([]byte(FAQKey(f.Question))); err != nil {
			return err
		}
		return tx.Bucket(bucketFAQs).Delete(itob(id))
	})
}

// FAQImport counts what ImportFAQs did.
type FAQImport struct {
	Added     int `json:"added"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}

// ImportFAQs adds the pairs whose question is new and replaces the answer
// (and the alternatives, when the pair has any) of those already curated,
// all in one transaction: one
// invalid pair (its field named with its position, "faqs[3].answer")
// leaves the store as it was. Importing the same file twice changes
// nothing the second time.
func (s *Store) ImportFAQs(in []FAQ) (FAQImport, error) {
	var res FAQImport
	err := s.update(func(tx *bolt.Tx) error {
		res = FAQImport{}
		keys := tx.Bucket(bucketFAQQuestions)
		for i := range in {
			f := in[i]
			NormaliseFAQ(&f)
			if err := ValidateFAQ(f); err != nil {
				return atPosition(err, i)
			}
			v := keys.Get([]byte(FAQKey(f.Question)))
			if v == nil {
				if err := s.createFAQTx(tx, &f); err != nil {
					return atPosition(err, i)
				}
				res.Added++
				continue
			}
			old, err := getFAQTx(tx, btoi(v))
			if err != nil {
				return err
			}
			if len(f.Alternatives) == 0 {
				// A file without phrasings (Markdown, CSV without the
				// column) keeps those added in the panel or the API.
				f.Alternatives = old.Alternatives
			}
			if old.Answer == f.Answer && old.Question == f.Question && slices.Equal(old.Alternatives, f.Alternatives) {
				res.Unchanged++
				continue
			}
			old.Question, old.Answer, old.Alternatives = f.Question, f.Answer, f.Alternatives
			old.UpdatedAt = s.now().UTC()
			if err := putFAQTx(tx, old, FAQKey(old.Question)); err != nil {
				return atPosition(err, i)
			}
			res.Updated++
		}
		return nil
	})
	return res, err
}

// atPosition names the pair of an import an error is about.
func atPosition(err error, i int) error {
	if e, ok := apperr.As(err); ok {
		c := *e
		c.Field = fmt.Sprintf("faqs[%d]", i)
		if e.Field != "" {
			c.Field += "." + e.Field
		}
		c.Message = fmt.Sprintf("pair %d: %s", i+1, e.Message)
		return &c
	}
	return fmt.Errorf("pair %d: %w", i+1, err)
}
