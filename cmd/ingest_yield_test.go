package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// An ingest whose paths yield no document (an empty folder, one with only
// unsupported files) exits non-zero naming the path; it used to print
// "0 files: 0 added" and exit 0 (issue 14).
func TestIngestOfNothingFails(t *testing.T) {
	data := t.TempDir()
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": data, "CHATBOT_EMBEDDER": "builtin"})
	empty := t.TempDir()
	images := t.TempDir()
	if err := os.WriteFile(filepath.Join(images, "logo.png"), []byte("\x89PNG\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, want string }{
		{empty, "nothing ingested: no files found in " + empty},
		{images, "nothing ingested: no supported documents (1 skipped, listed above) found in " + images},
	} {
		out, _, err := run(t, e, "ingest", c.dir)
		if err == nil || err.Error() != c.want+"; check the path, or add Markdown, text or HTML files there" {
			t.Errorf("ingest %s: error %v, want %q\n%s", c.dir, err, c.want, out)
		}
	}
	// A folder with a document passes, and so does running it again (unchanged).
	docs := writeTestDocs(t)
	for range 2 {
		if out, _, err := run(t, e, "ingest", docs); err != nil {
			t.Fatalf("ingest %s: %v\n%s", docs, err, out)
		}
	}
	// Nothing new in the empty folder beside a real one: the run yields documents.
	if out, _, err := run(t, e, "ingest", docs, empty); err != nil || !strings.Contains(out, "2 unchanged") {
		t.Fatalf("ingest docs and empty: %v\n%s", err, out)
	}
}
