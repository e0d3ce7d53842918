package faq

import (
	"slices"
	"sync/atomic"
	"unicode/utf8"

	"github.com/chatbot/chatbot/embed"
	"github.com/chatbot/chatbot/store"
)

// DefaultThreshold is the least similarity (Dice coefficient of the
// content terms) at which a question matches a curated one. With the rule
// that the two may not each have words the other lacks, it means: the
// same content words, or one question is the other with at most one word
// in three added ("reset password" and "reset password on the app").
const DefaultThreshold = 0.8

// Matcher finds the curated answer whose question, or one of whose
// alternative phrasings, a user's question matches. Its index is built
// from all pairs at once (Load) and swapped atomically, so Match never
// waits and never sees half an update. Safe for concurrent use.
type Matcher struct {
	idx       atomic.Pointer[index]
	an        *embed.Analyzer
	threshold float64
}

// NewMatcher returns an empty matcher; threshold <= 0 means
// DefaultThreshold.
func NewMatcher(threshold float64) *Matcher {
	if threshold <= 0 {
		threshold = DefaultThreshold
	}
	m := &Matcher{an: embed.NewAnalyzer(), threshold: threshold}
	m.idx.Store(&index{})
	return m
}

// index is the immutable matching state of one set of pairs.
type index struct {
	pairs    []store.FAQ
	variants []variant
	langs    []embed.Lang       // the languages of the variants, in first-seen order
	post     map[string][]int32 // term -> variants that have it
	byLen    map[int][]string   // every term by its length in runes, sorted: what a typo is compared with
	// analysed keeps each phrasing's analysis for the next Load, which
	// then analyses only the phrasings that are new: detecting the
	// language is most of a rebuild's cost.
	analysed map[string]analysis
}

type analysis struct {
	lang  embed.Lang
	terms []string
}

// variant is one phrasing of a pair's question, analysed in its language.
type variant struct {
	pair  int
	lang  embed.Lang
	terms []string // sorted, unique
}

// Load replaces the pairs the matcher knows.
func (m *Matcher) Load(pairs []store.FAQ) {
	prev := m.idx.Load()
	ix := &index{pairs: slices.Clone(pairs), post: map[string][]int32{}, byLen: map[int][]string{}, analysed: map[string]analysis{}}
	for i, p := range ix.pairs {
		for _, q := range append([]string{p.Question}, p.Alternatives...) {
			a, ok := prev.analysed[q]
			if !ok {
				lang := embed.Detect(q)
				a = analysis{lang: lang, terms: terms(m.an, q, lang)}
			}
			ix.analysed[q] = a
			lang, ts := a.lang, a.terms
			if len(ts) == 0 {
				continue // all stop words ("how do I?"): it can match nothing
			}
			if !slices.Contains(ix.langs, lang) {
				ix.langs = append(ix.langs, lang)
			}
			vi := int32(len(ix.variants))
			ix.variants = append(ix.variants, variant{pair: i, lang: lang, terms: ts})
			for _, t := range ts {
				if ix.post[t] == nil {
					n := utf8.RuneCountInString(t)
					ix.byLen[n] = append(ix.byLen[n], t)
				}
				ix.post[t] = append(ix.post[t], vi)
			}
		}
	}
	for _, ts := range ix.byLen {
		slices.Sort(ts)
	}
	m.idx.Store(ix)
}

// Matchable reports whether question has a word to match on: "how do
// I?" has none, and a pair asked that way would never answer.
func (m *Matcher) Matchable(question string) bool {
	return len(terms(m.an, question, embed.Detect(question))) > 0
}

// Len is the number of pairs loaded.
func (m *Matcher) Len() int { return len(m.idx.Load().pairs) }

// Match returns the curated pair that best matches text, with its score,
// when one reaches the threshold. A question matches a phrasing when
//   - their content terms (stemmed, without stop words and filler such as
//     "please") have a Dice coefficient of at least the threshold, and
//   - not both of them have terms the other lacks: "reset my router" is
//     not "reset my password", however much else they share.
//
// A term of five letters or more that no phrasing has counts as the one
// phrasing term it is a single typo away from, if there is exactly one.
// Ties go to the older pair (lower id).
func (m *Matcher) Match(text string) (store.FAQ, float64, bool) {
	ix := m.idx.Load()
	if len(ix.variants) == 0 {
		return store.FAQ{}, 0, false
	}
	best, bestScore := -1, 0.0
	for _, lang := range ix.langs {
		u := ix.spellCorrect(terms(m.an, text, lang))
		seen := map[int32]bool{}
		for _, t := range u {
			for _, vi := range ix.post[t] {
				if seen[vi] {
					continue
				}
				seen[vi] = true
				v := ix.variants[vi]
				if v.lang != lang {
					continue
				}
				s, ok := similarity(v.terms, u)
				if !ok || s < m.threshold {
					continue
				}
				if best < 0 || s > bestScore || (s == bestScore && ix.pairs[v.pair].ID < ix.pairs[best].ID) {
					best, bestScore = v.pair, s
				}
			}
		}
	}
	if best < 0 {
		return store.FAQ{}, 0, false
	}
	return ix.pairs[best], bestScore, true
}

// spellCorrect replaces each term no phrasing has by the one phrasing term
// it is a single edit away from, if exactly one is; it returns a sorted,
// unique set.
func (ix *index) spellCorrect(u []string) []string {
	out := make([]string, 0, len(u))
	for _, t := range u {
		if n := utf8.RuneCountInString(t); n >= minFuzzyRunes && ix.post[t] == nil {
			var near []string
			for _, l := range []int{n - 1, n, n + 1} {
				for _, v := range ix.byLen[l] {
					if nearSpelling(t, v) {
						near = append(near, v)
					}
				}
			}
			if len(near) == 1 {
				t = near[0]
			}
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// similarity is the Dice coefficient of two sorted term sets, and whether
// they may match at all: not when each has a term the other lacks.
func similarity(q, u []string) (float64, bool) {
	common, i, j := 0, 0, 0
	for i < len(q) && j < len(u) {
		switch {
		case q[i] == u[j]:
			common++
			i++
			j++
		case q[i] < u[j]:
			i++
		default:
			j++
		}
	}
	if common == 0 {
		return 0, false
	}
	dice := 2 * float64(common) / float64(len(q)+len(u))
	return dice, common == len(q) || common == len(u)
}
