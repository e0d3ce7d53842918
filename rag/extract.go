package rag

import (
	"slices"
	"sort"
	"strings"
	"unicode"

	"github.com/chatbot/chatbot/embed"
)

// extractPassages is how many of the best passages Extract reads.
const extractPassages = 3

// Extract is the extractive answerer used when no LLM is available: the
// maxSentences sentences of the best passages that share the most terms
// with the query, quoted in their original order and grouped by passage,
// each group followed by its source as a customer can follow it (title and
// heading, and the page's URL when the source is one; never a file path:
// paths stay in used, for the admin panel and the API's sources). A
// sentence that is only the document's title or a heading is never quoted,
// and a passage whose text repeats an earlier one (a document ingested
// under two paths) is read once. used lists the quoted passages, best
// first. No passages give an empty answer and no used passages.
func Extract(query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	return extract(embed.TermsIn, detectPassage, nil, query, passages, maxSentences)
}

func detectPassage(p Passage) embed.Lang { return embed.Detect(p.Text) }

// Extract is rag.Extract with the index's stem cache and the language
// each chunk was detected in when it was indexed: stemming the passages'
// sentences was most of the extractive answer's cost.
func (ix *Index) Extract(query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	return extract(ix.an.TermsIn, ix.passageLang, ix.knownTerm, query, passages, maxSentences)
}

// knownTerm reports whether any chunk of the index holds the term.
func (ix *Index) knownTerm(t string) bool {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.lex.termPostings(t)) > 0
}

// passageLang is the language the index detected for p's chunk; a
// passage the index no longer holds is detected again.
func (ix *Index) passageLang(p Passage) embed.Lang {
	ix.mu.RLock()
	i, ok := ix.byID[p.ChunkID]
	var lang embed.Lang
	if ok {
		lang = ix.slots[i].lang
	}
	ix.mu.RUnlock()
	if !ok {
		return embed.Detect(p.Text)
	}
	return lang
}

