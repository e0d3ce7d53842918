package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvalSuggestThreshold(t *testing.T) {
	data := t.TempDir()
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data})
	tsv := filepath.Join(t.TempDir(), "questions.tsv")
	write := func(s string) {
		if err := os.WriteFile(tsv, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("# question\texpected\nhow do I reset my password?\tdocs/account.md\nwhen will I get my refund\tdocs/billing.md#refunds\n" +
		"what is the capital of France\tnone\nwrite me a poem\tnone\nI forgot my password\tdocs/billing.md\n")
	if _, _, err := run(t, e, "eval", "--suggest-threshold", tsv); err == nil || !strings.Contains(err.Error(), "empty: ingest your documents first") {
		t.Fatalf("empty knowledge base: %v", err)
	}
	if out, _, err := run(t, e, "ingest", writeTestDocs(t)); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	out, _, err := run(t, e, "eval", "--suggest-threshold", tsv)
	if err != nil {
		t.Fatalf("eval --suggest-threshold: %v\n%s", err, out)
	}
	// The last line is labelled with the wrong document: it is the one
	// wrong decision at the suggested threshold.
	for _, want := range []string{
		"4 of 5 decisions right (2 of 3 answerable questions answered from their document, 2 of 2 others declined)\n",
		"in use:    --min-score ",
		"4 of 5 decisions right (2 of 3 answered, 2 of 2 declined; auto: calibrated for this index)\n",
		"  wrong at ",
		`line 6 "I forgot my password" (want docs/billing.md)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = run(t, e, "eval", "--suggest-threshold", tsv, "--corpus", "testdata/beir/corpus.jsonl")
	if err != nil || !strings.Contains(out, "indexing 4 documents") || !strings.Contains(out, "of 5 decisions right") {
		t.Fatalf("with --corpus: %v\n%s", err, out)
	}
	write("how do I reset my password? docs/account.md\n")
	if _, _, err := run(t, e, "eval", "--suggest-threshold", tsv); err == nil || !strings.Contains(err.Error(), "line 1: want question, TAB") {
		t.Fatalf("no TAB: %v", err)
	}
	if _, _, err := run(t, e, "eval"); err == nil || !strings.Contains(err.Error(), "--suggest-threshold") {
		t.Fatalf("no flags: %v", err)
	}
}
