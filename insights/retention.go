package insights

import (
	"context"
	"time"
)

// StartRetention removes, now and then every interval, the texts stored
// longer ago than retention (store.RedactBefore), until the returned stop
// is called. A zero retention keeps texts: nothing runs.
func (s *Service) StartRetention(retention, every time.Duration) (stop func(context.Context) error) {
	if retention <= 0 {
		return func(context.Context) error { return nil }
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.sweep(ctx, retention)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func(wait context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-wait.Done():
			return wait.Err()
		}
	}
}

// sweep removes the texts older than retention and logs what went.
func (s *Service) sweep(ctx context.Context, retention time.Duration) {
	rep, err := s.st.RedactBefore(s.opts.Now().Add(-retention))
	if err != nil {
		s.log.WarnContext(ctx, "retention sweep failed; the next one retries", "err", err)
		return
	}
	if rep.Messages+rep.Turns+rep.Feedback+rep.GapQuestions > 0 {
		s.log.InfoContext(ctx, "retention: old texts removed", "messages", rep.Messages, "memory_turns", rep.Turns,
			"feedback", rep.Feedback, "gap_questions", rep.GapQuestions, "retention", retention.String())
	}
}
