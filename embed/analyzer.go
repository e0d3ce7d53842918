package embed

import "sync"

// maxCachedStems bounds an Analyzer's stem cache; it is emptied when full.
const maxCachedStems = 1 << 18

// Analyzer turns text into terms like Terms, with a cache of stems:
// stemming is most of the cost of embedding and indexing, and words repeat.
// Safe for concurrent use.
type Analyzer struct {
	mu    sync.RWMutex
	stems map[stemKey]string
}

type stemKey struct {
	lang Lang
	word string
}

// AnalyzerVersion names the lexical analysis this Analyzer does; a
// knowledge base records it, and one made by another version has its
// chunks' terms derived again at start (rag.Open). The built-in embedder
// hashes these stems: a change here changes its model name too.
// lang-v2: English irregular forms stemmed as their base (englishLemmas).
const AnalyzerVersion = "lang-v2"

// NewAnalyzer returns an analyzer with an empty cache.
func NewAnalyzer() *Analyzer { return &Analyzer{stems: map[stemKey]string{}} }

// Stem is the English Stem with the cache.
func (a *Analyzer) Stem(w string) string { return a.StemIn(w, English) }

// StemIn is StemIn with the cache.
func (a *Analyzer) StemIn(w string, lang Lang) string {
	k := stemKey{lang, w}
	a.mu.RLock()
	s, ok := a.stems[k]
	a.mu.RUnlock()
	if ok {
		return s
	}
	s = StemIn(w, lang)
	a.mu.Lock()
	if len(a.stems) >= maxCachedStems {
		a.stems = map[stemKey]string{}
	}
	a.stems[k] = s
	a.mu.Unlock()
	return s
}

// Terms is Terms with the cache: analysed in the language Detect finds.
func (a *Analyzer) Terms(text string) []string { return a.TermsIn(text, Detect(text)) }

// TermsIn is TermsIn with the cache.
func (a *Analyzer) TermsIn(text string, lang Lang) []string {
	words := Words(text)
	out := words[:0]
	for _, w := range words {
		if IsStopWordIn(w, lang) {
			continue
		}
		out = append(out, a.StemIn(w, lang))
	}
	return out
}
