package faq

import (
	"fmt"
	"strings"
	"sync"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// Service is the curated answers of one store with a matcher kept in step:
// every change is one store transaction, then the matcher is rebuilt from
// the store and swapped in. The engine calls Match (chat.Curated).
type Service struct {
	st *store.Store
	m  *Matcher
	// mu makes each reload's read and swap one step, so that the last
	// swap reads after the last write, whatever order writers finish in.
	mu sync.Mutex
}

// Open loads the store's curated answers; threshold <= 0 is DefaultThreshold.
func Open(st *store.Store, threshold float64) (*Service, error) {
	s := &Service{st: st, m: NewMatcher(threshold)}
	if err := s.reload(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Service) reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pairs, err := s.st.FAQs()
	if err != nil {
		return fmt.Errorf("load curated answers: %w", err)
	}
	s.m.Load(pairs)
	return nil
}

// Match is the curated pair text matches, if any (chat.Curated).
func (s *Service) Match(text string) (store.FAQ, float64, bool) { return s.m.Match(text) }

// Len is the number of curated answers the matcher knows.
func (s *Service) Len() int { return s.m.Len() }

// List returns every curated answer by id.
func (s *Service) List() ([]store.FAQ, error) { return s.st.FAQs() }

// Get returns one curated answer.
func (s *Service) Get(id uint64) (store.FAQ, error) { return s.st.FAQ(id) }

// Input is a curated answer as the API and the CLI give it. In an update
// a field left out (nil) keeps its value.
type Input struct {
	Question     *string   `json:"question"`
	Alternatives *[]string `json:"alternatives"`
	Answer       *string   `json:"answer"`
}

// Create adds a curated answer; question and answer are required.
func (s *Service) Create(in Input) (store.FAQ, error) {
	if in.Question == nil {
		return store.FAQ{}, apperr.Invalidf("question", "question is required: the customer's question this answer is for")
	}
	if in.Answer == nil {
		return store.FAQ{}, apperr.Invalidf("answer", "answer is required: the reply to give, as it should be sent")
	}
	if err := s.checkMatchable(*in.Question); err != nil {
		return store.FAQ{}, err
	}
	var f store.FAQ
	apply(&f, in)
	if err := s.st.CreateFAQ(&f); err != nil {
		return store.FAQ{}, err
	}
	return f, s.reload()
}

// Update changes the fields in gives.
func (s *Service) Update(id uint64, in Input) (store.FAQ, error) {
	if in.Question != nil {
		if err := s.checkMatchable(*in.Question); err != nil {
			return store.FAQ{}, err
		}
	}
	f, err := s.st.UpdateFAQ(id, func(f *store.FAQ) error { apply(f, in); return nil })
	if err != nil {
		return store.FAQ{}, err
	}
	return f, s.reload()
}

// checkMatchable refuses a question with no word to match on; a blank
// one is left to the store's validation, which says so.
func (s *Service) checkMatchable(q string) error {
	if strings.TrimSpace(q) == "" || s.m.Matchable(q) {
		return nil
	}
	return apperr.Invalidf("question", "question %q has no word to match on (only words such as how, do, I, please); ask it as a customer would, e.g. \"How do I reset my password?\"", q)
}

func apply(f *store.FAQ, in Input) {
	if in.Question != nil {
		f.Question = *in.Question
	}
	if in.Alternatives != nil {
		f.Alternatives = *in.Alternatives
	}
	if in.Answer != nil {
		f.Answer = *in.Answer
	}
}

// Delete removes a curated answer.
func (s *Service) Delete(id uint64) error {
	if err := s.st.DeleteFAQ(id); err != nil {
		return err
	}
	return s.reload()
}

// Pair is one question and answer of an imported file.
type Pair struct {
	Question     string   `json:"question"`
	Alternatives []string `json:"alternatives,omitempty"`
	Answer       string   `json:"answer"`
}

// MaxImport is the most pairs one import may carry.
const MaxImport = 10000

// Import adds the new questions and updates the known ones in one
// transaction (store.ImportFAQs).
func (s *Service) Import(pairs []Pair) (store.FAQImport, error) {
	if len(pairs) == 0 {
		return store.FAQImport{}, apperr.Invalidf("faqs", "faqs is empty: send at least one question and answer")
	}
	if len(pairs) > MaxImport {
		return store.FAQImport{}, apperr.Invalidf("faqs", "at most %d pairs per import, not %d; split the file", MaxImport, len(pairs))
	}
	in := make([]store.FAQ, len(pairs))
	for i, p := range pairs {
		if err := s.checkMatchable(p.Question); err != nil {
			e, _ := apperr.As(err)
			return store.FAQImport{}, apperr.Invalidf(fmt.Sprintf("faqs[%d].question", i), "pair %d: %s", i+1, e.Message)
		}
		in[i] = store.FAQ{Question: p.Question, Alternatives: p.Alternatives, Answer: p.Answer}
	}
	res, err := s.st.ImportFAQs(in)
	if err != nil {
		return store.FAQImport{}, err
	}
	return res, s.reload()
}
