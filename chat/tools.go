package chat

import "context"

// Tools answers from the operator's own APIs (package tools): a trigger
// matched, or the conversation's half-filled call completed. It is asked
// after live chat and curated answers, before small talk and retrieval,
// and handles its own failures (an apology is still handled).
type Tools interface {
	Answer(ctx context.Context, req Request) (reply Reply, handled bool)
}

func (e *Engine) tool(ctx context.Context, req Request) (Reply, bool) {
	if e.cfg.Tools == nil {
		return Reply{}, false
	}
	return e.cfg.Tools.Answer(ctx, req)
}