// extract analyses each passage's sentences in the passage's language
// (langOf: known per chunk, or detected once on the whole passage):
// detecting it per sentence was half of the extractive answer's stemming
// cost under load, and a whole passage is detected more reliably than a
// short sentence.
//
// known, when not nil, tells the terms some document holds. A question
// naming something no document mentions ("Can I pay with PayPal?") is
// answered only from a passage about what it does share with the
// documents: one whose title or heading holds a matched question term
// ("ship" in "Shipping and delivery" for "Do you ship to the USA?"), not
// from a sentence that happens to say "paid".
func extract(terms func(text string, lang embed.Lang) []string, langOf func(Passage) embed.Lang, known func(string) bool, query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	if len(passages) == 0 {
		return "", nil
	}
	if maxSentences <= 0 {
		maxSentences = 3
	}
	qterms := map[string]bool{}
	// The terms retrieval read: without the question's time circumstances
	// ("after 3 months"), which would favour the sentences saying "month".
	focus := retrievalQuery(query)
	qlang := embed.Detect(focus)
	for _, t := range terms(focus, qlang) {
		qterms[t] = true
	}
	type cand struct {
		passage, pos int
		text         string
		score        float64
		carries      bool // holds what a contact cue asks for
	}
	passages = distinctPassages(passages, extractPassages)
	cue := cueOf(query)
	var cands []cand
	for pi, p := range passages {
		lang := langOf(p)
		for si, s := range Sentences(p.Text) {
			if s = dropHeadingLines(s, p); s == "" || (si == 0 && isTitleParagraph(s, p.Text)) {
				continue
			}
			matched := map[string]bool{}
			for _, t := range terms(s, lang) {
				if qterms[t] {
					matched[t] = true
				}
			}
			score := float64(len(matched))
			if len(qterms) > 0 {
				score /= float64(len(qterms))
			}
			carries := false
			switch {
			case cue.strong():
				if carries = carriesCue(cue, s); carries {
					score += strongCueBonus
				}
			case len(matched) > 0 && carriesCue(cue, s):
				score += cueBonus
			}
			// Prefer better passages and earlier sentences on ties.
			score += 0.1*p.Score - 0.01*float64(pi) - 0.001*float64(si)
			cands = append(cands, cand{passage: pi, pos: si, text: s, score: score, carries: carries})
		}
	}
	if len(cands) == 0 {
		return "", nil
	}
	// A question asking for a contact detail gets the sentences holding
	// one, when any does: "valid for one hour" is no opening hours, and
	// "enter your email address" is no address to write to.
	if slices.ContainsFunc(cands, func(c cand) bool { return c.carries }) {
		cands = slices.DeleteFunc(cands, func(c cand) bool { return !c.carries })
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if known != nil && !offTopicAllowed(terms, langOf, known, namesIn(query, qlang, terms), qterms, passages[cands[0].passage]) {
		return "", nil
	}
	chosen := cands[:min(maxSentences, len(cands))]
	// Drop sentences that match nothing when something else matched.
	if chosen[0].score >= 0.5/float64(max(len(qterms), 1)) {
		kept := chosen[:0]
		for _, c := range chosen {
			if c.score > 0.1 || c.passage == chosen[0].passage {
				kept = append(kept, c)
			}
		}
		chosen = kept
	}
	sort.SliceStable(chosen, func(i, j int) bool {
		if chosen[i].passage != chosen[j].passage {
			return chosen[i].passage < chosen[j].passage
		}
		return chosen[i].pos < chosen[j].pos
	})
	var sb strings.Builder
	last := -1
	for i, c := range chosen {
		if c.passage != last {
			if last >= 0 {
				sb.WriteString(sourceLine(passages[last]))
				sb.WriteString("\n\n")
			}
			sb.WriteString("> ")
			used = append(used, passages[c.passage])
			last = c.passage
		} else if isListItem(c.text) || isListItem(chosen[i-1].text) {
			// List items stay list items, one per line of the quote.
			sb.WriteString("\n> ")
		} else {
			sb.WriteByte(' ')
		}
		// One line per sentence: a line wrapped in the document would
		// leave the quote ("> We" and "send you a link" below it) where
		// Markdown is rendered, and break it where it is not.
		sb.WriteString(strings.Join(strings.Fields(c.text), " "))
		if i == len(chosen)-1 {
			sb.WriteString(sourceLine(passages[last]))
		}
	}
	return sb.String(), used
}

// isListItem reports whether a sentence is a list item ("- x", "1. x").
func isListItem(s string) bool { return listItemAt([]rune(s), 0) }

// sourceLine is the citation under a quote: "(Title > Heading)", with the
// document's public URL when known (p.URL, or the source when it is a web
// address); never a file path.
func sourceLine(p Passage) string {
	label := p.Title
	if p.Heading != "" && p.Heading != p.Title {
		if label != "" && !strings.HasPrefix(p.Heading, label) {
			label += " > " + p.Heading
		} else {
			label = p.Heading
		}
	}
	url := p.URL
	if url == "" && isWebAddress(p.Source) {
		url = p.Source
	}
	switch {
	case label != "" && url != "":
		return "\n  (" + label + ", " + url + ")"
	case label != "":
		return "\n  (" + label + ")"
	case url != "":
		return "\n  (" + url + ")"
	}
	return ""
}

// isWebAddress reports whether a source is an http(s) URL (a crawled page)
// rather than a path on the machine that ran the ingest.
func isWebAddress(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// distinctPassages returns the first n passages whose texts differ.
func distinctPassages(ps []Passage, n int) []Passage {
	out := make([]Passage, 0, n)
	seen := map[string]bool{}
	for _, p := range ps {
		if len(out) == n {
			break
		}
		key := strings.Join(strings.Fields(p.Text), " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, p)
	}
	return out
}

// dropHeadingLines removes the lines at the start of a sentence that are
// only the title or a heading; "" when nothing else is left.
func dropHeadingLines(s string, p Passage) string {
	for {
		line, rest, more := strings.Cut(s, "\n")
		if !isHeadingLine(line, p) {
			return s
		}
		if !more {
			return ""
		}
		s = strings.TrimSpace(rest)
	}
}

// maxTitleWords bounds the words of a title line (isTitleParagraph).
const maxTitleWords = 8

// isTitleParagraph reports whether s, the first sentence of a passage's
// text, is a plain-text file's title: a short first paragraph of its own,
// with no digits and no closing punctuation ("Filter subscription" above
// the text of filters.txt, whose title is its file name, so
// dropHeadingLines does not know it).
func isTitleParagraph(s, text string) bool {
	if strings.ContainsAny(s, "\n.!?:;…。！？0123456789") || isListItem(s) || len(strings.Fields(s)) > maxTitleWords {
		return false
	}
	rest, ok := strings.CutPrefix(strings.TrimLeft(text, " \t\r\n"), s)
	if !ok {
		return false
	}
	rest = strings.TrimLeft(rest, " \t\r")
	return strings.HasPrefix(rest, "\n") && paragraphBreakAt([]rune(rest[1:]), 0) && strings.TrimSpace(rest) != ""
}

// isHeadingLine reports whether a sentence is only the passage's title or
// one of its headings (chunk text can start with the title line: "Shipping
// and delivery" is no answer to "do you ship to the USA?").
func isHeadingLine(s string, p Passage) bool {
	norm := func(x string) string {
		x = strings.TrimLeft(strings.TrimSpace(x), "#> ")
		return strings.ToLower(strings.TrimRight(x, ".:!?"))
	}
	n := norm(s)
	if n == "" {
		return true
	}
	if n == norm(p.Title) {
		return true
	}
	for _, h := range strings.Split(p.Heading, " > ") {
		if n == norm(h) {
			return true
		}
	}
	return false
}

// offTopicAllowed reports whether the best sentence's passage p may answer
// a question: always, unless the question names something (names: its
// capitalised words' terms) no document has; then only when p's title or
// heading holds one of the question's terms. Only names count: a
// customer's own words ("do u deliver") are often missing from the
// documents without the question being off-topic.
func offTopicAllowed(terms func(string, embed.Lang) []string, langOf func(Passage) embed.Lang, known func(string) bool, names []string, qterms map[string]bool, p Passage) bool {
	if !slices.ContainsFunc(names, func(t string) bool { return !known(t) }) {
		return true
	}
	for _, t := range terms(p.Title+"\n"+p.Heading, langOf(p)) {
		if qterms[t] {
			return true
		}
	}
	return false
}

// namesIn are the terms of the question's words with a capital letter
// after their first character ("PayPal", "USA", "iPhone"): names of
// things, the question's most specific words. A capital first letter
// alone does not make a name: German writes every noun so. lang is the
// question's language, as the caller detected it.
func namesIn(query string, lang embed.Lang, terms func(string, embed.Lang) []string) []string {
	if !strings.ContainsFunc(query, unicode.IsLower) {
		return nil // shouted: every word in capitals, none a name for that
	}
	var out []string
	for _, w := range strings.Fields(query) {
		capital := false
		for j, r := range w {
			if j > 0 && unicode.IsUpper(r) {
				capital = true
				break
			}
		}
		if capital {
			out = append(out, terms(w, lang)...)
		}
	}
	return out
}
