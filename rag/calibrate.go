package rag

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
)

// The relevance threshold is calibrated per index from its own score
// distribution instead of one fixed number: fused scores depend on the
// corpus (its vocabulary, its length, its language) and on the fusion, so
// a value chosen on one corpus rejects answerable questions on another or
// lets off-topic ones through.
//
// Two kinds of probe are searched without a threshold and their best
// score kept:
//   - pseudo-questions taken from the index's own chunks (the first words
//     of an evenly spaced sample): what an answerable question can reach;
//   - off-topic questions (offTopicProbes, in several languages): what a
//     question the documents do not address reaches by chance.
//
// The threshold sits just above the off-topic scores, a quarter of the
// way towards the low end of the answerable ones (calibrationLean): real
// customer questions share fewer words with the passage than a sentence
// taken from it, so the answerable side is optimistic and the threshold
// leans towards the off-topic side.
const (
	calibrationChunks = 48   // pseudo-questions sampled from the chunks
	calibrationWords  = 8    // words of a chunk's first sentence used as its question
	calibrationLean   = 0.15 // share of the gap between off-topic and answerable
	// offTopicQuantile is the percentile of the off-topic scores the
	// threshold is placed above: not their maximum, because on a broad
	// corpus (a general encyclopaedia) a probe may be answerable.
	offTopicQuantile  = 80
	calibrationMargin = 0.01 // above the best off-topic score, at least
	// minCalibrated and maxCalibrated bound the calibrated threshold: a
	// tiny index can give degenerate distributions.
	minCalibrated = 0.02
	maxCalibrated = 0.6
	// calibrationDuty bounds the share of time background recalibration
	// may take while the index keeps changing (a bulk ingest): after a
	// calibration that took d, the next waits (calibrationDuty-1) x d.
	calibrationDuty = 10
)

// offTopicProbes are questions no support knowledge base addresses, in
// the languages the analysers know. They are kept apart from the
// questions the tests check, so the tests measure generalisation.
var offTopicProbes = []string{
	"who painted the mona lisa",
	"how many moons does jupiter have",
	"recommend a good science fiction novel",
	"what is the boiling point of mercury",
	"translate good morning into japanese",
	"who won the football world cup in 1998",
	"tell me a joke about penguins",
	"how tall is mount everest",
	"what year did the roman empire fall",
	"explain the theory of relativity simply",
	"¿quién escribió don quijote de la mancha?",
	"qui a peint la joconde ?",
	"wie hoch ist die zugspitze?",
	"кто написал войну и мир?",
	"من كتب ألف ليلة وليلة؟",
	"长城有多长",
}

// Calibration is an index's calibrated relevance threshold and what it
// was computed from.
type Calibration struct {
	// Threshold is the calibrated threshold of the index's retrieval mode,
	// Lexical that of the lexical signal alone (the degraded search).
	Threshold, Lexical float64
	// Answerable and OffTopic are the probes' best scores in the index's
	// mode, ascending.
	Answerable, OffTopic []float64
	// Ready is false until the first calibration finished; the thresholds
	// are then DefaultMinScore.
	Ready bool
	// Chunks is the number of chunks the index held when calibrated.
	Chunks int
	gen    uint64
}

// Calibration returns the current calibration (possibly of an earlier
// state of the index: recalibration runs in the background).
func (ix *Index) Calibration() Calibration {
	ix.calMu.RLock()
	defer ix.calMu.RUnlock()
	return ix.cal
}

// minScore is the threshold Search applies in mode: the explicit one of
// Options, or the calibrated one; negative disables it.
func (ix *Index) minScore(mode Mode) float64 {
	if ix.opts.MinScore != 0 {
		return ix.opts.MinScore
	}
	c := ix.Calibration()
	if !c.Ready {
		return DefaultMinScore
	}
	if mode == ModeLexical && ix.opts.Mode != ModeLexical {
		return c.Lexical
	}
	return c.Threshold
}

// Calibrate recalibrates the threshold if the index changed since the last
// calibration, and waits for it. Ingest calls it when done; changes made
// otherwise (Put, Remove) recalibrate in the background.
func (ix *Index) Calibrate(ctx context.Context) error {
	ix.calRun.Lock()
	defer ix.calRun.Unlock()
	ix.mu.RLock()
	gen, live := ix.gen, len(ix.byID)
	questions := ix.sampleQuestions(calibrationChunks)
	ix.mu.RUnlock()
	if c := ix.Calibration(); c.Ready && c.gen == gen {
		return nil
	}
	c := Calibration{Threshold: DefaultMinScore, Lexical: DefaultMinScore, Ready: true, Chunks: live, gen: gen}
	if live > 0 {
		var err error
		if c.Threshold, c.Answerable, c.OffTopic, err = ix.calibrateMode(ctx, ix.opts.Mode, questions); err != nil {
			return fmt.Errorf("calibrate the relevance threshold: %w", err)
		}
		c.Lexical = c.Threshold
		if ix.opts.Mode != ModeLexical {
			if c.Lexical, _, _, err = ix.calibrateMode(ctx, ModeLexical, questions); err != nil {
				return fmt.Errorf("calibrate the relevance threshold: %w", err)
			}
		}
	}
	ix.calMu.Lock()
	ix.cal = c
	if ix.calSignal != nil {
		close(ix.calSignal)
	}
	ix.calSignal = make(chan struct{})
	ix.calMu.Unlock()
	return nil
}

