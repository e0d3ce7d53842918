package insights

import (
	"context"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/store"
)

// Observe records the outcome of an answered turn (conversation.Observer):
// the conversation's episode moves to answered, unanswered or handed off,
// and a question without a good answer is kept as a gap. A failure is
// logged, never the turn's.
func (s *Service) Observe(ctx context.Context, out conversation.Outcome) {
	ev, ok := s.event(out)
	if !ok {
		return
	}
	if !out.Recorded {
		if err := s.st.RecordTurn(ev, s.opts.Quiet); err != nil {
			s.counters.recordFailures.Add(1)
			s.log.WarnContext(ctx, "conversation outcome not recorded", "message_id", out.Message.ID, "err", err)
			return
		}
	}
	switch ev.Kind {
	case store.TurnAnswered:
		s.counters.answered.Add(1)
	case store.TurnNoAnswer:
		s.counters.noAnswer.Add(1)
	case store.TurnHandoff:
		s.counters.handoff.Add(1)
	}
}

// Record is the turn's outcome, written in the reply's transaction
// (conversation.Recorder): one commit per turn instead of two.
func (s *Service) Record(out conversation.Outcome) store.TurnWrite {
	ev, ok := s.event(out)
	if !ok {
		return nil
	}
	return store.TurnOutcome{Event: ev, Quiet: s.opts.Quiet, OnError: func(err error) {
		s.counters.recordFailures.Add(1)
		s.log.Warn("conversation outcome not recorded", "message_id", out.Message.ID, "err", err)
	}}
}

// event is what the turn did to its conversation; ok is false for a turn
// that counts nothing (a platform's retry, whose first turn was counted,
// or a paused conversation).
func (s *Service) event(out conversation.Outcome) (store.TurnEvent, bool) {
	if out.Duplicate || out.Message == nil {
		return store.TurnEvent{}, false
	}
	kind, ok := turnKind(out.Answer)
	if !ok {
		return store.TurnEvent{}, false
	}
	msg := out.Message
	ev := store.TurnEvent{Ref: msg.Ref(), UserID: msg.UserID, Kind: kind, At: s.opts.Now()}
	if reason := s.gapReason(out.Answer); reason != "" {
		ev.Gap = &store.GapQuestion{QuestionID: msg.ID, AnswerID: out.ResponseID(), ConfigID: msg.ConfigID,
			WidgetID: msg.WidgetID, Platform: msg.Platform, ConversationID: msg.ConversationID, UserID: msg.UserID,
			Question: msg.Text, Reason: reason, At: ev.At}
	}
	return ev, true
}

// turnKind is what a reply did to its conversation; ok is false for a
// reply that says nothing (a step kept the bot quiet).
func turnKind(r chat.Reply) (store.TurnKind, bool) {
	switch r.Type {
	case chat.TypeLiveChatTransfer, chat.TypeLiveChatMessage:
		return store.TurnHandoff, true
	case chat.TypeNoAnswer:
		return store.TurnNoAnswer, true
	}
	if r.Answer == "" {
		return "", false
	}
	return store.TurnAnswered, true
}

// gapReason says why a reply shows a gap in the knowledge base: none, or
// an answer from it whose best passage scored under LowConfidence.
func (s *Service) gapReason(r chat.Reply) string {
	switch r.Type {
	case chat.TypeNoAnswer:
		return "no_answer"
	case chat.TypeRAG, chat.TypeExtractive:
		best := 0.0
		for _, src := range r.Sources {
			best = max(best, src.Score)
		}
		if len(r.Sources) > 0 && best < s.opts.LowConfidence {
			return "low_confidence"
		}
	}
	return ""
}
