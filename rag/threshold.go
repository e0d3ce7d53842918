package rag

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// LabelledQuestion is one line of an operator's threshold file: a question
// and the document that answers it ("" when none does).
type LabelledQuestion struct {
	Line     int
	Question string
	Expected string // a document source or path ("docs/refunds.md"); "" for none
}

// maxLabelledQuestions bounds a threshold file.
const maxLabelledQuestions = 10000

// ParseLabelled reads a threshold file: one question per line, a TAB, and
// the source of the document that answers it (as `chatbot docs list` shows
// it, with or without its #section) or `none`. Blank lines and lines
// starting with # are skipped.
func ParseLabelled(r io.Reader) ([]LabelledQuestion, error) {
	var out []LabelledQuestion
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("line %d: not UTF-8 text", n)
		}
		q, exp, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("line %d: want question, TAB, expected document source or none; found no TAB", n)
		}
		q, exp = strings.TrimSpace(q), strings.TrimSpace(exp)
		if q == "" {
			return nil, fmt.Errorf("line %d: the question is empty", n)
		}
		if exp == "" || strings.Contains(exp, "\t") {
			return nil, fmt.Errorf("line %d: the second field must be the expected document's source or none, found %q", n, exp)
		}
		if strings.EqualFold(exp, "none") {
			exp = ""
		}
		if len(out) == maxLabelledQuestions {
			return nil, fmt.Errorf("line %d: more than %d questions; split the file", n, maxLabelledQuestions)
		}
		out = append(out, LabelledQuestion{Line: n, Question: q, Expected: exp})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no questions: want lines of question, TAB, expected document source or none")
	}
	return out, nil
}

// Decisions counts the right answer/no-answer decisions at a threshold.
type Decisions struct {
	Threshold float64
	// Answered of Answerable questions had a passage of their document
	// first, at or above the threshold; Declined of OffTopic
	// questions (expected none) had nothing at or above it.
	Answered, Answerable int
	Declined, OffTopic   int
	// Wrong are the questions decided wrongly, in file order.
	Wrong []LabelledQuestion
}

// Right is the number of right decisions.
func (d Decisions) Right() int { return d.Answered + d.Declined }

// judged is a labelled question's scores: the best passage's, and the same
// when that passage is from the expected document (-1 when it is not: the
// answer would come from another one at any threshold).
type judged struct {
	q           LabelledQuestion
	best, match float64
}

// SuggestThreshold searches each question (no threshold) and
// returns the threshold with the most right decisions (among equally good
// ones, the one in the widest gap between observed scores), and the
// decisions at the index's current threshold for comparison.
func SuggestThreshold(ctx context.Context, ix *Index, qs []LabelledQuestion) (best, current Decisions, err error) {
	js := make([]judged, 0, len(qs))
	for _, q := range qs {
		ps, err := ix.search(ctx, q.Question, 1, ix.opts.Mode)
		if err != nil {
			return Decisions{}, Decisions{}, fmt.Errorf("line %d: %w", q.Line, err)
		}
		j := judged{q: q, match: -1}
		if len(ps) > 0 {
			j.best = ps[0].Score
		}
		if len(ps) > 0 && q.Expected != "" && sameDocument(ps[0], q.Expected) {
			j.match = ps[0].Score
		}
		js = append(js, j)
	}
	var scores []float64
	for _, j := range js {
		scores = append(scores, j.best)
		if j.match >= 0 {
			scores = append(scores, j.match)
		}
	}
	sort.Float64s(scores)
	// Candidates: just above 0, between each pair of neighbouring scores,
	// and above the highest.
	type cand struct{ t, gap float64 }
	cands := []cand{{t: 0.001, gap: 0}}
	for i := 0; i+1 < len(scores); i++ {
		if scores[i+1] > scores[i] {
			cands = append(cands, cand{t: (scores[i] + scores[i+1]) / 2, gap: scores[i+1] - scores[i]})
		}
	}
	if len(scores) > 0 {
		cands = append(cands, cand{t: scores[len(scores)-1] + 0.01, gap: 0})
	}
	bestGap := -1.0
	for _, c := range cands {
		d := decide(js, c.t)
		if d.Right() > best.Right() || (d.Right() == best.Right() && c.gap > bestGap) {
			best, bestGap = d, c.gap
		}
	}
	current = decide(js, ix.minScore(ix.opts.Mode))
	return best, current, nil
}

// decide counts the right decisions at threshold t.
func decide(js []judged, t float64) Decisions {
	d := Decisions{Threshold: t}
	for _, j := range js {
		if j.q.Expected == "" {
			d.OffTopic++
			if j.best < t {
				d.Declined++
			} else {
				d.Wrong = append(d.Wrong, j.q)
			}
			continue
		}
		d.Answerable++
		if j.match >= 0 && j.match >= t {
			d.Answered++
		} else {
			d.Wrong = append(d.Wrong, j.q)
		}
	}
	return d
}

// sameDocument reports whether p comes from the document named by src: its
// source with or without the #section, or its document id.
func sameDocument(p Passage, src string) bool {
	if p.Source == src || p.DocID == src {
		return true
	}
	doc, _, _ := strings.Cut(p.Source, "#")
	return doc == src
}
