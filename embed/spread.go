package embed

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatbot/chatbot/llm"
)

// spread runs call on the pool's least busy healthy host, and once more
// on another when it fails there for a reason another host may not share
// (unreachable, an HTTP error, a missing model), while ctx allows.
func spread(ctx context.Context, pool *llm.Pool, call func(host int) error) error {
	exclude := -1
	var first error
	for {
		i, err := pool.Pick(exclude)
		if err != nil {
			if first != nil {
				return first
			}
			if errors.Is(err, llm.ErrBusy) {
				return fmt.Errorf("embed: every server asked us to wait (HTTP 429): %w", err)
			}
			reason, _ := pool.Reason()
			return fmt.Errorf("%w: every embedding server failed in the last seconds (%s); it is tried again shortly", ErrUnreachable, reason)
		}
		err = call(i)
		pool.Done(i, outcome(ctx, err))
		if err == nil || ctx.Err() != nil || first != nil || !pool.Healthy(i) {
			return err
		}
		first, exclude = err, i
	}
}

func outcome(ctx context.Context, err error) llm.Outcome {
	var he *llm.HTTPError
	switch {
	case err == nil:
		return llm.Outcome{}
	case ctx.Err() != nil:
		return llm.Outcome{Err: err, Ignore: true}
	case errors.As(err, &he) && he.RetryAfter > 0:
		return llm.Outcome{Err: err, RetryAfter: he.RetryAfter}
	}
	return llm.Outcome{Err: err, Down: true, Reason: err.Error()}
}
