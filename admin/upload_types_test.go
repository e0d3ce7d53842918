package admin

import (
	"testing"

	"github.com/chatbot/chatbot/rag"
)

// The panel takes exactly the files ingest loads: every extension rag
// reads is accepted over HTTP, and every name rag refuses is refused with
// 415, whatever the case of the extension.
func TestUploadAcceptsExactlyWhatIngestLoads(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	csrf := e.login(c)
	names := []string{"notes.pdf", "setup.exe", "report.docx", "data.csv", "README", "guide.md.bak", "GUIDE.MD", "Page.HTM"}
	for _, ext := range rag.Extensions() {
		names = append(names, "doc"+ext)
	}
	accepted := 0
	for _, name := range names {
		_, reason, ok := rag.FormatOf(name)
		want := 415
		if ok {
			want, accepted = 200, accepted+1
		}
		body, ct := multipartBody(t, name, []byte("# Title\nSome text."))
		r := e.do(c, "POST", "/admin/api/knowledge/upload", body, map[string]string{"Content-Type": ct, CSRFHeader: csrf})
		if r.status != want {
			t.Errorf("%s: %d %s, want %d (ingest: ok %v %s)", name, r.status, r.raw, want, ok, reason)
		}
	}
	if want := len(rag.Extensions()) + 2; accepted != want || len(e.ingest) != want {
		t.Fatalf("accepted %d, ingested %d; want %d", accepted, len(e.ingest), want)
	}
}