// calibrationSignal returns the current calibration and a channel closed
// when the next one is stored.
func (ix *Index) calibrationSignal() (Calibration, <-chan struct{}) {
	ix.calMu.Lock()
	defer ix.calMu.Unlock()
	if ix.calSignal == nil {
		ix.calSignal = make(chan struct{})
	}
	return ix.cal, ix.calSignal
}

// calibrateMode searches the probes in mode and places the threshold.
func (ix *Index) calibrateMode(ctx context.Context, mode Mode, questions []string) (float64, []float64, []float64, error) {
	best := func(qs []string) ([]float64, error) {
		out := make([]float64, 0, len(qs))
		for _, q := range qs {
			ps, err := ix.search(ctx, q, 1, mode)
			if err != nil {
				return nil, err
			}
			s := 0.0
			if len(ps) > 0 {
				s = ps[0].Score
			}
			out = append(out, s)
		}
		sort.Float64s(out)
		return out, nil
	}
	pos, err := best(questions)
	if err != nil {
		return 0, nil, nil, err
	}
	neg, err := best(offTopicProbes)
	if err != nil {
		return 0, nil, nil, err
	}
	return placeThreshold(pos, neg), pos, neg, nil
}

// placeThreshold puts the threshold between the off-topic scores neg and
// the answerable ones pos (both ascending): calibrationLean of the way
// from the best off-topic score to the answerable ones' 10th percentile,
// and at least calibrationMargin above every off-topic score.
func placeThreshold(pos, neg []float64) float64 {
	negHigh := 0.0
	if len(neg) > 0 {
		negHigh = neg[(len(neg)*offTopicQuantile)/100]
	}
	t := negHigh + calibrationMargin
	if len(pos) > 0 {
		posLow := pos[len(pos)/10]
		if posLow > negHigh {
			t = math.Max(t, negHigh+calibrationLean*(posLow-negHigh))
		}
	}
	return math.Min(math.Max(t, minCalibrated), maxCalibrated)
}

// sampleQuestions returns pseudo-questions from up to n evenly spaced live
// chunks: the first calibrationWords words of each chunk's text. Called
// with ix.mu held for reading; deterministic for a given index state.
func (ix *Index) sampleQuestions(n int) []string {
	live := make([]int, 0, len(ix.byID))
	for i, s := range ix.slots {
		if s.id != "" {
			live = append(live, i)
		}
	}
	if len(live) == 0 {
		return nil
	}
	step := max(1, len(live)/n)
	out := make([]string, 0, n)
	for i := 0; i < len(live) && len(out) < n; i += step {
		words := strings.FieldsFunc(ix.slots[live[i]].text, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsNumber(r)
		})
		if len(words) == 0 {
			continue
		}
		out = append(out, strings.Join(words[:min(len(words), calibrationWords)], " "))
	}
	return out
}

// changed records that the index changed and recalibrates in the
// background; one recalibration runs at a time, and while changes keep
// coming they are spaced so that they take at most 1/calibrationDuty of
// the time.
func (ix *Index) changed() {
	if ix.opts.MinScore != 0 || !ix.calBusy.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			start := time.Now()
			err := ix.Calibrate(context.Background())
			ix.calBusy.Store(false)
			if err != nil || !ix.stale() || !ix.calBusy.CompareAndSwap(false, true) {
				return
			}
			time.Sleep((calibrationDuty - 1) * time.Since(start))
		}
	}()
}

// stale reports whether the index changed since the last calibration.
func (ix *Index) stale() bool {
	ix.mu.RLock()
	gen := ix.gen
	ix.mu.RUnlock()
	c := ix.Calibration()
	return !c.Ready || c.gen != gen
}

// settleCalibration recalibrates now (an ingest that finished): the
// questions that follow it meet the threshold of what it indexed. A
// failure (the embedder went away) keeps the previous calibration; the
// next change tries again.
func (ix *Index) settleCalibration(ctx context.Context) {
	if ix.opts.MinScore == 0 {
		_ = ix.Calibrate(ctx)
	}
}
