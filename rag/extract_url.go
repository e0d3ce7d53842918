package rag

import (
	"strconv"
	"strings"
)

// WithURLs returns the passages with their documents' public URLs (URL),
// read from the store: the search's in-memory index keeps no URL. A
// document without one keeps "", except a crawled page stored before URLs
// were recorded, whose Source is its address (without the heading's
// anchor, which the page itself may not have). Lookups that fail leave
// URL empty: a citation without a link is better than no answer.
func (ix *Index) WithURLs(ps []Passage) []Passage {
	if len(ps) == 0 {
		return ps
	}
	out := make([]Passage, len(ps))
	urls := map[string]string{}
	for i, p := range ps {
		u, ok := urls[p.DocID]
		if !ok {
			u = ix.docURL(p)
			urls[p.DocID] = u
		}
		p.URL = u
		out[i] = p
	}
	return out
}

func (ix *Index) docURL(p Passage) string {
	if id, err := strconv.ParseUint(p.DocID, 10, 64); err == nil {
		if d, err := ix.st.Document(id); err == nil && d.URL != "" {
			return d.URL
		}
	}
	if isWebAddress(p.Source) {
		u, _, _ := strings.Cut(p.Source, "#")
		return u
	}
	return ""
}
