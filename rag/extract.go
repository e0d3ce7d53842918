package rag

import (
	"sort"
	"strings"

	"github.com/chatbot/chatbot/embed"
)

// extractPassages is how many of the best passages Extract reads.
const extractPassages = 3

// Extract is the extractive answerer used when no LLM is available: the
// maxSentences sentences of the best passages that share the most terms
// with the query, quoted in their original order and grouped by passage,
// each group followed by its source. used lists the quoted passages, best
// first. No passages give an empty answer and no used passages.
func Extract(query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	return extract(embed.Terms, query, passages, maxSentences)
}

// Extract is rag.Extract with the index's stem cache: stemming the
// passages' sentences was most of the extractive answer's cost.
func (ix *Index) Extract(query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	return extract(ix.an.Terms, query, passages, maxSentences)
}

func extract(terms func(string) []string, query string, passages []Passage, maxSentences int) (answer string, used []Passage) {
	if len(passages) == 0 {
		return "", nil
	}
	if maxSentences <= 0 {
		maxSentences = 3
	}
	qterms := map[string]bool{}
	for _, t := range terms(query) {
		qterms[t] = true
	}
	type cand struct {
		passage, pos int
		text         string
		score        float64
	}
	var cands []cand
	for pi, p := range passages[:min(len(passages), extractPassages)] {
		for si, s := range Sentences(p.Text) {
			matched := map[string]bool{}
			for _, t := range terms(s) {
				if qterms[t] {
					matched[t] = true
				}
			}
			score := float64(len(matched))
			if len(qterms) > 0 {
				score /= float64(len(qterms))
			}
			// Prefer better passages and earlier sentences on ties.
			score += 0.1*p.Score - 0.01*float64(pi) - 0.001*float64(si)
			cands = append(cands, cand{passage: pi, pos: si, text: s, score: score})
		}
	}
	if len(cands) == 0 {
		return "", nil
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
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
		} else {
			sb.WriteByte(' ')
		}
		sb.WriteString(c.text)
		if i == len(chosen)-1 {
			sb.WriteString(sourceLine(passages[last]))
		}
	}
	return sb.String(), used
}

func sourceLine(p Passage) string {
	label := p.Title
	if p.Heading != "" && p.Heading != p.Title {
		if label != "" && !strings.HasPrefix(p.Heading, label) {
			label += " > " + p.Heading
		} else {
			label = p.Heading
		}
	}
	if label == "" {
		return "\n  (" + p.Source + ")"
	}
	return "\n  (" + label + ", " + p.Source + ")"
}
