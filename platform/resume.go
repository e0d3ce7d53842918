package platform

import (
	"github.com/chatbot/chatbot/conversation"
)

// maxResumed bounds the messages taken back at a start.
const maxResumed = 1024

// Claim takes back the messages of native integrations that were
// acknowledged but not answered before the last stop (the platform got
// its 200 and does not send them again). It claims them at once and
// returns start, which answers them in the background. Call Claim before
// the seed-format endpoint's ResumeAsync (which would answer them with
// no delivery: it finds them claimed and leaves them), then start.
func (h *Handler) Claim() (start func() int, err error) {
	msgs, err := h.store.Unanswered(maxResumed)
	if err != nil {
		return nil, err
	}
	var claimed []*conversation.Accepted
	for _, m := range msgs {
		if m.PlatformMessageID == "" {
			continue // native messages always carry the platform's id
		}
		cfg, err := h.store.Config(m.ConfigID)
		if err != nil || !cfg.Native() || !cfg.IsActive {
			continue
		}
		if a, ok := h.turns.Resume(m, true); ok {
			claimed = append(claimed, a)
		}
	}
	return func() int {
		n := 0
		for _, a := range claimed {
			if !h.startBackground() {
				h.turns.Release(a)
				continue
			}
			go h.answer(a)
			n++
		}
		return n
	}, nil
}
