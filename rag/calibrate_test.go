package rag

import (
	"context"
	"slices"
	"testing"
	"time"
)

// offTopicQuestions are questions the support corpus does not address,
// none of them among the calibration's own probes.
var offTopicQuestions = []string{
	"what is the capital of France",
	"write me a poem",
	"write me a poem about the sea",
	"quantum chromodynamics",
	"who is the president of the united states",
	"Can I pay with PayPal?",
	"hello",
}

// answerableQuestions are customer-worded questions the support corpus
// answers, with the passage that answers each.
var answerableQuestions = map[string]string{
	"how do I reset my password?":        "docs/account.md#reset-your-password",
	"when will I get my refund":          "docs/billing.md#refunds",
	"how long does delivery take":        "docs/shipping.html#shipping",
	"invoice":                            "docs/billing.md#invoices",
	"can I delete my account?":           "docs/account.md#delete-your-account",
	"do you ship worldwide":              "docs/shipping.html#shipping",
	"where do I request a refund":        "docs/billing.md#refunds",
	"I forgot my password, what do I do": "docs/account.md#reset-your-password",
}

func TestCalibratedThresholdSeparatesOffTopicFromAnswerable(t *testing.T) {
	for _, mode := range []Mode{ModeHybrid, ModeLexical, ModeVector} {
		t.Run(string(mode), func(t *testing.T) {
			st := openStore(t, t.TempDir())
			ix := openIndex(t, st, newTestEmbedder(), Options{Mode: mode})
			if _, err := ix.Ingest(context.Background(), []string{writeDocs(t, supportDocs)}, IngestOptions{}); err != nil {
				t.Fatal(err)
			}
			c := ix.Calibration()
			if !c.Ready || c.Chunks != 6 || len(c.Answerable) != 6 || len(c.OffTopic) != len(offTopicProbes) {
				t.Fatalf("calibration after ingest: %+v", c)
			}
			if c.Threshold < minCalibrated || c.Threshold > maxCalibrated {
				t.Fatalf("threshold %v outside [%v, %v]", c.Threshold, minCalibrated, maxCalibrated)
			}
			t.Logf("threshold %.3f (lexical %.3f)", c.Threshold, c.Lexical)
			for _, q := range offTopicQuestions {
				ps, err := ix.Search(context.Background(), q, 5)
				if err != nil || len(ps) != 0 {
					t.Errorf("off-topic %q: %+v, %v; want nothing above %.3f", q, ps, err, c.Threshold)
				}
			}
			// Every answerable question passes the threshold with its passage
			// (first, but for the vector signal alone: that one ranks
			// "Billing: How we charge and refund." above the refunds).
			for q, want := range answerableQuestions {
				ps, err := ix.Search(context.Background(), q, 3)
				found := slices.IndexFunc(ps, func(p Passage) bool { return p.Source == want })
				if err != nil || found < 0 || (mode != ModeVector && found != 0) {
					t.Errorf("answerable %q: %+v, %v; want %s first above %.3f", q, ps, err, want, c.Threshold)
				}
			}
		})
	}
}

func TestSearchLexicalUsesTheLexicalThreshold(t *testing.T) {
	ix, _, _ := ingested(t)
	c := ix.Calibration()
	if c.Lexical == c.Threshold {
		t.Fatalf("lexical threshold %v equals the hybrid one: not calibrated apart", c.Lexical)
	}
	for q, want := range answerableQuestions {
		ps, err := ix.SearchLexical(context.Background(), q, 3)
		if err != nil || len(ps) == 0 || ps[0].Source != want || ps[0].Score < c.Lexical {
			t.Errorf("%q: %+v, %v; want %s first at or above %.3f", q, ps, err, want, c.Lexical)
		}
	}
	for _, q := range offTopicQuestions {
		if ps, err := ix.SearchLexical(context.Background(), q, 3); err != nil || len(ps) != 0 {
			t.Errorf("off-topic %q: %+v, %v", q, ps, err)
		}
	}
}

