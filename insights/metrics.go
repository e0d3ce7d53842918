package insights

import (
	"time"

	"github.com/chatbot/chatbot/store"
)

// PromWriter is what Collect writes Prometheus text to (the metrics
// registry's writer).
type PromWriter interface {
	Family(name, typ, help string)
	Sample(name string, v float64, labels ...string)
}

// metricsDays is the window of the outcome gauges.
const metricsDays = 7

// Collect writes the counters since start (turns by kind, ratings) and
// gauges of the last 7 days' conversations by outcome, all integrations.
func (s *Service) Collect(w PromWriter) {
	c := &s.counters
	w.Family("chatbot_turn_outcomes_total", "counter", "Answered turns seen by the insights bookkeeping, by what they did to their conversation.")
	w.Sample("chatbot_turn_outcomes_total", float64(c.answered.Load()), "kind", string(store.TurnAnswered))
	w.Sample("chatbot_turn_outcomes_total", float64(c.noAnswer.Load()), "kind", string(store.TurnNoAnswer))
	w.Sample("chatbot_turn_outcomes_total", float64(c.handoff.Load()), "kind", string(store.TurnHandoff))
	w.Family("chatbot_outcome_record_failures_total", "counter", "Turns whose conversation outcome could not be stored (see the log).")
	w.Sample("chatbot_outcome_record_failures_total", float64(c.recordFailures.Load()))
	w.Family("chatbot_feedback_total", "counter", "Ratings of answers taken, by rating.")
	w.Sample("chatbot_feedback_total", float64(c.helpful.Load()), "rating", string(store.RatingHelpful))
	w.Sample("chatbot_feedback_total", float64(c.notHelpful.Load()), "rating", string(store.RatingNotHelpful))

	now := s.opts.Now().UTC()
	to := now.Truncate(24 * time.Hour)
	sum, err := s.Summarize(query{from: to.AddDate(0, 0, -(metricsDays - 1)), to: to})
	if err != nil {
		s.log.Warn("insights metrics not read", "err", err)
		return
	}
	t := sum.Total
	w.Family("chatbot_conversations_7d", "gauge", "Conversations started in the last 7 days (UTC days), by their outcome now.")
	for _, o := range []struct {
		name string
		n    int
	}{{string(store.OutcomeResolved), t.Resolved}, {string(store.OutcomeOpen), t.Open}, {string(store.OutcomeHandedOff), t.HandedOff},
		{string(store.OutcomeUnanswered), t.Unanswered}, {string(store.OutcomeNotHelpful), t.NotHelpful}} {
		w.Sample("chatbot_conversations_7d", float64(o.n), "outcome", o.name)
	}
	w.Family("chatbot_ratings_7d", "gauge", "Ratings of answers given in the last 7 days (UTC days), by rating.")
	w.Sample("chatbot_ratings_7d", float64(t.RatedHelpful), "rating", string(store.RatingHelpful))
	w.Sample("chatbot_ratings_7d", float64(t.RatedNotHelpful), "rating", string(store.RatingNotHelpful))
}
