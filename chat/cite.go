package chat

// urlResolver is a Retriever that knows its documents' public URLs
// (*rag.Index): the passages it found get them before an answer cites
// them, so customers see a link, never a file path.
type urlResolver interface {
	WithURLs(ps []Passage) []Passage
}

func (e *Engine) withURLs(ps []Passage) []Passage {
	if r, ok := e.cfg.Retriever.(urlResolver); ok {
		return r.WithURLs(ps)
	}
	return ps
}