func TestExplicitMinScoreOverridesTheCalibration(t *testing.T) {
	_, st, _ := ingested(t)
	strict := openIndex(t, st, newTestEmbedder(), Options{MinScore: 0.99})
	if ps, err := strict.Search(context.Background(), "when will I get my refund", 5); err != nil || len(ps) != 0 {
		t.Errorf("--min-score 0.99: %+v, %v; want nothing", ps, err)
	}
	if ps, err := strict.SearchLexical(context.Background(), "when will I get my refund", 5); err != nil || len(ps) != 0 {
		t.Errorf("--min-score 0.99, lexical: %+v, %v; want nothing", ps, err)
	}
	off := openIndex(t, st, newTestEmbedder(), Options{MinScore: -1})
	if ps, err := off.Search(context.Background(), "what is the capital of France", 5); err != nil || len(ps) != 5 {
		t.Errorf("threshold disabled: %d passages, %v; want 5", len(ps), err)
	}
	// An explicit threshold never starts a calibration.
	if c := strict.Calibration(); c.Ready {
		t.Errorf("explicit threshold calibrated anyway: %+v", c)
	}
}

// A change made without Ingest (an upload, a removal) recalibrates in the
// background; Calibrate waits for an up-to-date one.
func TestCalibrationFollowsTheIndex(t *testing.T) {
	ix, _, _ := ingested(t)
	ctx := context.Background()
	before := ix.Calibration()
	_, sig := ix.calibrationSignal()
	doc, err := ix.Put(ctx, DocInput{Path: "warranty.md", Source: "warranty.md", Content: []byte("w"),
		Parsed: Parsed{Title: "Warranty", Sections: []Section{{Headings: []string{"Warranty"},
			Paragraphs: []string{"Every kettle has a two-year warranty against manufacturing defects."}}}}})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute) // a bound for a hang, not a timing
	defer cancel()
	for c := ix.Calibration(); c.Chunks != before.Chunks+1; c, sig = ix.calibrationSignal() {
		select {
		case <-sig:
		case <-wctx.Done():
			t.Fatalf("no background recalibration after Put: %+v", ix.Calibration())
		}
	}
	after := ix.Calibration()
	if len(after.Answerable) != before.Chunks+1 || slices.Equal(after.Answerable, before.Answerable) {
		t.Errorf("answerable probes before %v, after %v: want the new chunk's among them", before.Answerable, after.Answerable)
	}
	ps, err := ix.Search(ctx, "is there a warranty on the kettle", 1)
	if err != nil || len(ps) != 1 || ps[0].Source != "warranty.md#warranty" {
		t.Fatalf("new document: %+v, %v", ps, err)
	}
	if err := ix.Remove(ctx, mustDocID(t, doc.ID)); err != nil {
		t.Fatal(err)
	}
	if err := ix.Calibrate(ctx); err != nil {
		t.Fatal(err)
	}
	if c := ix.Calibration(); c.Chunks != before.Chunks || !slices.Equal(c.Answerable, before.Answerable) || c.Threshold != before.Threshold {
		t.Errorf("after removing it again: %+v, want the first calibration %+v", c, before)
	}
}

func mustDocID(t *testing.T, id uint64) uint64 {
	t.Helper()
	if id == 0 {
		t.Fatal("document id 0")
	}
	return id
}

func TestPlaceThreshold(t *testing.T) {
	for _, c := range []struct {
		name     string
		pos, neg []float64
		want     float64
	}{
		// 80th percentile of the off-topic scores (0.1, not the 0.5 outlier), then 15% of the
		// way to the answerable ones' 10th percentile (0.7): 0.1 + 0.09.
		{"gap", []float64{0.7, 0.8, 0.9}, []float64{0, 0, 0, 0, 0.05, 0.05, 0.05, 0.1, 0.1, 0.5}, 0.19},
		// The answerable side does not reach above the off-topic one: just
		// above the off-topic scores.
		{"overlap", []float64{0.2, 0.3}, []float64{0.1, 0.3}, 0.31},
		{"floor", []float64{0.05}, []float64{0}, minCalibrated},
		{"ceiling", []float64{0.95}, []float64{0.9}, maxCalibrated},
		{"no probes", nil, nil, minCalibrated},
	} {
		if got := placeThreshold(c.pos, c.neg); !near(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
