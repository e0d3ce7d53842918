package cmd

import (
	"strings"
	"testing"
)

// A local ask with --llm auto and no Ollama does not warn on every call:
// the answer line says "extractive" and why; --verbose brings the warning
// back (issue 14).
func TestAskWithoutOllamaIsQuietUnlessVerbose(t *testing.T) {
	data := t.TempDir()
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data})
	if out, _, err := run(t, e, "ingest", writeTestDocs(t)); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	out, errOut, err := run(t, e, "ask", "how do I reset my password?")
	if err != nil || !strings.Contains(out, "\n(extractive because llm_down; ") {
		t.Fatalf("ask: %v\n%s", err, out)
	}
	if errOut != "" {
		t.Errorf("ask without --verbose wrote to stderr: %q", errOut)
	}
	_, errOut, err = run(t, e, "ask", "--verbose", "how do I reset my password?")
	if err != nil || !strings.Contains(errOut, "ollama not reachable") {
		t.Errorf("ask --verbose: %v; stderr %q lacks the warning", err, errOut)
	}
}
