package rag

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// answerCase is one question of rag/testdata/answers/questions.tsv.
type answerCase struct {
	split, question string
	facts           []string // any one of them makes the answer right; nil: no answer is right
}

func readAnswerCases(t *testing.T, path string) []answerCase {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []answerCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != 3 || (cols[0] != "tune" && cols[0] != "held") {
			t.Fatalf("%s:%d: want split<TAB>question<TAB>fact with split tune or held, got %q", path, n, line)
		}
		c := answerCase{split: cols[0], question: cols[1]}
		if cols[2] != "none" {
			for _, f := range strings.Split(cols[2], "|") {
				c.facts = append(c.facts, strings.TrimSpace(f))
			}
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// answerSetHeldOutFloor is the held-out count the built-in engine reached
// when the set was written; a change that answers fewer fails.
const answerSetHeldOutFloor = 15

// TestAnswerSet asks the built-in (extractive) engine the questions of
// rag/testdata/answers over its small product knowledge base, as the chat
// engine does without a model (search with the default threshold, 4
// passages, 3 sentences), and counts the answers that contain the
// expected fact, or are "nothing relevant" for an off-topic question. Tune
// on the "tune" half; the "held" half is the reported number
// (BENCHMARKS.md). No answer may show a file path.
func TestAnswerSet(t *testing.T) {
	dir := filepath.Join("testdata", "answers")
	cases := readAnswerCases(t, filepath.Join(dir, "questions.tsv"))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	ctx := context.Background()
	if _, err := ix.Ingest(ctx, []string{filepath.Join(dir, "kb")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	right, total := map[string]int{}, map[string]int{}
	for _, c := range cases {
		ps, err := ix.Search(ctx, c.question, 4)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := ix.Extract(c.question, ix.WithURLs(ps), 3)
		for _, path := range []string{".md", ".txt", ".html", "kb/"} {
			if strings.Contains(answer, path) {
				t.Errorf("%q: the answer shows a file path (%s):\n%s", c.question, path, answer)
			}
		}
		ok := answerHasFact(answer, c.facts)
		total[c.split]++
		if ok {
			right[c.split]++
		} else {
			t.Logf("MISS (%s) %q want %q, got:\n%s", c.split, c.question, c.facts, answer)
		}
	}
	fmt.Printf("answer set (tuning): %d/%d right\n", right["tune"], total["tune"])
	fmt.Printf("answer set (held out): %d/%d right\n", right["held"], total["held"])
	if total["held"] < 15 || total["tune"] < 15 {
		t.Fatalf("the set has %d tuning and %d held-out questions; want 15 or more each", total["tune"], total["held"])
	}
	if right["held"] < answerSetHeldOutFloor {
		t.Fatalf("answer set (held out): %d/%d right, fewer than the %d reached before", right["held"], total["held"], answerSetHeldOutFloor)
	}
}

// answerHasFact reports whether answer contains one of facts (ignoring
// case and runs of spaces); with no facts, whether there is no answer.
func answerHasFact(answer string, facts []string) bool {
	if len(facts) == 0 {
		return strings.TrimSpace(answer) == ""
	}
	norm := func(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }
	a := norm(answer)
	for _, f := range facts {
		if strings.Contains(a, norm(f)) {
			return true
		}
	}
	return false
}
