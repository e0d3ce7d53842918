package rag

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func TestParseLabelled(t *testing.T) {
	in := "# question\texpected\n\nhow do I reset my password?\tdocs/account.md\r\nwhat is the capital of France\tNONE\n  refund  \t docs/billing.md#refunds \n"
	got, err := ParseLabelled(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []LabelledQuestion{
		{Line: 3, Question: "how do I reset my password?", Expected: "docs/account.md"},
		{Line: 4, Question: "what is the capital of France", Expected: ""},
		{Line: 5, Question: "refund", Expected: "docs/billing.md#refunds"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	for in, msg := range map[string]string{
		"no tab here\n":            "line 1: want question, TAB",
		"ok\tnone\n\t docs/a.md\n": "line 2: the question is empty",
		"ok\tnone\nq\t\n":          "line 2: the second field",
		"q\ta.md\tb.md\n":          "line 1: the second field",
		"# only a comment\n\n":     "no questions",
		"q\xff\tnone\n":            "line 1: not UTF-8",
		strings.Repeat("x", 70000): "line 1:",
	} {
		if _, err := ParseLabelled(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%.30q: %v, want %q", in, err, msg)
		}
	}
}

func FuzzParseLabelled(f *testing.F) {
	f.Add("how do I reset my password?\tdocs/account.md\nhello\tnone\n")
	f.Add("# c\n\n\t\n")
	f.Add("a\tb\tc")
	f.Fuzz(func(t *testing.T, in string) {
		qs, err := ParseLabelled(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, q := range qs {
			if q.Question == "" || strings.ContainsAny(q.Expected, "\t\n") || q.Line < 1 || strings.EqualFold(q.Expected, "none") {
				t.Fatalf("bad entry %+v from %q", q, in)
			}
		}
	})
}

func TestDecide(t *testing.T) {
	js := []judged{
		{q: LabelledQuestion{Line: 1, Expected: "a"}, best: 0.6, match: 0.6},
		{q: LabelledQuestion{Line: 2, Expected: "b"}, best: 0.3, match: 0.3},
		{q: LabelledQuestion{Line: 3, Expected: "c"}, best: 0.4, match: -1}, // another document first
		{q: LabelledQuestion{Line: 4}, best: 0.2},
		{q: LabelledQuestion{Line: 5}, best: 0.35},
	}
	for _, c := range []struct {
		t                  float64
		answered, declined int
		wrong              string
	}{
		{0.1, 2, 0, "[3 4 5]"},
		{0.25, 2, 1, "[3 5]"},
		{0.36, 1, 2, "[2 3]"},
		{0.7, 0, 2, "[1 2 3]"},
	} {
		d := decide(js, c.t)
		var lines []int
		for _, q := range d.Wrong {
			lines = append(lines, q.Line)
		}
		if d.Answered != c.answered || d.Declined != c.declined || d.Answerable != 3 || d.OffTopic != 2 || fmt.Sprint(lines) != c.wrong {
			t.Errorf("t %v: %+v (wrong lines %v), want answered %d declined %d wrong %s", c.t, d, lines, c.answered, c.declined, c.wrong)
		}
	}
}

func TestSuggestThreshold(t *testing.T) {
	ix, _, _ := ingested(t)
	var qs []LabelledQuestion
	for q, want := range answerableQuestions {
		doc, _, _ := strings.Cut(want, "#")
		qs = append(qs, LabelledQuestion{Line: len(qs) + 1, Question: q, Expected: doc})
	}
	for _, q := range offTopicQuestions {
		qs = append(qs, LabelledQuestion{Line: len(qs) + 1, Question: q})
	}
	best, cur, err := SuggestThreshold(context.Background(), ix, qs)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("suggested %.3f, calibrated %.3f", best.Threshold, cur.Threshold)
	if best.Right() != 15 || best.Answered != 8 || best.Answerable != 8 || best.Declined != 7 || best.OffTopic != 7 || len(best.Wrong) != 0 {
		t.Errorf("suggested: %+v, want all 15 right", best)
	}
	if cur.Threshold != ix.Calibration().Threshold || cur.Right() != 15 {
		t.Errorf("at the calibrated threshold: %+v, want all 15 right at %v", cur, ix.Calibration().Threshold)
	}
	// The suggestion lies between the best off-topic score and the lowest
	// answerable one.
	var offBest, ansLow float64 = 0, 1
	for _, q := range offTopicQuestions {
		ps, _ := ix.search(context.Background(), q, 1, ModeHybrid)
		offBest = max(offBest, ps[0].Score)
	}
	for q := range answerableQuestions {
		ps, _ := ix.search(context.Background(), q, 1, ModeHybrid)
		ansLow = min(ansLow, ps[0].Score)
	}
	if best.Threshold <= offBest || best.Threshold > ansLow {
		t.Errorf("suggested %v outside (%v, %v]", best.Threshold, offBest, ansLow)
	}
	// A wrong label shows up as a wrong decision at every threshold.
	qs[0].Expected = "docs/nowhere.md"
	best, _, err = SuggestThreshold(context.Background(), ix, qs)
	if err != nil || best.Right() != 14 || len(best.Wrong) != 1 || best.Wrong[0].Line != 1 {
		t.Errorf("with a wrong label: %+v, %v", best, err)
	}
}
