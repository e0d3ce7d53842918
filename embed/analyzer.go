package embed

import "sync"

// maxCachedStems bounds an Analyzer's stem cache; it is emptied when full.
const maxCachedStems = 1 << 18

// Analyzer turns text into terms like Terms, with a cache of stems:
// stemming is most of the cost of embedding and indexing, and words repeat.
// Safe for concurrent use.
type Analyzer struct {
	mu    sync.RWMutex
	stems map[string]string
}

// NewAnalyzer returns an analyzer with an empty cache.
func NewAnalyzer() *Analyzer { return &Analyzer{stems: map[string]string{}} }

// Stem is Stem with the cache.
func (a *Analyzer) Stem(w string) string {
	a.mu.RLock()
	s, ok := a.stems[w]
	a.mu.RUnlock()
	if ok {
		return s
	}
	s = Stem(w)
	a.mu.Lock()
	if len(a.stems) >= maxCachedStems {
		a.stems = map[string]string{}
	}
	a.stems[w] = s
	a.mu.Unlock()
	return s
}

// Terms is Terms with the cache.
func (a *Analyzer) Terms(text string) []string {
	words := Words(text)
	out := words[:0]
	for _, w := range words {
		if IsStopWord(w) {
			continue
		}
		out = append(out, a.Stem(w))
	}
	return out
}
