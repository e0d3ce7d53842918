package chat

import (
	"strconv"

	"github.com/chatbot/chatbot/store"
)

// Curated holds the operator's own question/answer pairs (*faq.Service):
// Match returns the pair whose question the text matches closely enough.
type Curated interface {
	Match(text string) (pair store.FAQ, score float64, ok bool)
}

// curated is the reply of a matching curated pair: its answer as the
// operator wrote it, citing the pair. It comes after live chat (a human
// who has the conversation answers it) and before small talk and
// retrieval: a curated answer is how an operator corrects what the bot
// would otherwise say.
func (e *Engine) curated(text string) (Reply, bool) {
	if e.cfg.Curated == nil {
		return Reply{}, false
	}
	p, score, ok := e.cfg.Curated.Match(text)
	if !ok {
		return Reply{}, false
	}
	e.log.Debug("curated answer", "faq", p.ID, "score", score)
	return Reply{Answer: p.Answer, Type: TypeCurated, Query: text,
		Sources: []Source{{Title: "FAQ: " + p.Question, Source: "faq:" + strconv.FormatUint(p.ID, 10), Score: score}}}, true
}
