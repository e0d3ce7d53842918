package cmd

import (
	"encoding/json"
	"strings"
	"testing"
)

// --base-url gives ingested files public URLs: the answer cites the URL,
// never the file path; the sources keep the path. (That the sources carry
// url beside it is tested where they are made: chat's
// TestAnswersCitePublicURLs and rag's TestKnowledgeAPIBaseURL.)
func TestIngestBaseURLCitesPublicURLs(t *testing.T) {
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": t.TempDir()})
	docs := writeTestDocs(t)
	for _, bad := range []string{"ftp://help.example.com/", "help.example.com", "javascript:alert(1)"} {
		_, _, err := run(t, e, "ingest", docs, "--base-url", bad)
		if err == nil || !strings.Contains(err.Error(), "--base-url") {
			t.Fatalf("--base-url %s: %v", bad, err)
		}
	}
	if out, _, err := run(t, e, "ingest", docs, "--base-url", "https://help.example.com/"); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out)
	}
	out, _, err := run(t, e, "ask", "--json", "how do I reset my password?")
	if err != nil {
		t.Fatalf("ask: %v\n%s", err, out)
	}
	var r struct {
		Answer  string `json:"answer"`
		Sources []struct {
			Source string `json:"source"`
		} `json:"sources"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(r.Sources) == 0 || r.Sources[0].Source != "docs/account.md#reset-your-password" {
		t.Fatalf("sources %+v", r.Sources)
	}
	if !strings.Contains(r.Answer, "https://help.example.com/account") || strings.Contains(r.Answer, "account.md") {
		t.Fatalf("answer %q", r.Answer)
	}
}
