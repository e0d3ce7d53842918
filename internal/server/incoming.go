package server

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// incomingFlags are the limits of POST /api/webhook/incoming.
type incomingFlags struct {
	MaxMessageBytes int
	RatePerMinute   int
	DedupeRetention time.Duration
	MaxConcurrent   int
}

// validate refuses impossible values; zero means the default.
func (f incomingFlags) validate() error {
	switch {
	case f.MaxMessageBytes < 0 || f.MaxMessageBytes > 1<<20:
		return fmt.Errorf("--max-message-bytes must be between 1 and 1048576")
	case f.RatePerMinute < 0:
		return fmt.Errorf("--rate-per-minute must be at least 1")
	case f.DedupeRetention != 0 && f.DedupeRetention < time.Hour:
		return fmt.Errorf("--dedupe-retention must be at least 1h (platforms retry for hours or days)")
	case f.MaxConcurrent < 0 || f.MaxConcurrent > 1024:
		return fmt.Errorf("--max-concurrent-answers must be between 1 and 1024")
	}
	return nil
}

// newIncoming builds the incoming webhook endpoint from the config. The
// delivery worker is woken by the store's commit hook when an answer is
// queued, not by this endpoint.
func newIncoming(cfg Config, st *store.Store, turns *conversation.Service, log *slog.Logger) (*webhook.Incoming, error) {
	if err := cfg.Incoming.validate(); err != nil {
		return nil, err
	}
	return webhook.NewIncoming(st, turns, log, webhook.IncomingOptions{
		MaxMessageBytes: cfg.Incoming.MaxMessageBytes, RatePerMinute: cfg.Incoming.RatePerMinute,
		MaxConcurrent:  cfg.Incoming.MaxConcurrent,
		TrustedProxies: cfg.trustedProxies,
		// Above the engine's own deadline, so its fallback answer gets through.
		AnswerTimeout: cfg.Answer.AnswerTimeout + 10*time.Second,
	}), nil
}
