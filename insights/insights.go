// Package insights answers the operator's three weekly questions: how many
// conversations the bot resolved without a human, which answers customers
// disliked, and which questions it could not answer. It keeps the outcome
// of each conversation as the turns arrive (an Observer of the
// conversation service), takes ratings of answers (feedback), groups the
// questions the knowledge base did not serve into gaps, and serves the
// numbers, CSV exports and Prometheus metrics.
package insights

import (
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// Defaults of Options.
const (
	// DefaultLowConfidence is the best source score under which an answer
	// from the knowledge base counts as weak (a gap). The index returns
	// nothing below rag.DefaultMinScore (0.25).
	DefaultLowConfidence = 0.4
	// DefaultGapSimilarity is the cosine similarity (built-in embedder) at
	// which a question joins a gap cluster: the middle of the band (0.2 to
	// 0.3) that groups gaps_test.go's set right.
	DefaultGapSimilarity = 0.25
)

// Options tune a Service; zero values take the defaults.
type Options struct {
	// Quiet is how long a conversation stays quiet after an answer before
	// it counts as resolved by the bot (default store.DefaultQuietPeriod).
	Quiet         time.Duration
	LowConfidence float64
	GapSimilarity float64
	// Embedder groups gap questions (default the built-in one: no model).
	Embedder embed.Embedder
	Now      func() time.Time
	Log      *slog.Logger
}

// Service keeps and serves the insights of one store.
type Service struct {
	st       *store.Store
	opts     Options
	log      *slog.Logger
	counters counters
}

// counters count since start, for Prometheus.
type counters struct {
	answered, noAnswer, handoff atomic.Uint64 // turns by kind
	helpful, notHelpful         atomic.Uint64 // ratings taken
	recordFailures              atomic.Uint64 // outcome updates that failed
}

// New returns the service over st.
func New(st *store.Store, opts Options) *Service {
	if opts.Quiet <= 0 {
		opts.Quiet = store.DefaultQuietPeriod
	}
	if opts.LowConfidence == 0 {
		opts.LowConfidence = DefaultLowConfidence
	}
	if opts.GapSimilarity == 0 {
		opts.GapSimilarity = DefaultGapSimilarity
	}
	if opts.Embedder == nil {
		opts.Embedder = embed.NewBuiltin()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{st: st, opts: opts, log: log}
}

// Quiet is the quiet period after which an answered conversation counts
// as resolved.
func (s *Service) Quiet() time.Duration { return s.opts.Quiet }
