package rag

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

func TestPublicURL(t *testing.T) {
	for _, ok := range []string{"https://help.example.com/refunds", " http://example.com ", "HTTPS://Example.com/a?b=c#d"} {
		if _, err := PublicURL(ok); err != nil {
			t.Errorf("PublicURL(%q): %v", ok, err)
		}
	}
	for raw, why := range map[string]string{
		"":                                     "empty",
		"javascript:alert(1)":                  "http:// or https://",
		"ftp://example.com/x":                  "http:// or https://",
		"/refunds":                             "http:// or https://",
		"help.example.com/refunds":             "http:// or https://",
		"https:///refunds":                     "no host",
		"https://user:pw@example.com/":         "user name or password",
		"https://example.com/a b":              "spaces",
		"https://example.com/\x00":             "control",
		"https://" + strings.Repeat("a", 3000): "longer than",
	} {
		if _, err := PublicURL(raw); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("PublicURL(%.40q) = %v, want an error with %q", raw, err, why)
		}
	}
}

func TestJoinBaseURL(t *testing.T) {
	for _, c := range []struct{ base, rel, want string }{
		{"https://help.example.com/", "refunds.md", "https://help.example.com/refunds"},
		{"https://help.example.com", "refunds.md", "https://help.example.com/refunds"},
		{"https://example.com/docs", "billing/refunds.md", "https://example.com/docs/billing/refunds"},
		{"https://example.com/docs/?x=1#top", "faq.txt", "https://example.com/docs/faq"},
		{"https://example.com/", "guides/index.md", "https://example.com/guides/"},
		{"https://example.com/kb/", "index.html", "https://example.com/kb/"},
		{"https://example.com/", "Über uns.md", "https://example.com/%C3%9Cber%20uns"},
		{"https://example.com/", "../../etc/passwd.md", "https://example.com/etc/passwd"},
		{"https://example.com/", `sub\page.md`, "https://example.com/sub/page"},
	} {
		got, err := JoinBaseURL(c.base, c.rel)
		if err != nil || got != c.want {
			t.Errorf("JoinBaseURL(%q, %q) = %q, %v; want %q", c.base, c.rel, got, err, c.want)
		}
	}
}

func TestParseMarkdownFrontMatterURL(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"---\ntitle: Refunds\nurl: https://help.example.com/refunds\n---\n# Refunds\n\nWithin 30 days.", "https://help.example.com/refunds"},
		{"---\nURL: \"https://help.example.com/a\"   \n---\ntext", "https://help.example.com/a"},
		{"---\nurl: 'https://help.example.com/b' # the public page\n---\ntext", "https://help.example.com/b"},
		{"---\nurl: https://help.example.com/c # comment\n---\ntext", "https://help.example.com/c"},
		{"---\nurl: javascript:alert(1)\n---\ntext", ""},                 // not a link a customer may get
		{"---\nmeta:\n  url: https://example.com/nested\n---\ntext", ""}, // nested: not the document's
		{"---\nurl: https://example.com/unclosed\n\ntext", ""},           // no closing line: not front matter
		{"url: https://example.com/body\n\ntext", ""},                    // in the body: text
	} {
		p := Parse(FormatMarkdown, "x.md", c.text)
		if p.URL != c.want {
			t.Errorf("Parse(%q).URL = %q, want %q", c.text, p.URL, c.want)
		}
	}
	// The front matter is not text.
	p := Parse(FormatMarkdown, "x.md", "---\nurl: https://help.example.com/refunds\n---\n# Refunds\n\nWithin 30 days.")
	if len(p.Sections) != 1 || p.Sections[0].Paragraphs[0] != "Within 30 days." || p.Title != "Refunds" {
		t.Errorf("parsed %+v", p)
	}
	// Only Markdown has front matter.
	if p := Parse(FormatText, "x.txt", "---\nurl: https://example.com/\n---\ntext"); p.URL != "" {
		t.Errorf("text file URL %q", p.URL)
	}
}

// FuzzFrontMatter: whatever a Markdown file starts with, front matter
// reading neither panics nor yields a URL that is not http(s).
func FuzzFrontMatter(f *testing.F) {
	for _, s := range []string{"---\nurl: https://a.example/x\n---\n", "---\nurl: 'x\n---", "---\n: \n-\n#\n...\n", "---", "", "---\nurl: \"\"\n---"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p := Parse(FormatMarkdown, "x.md", text)
		if p.URL == "" {
			return
		}
		l := strings.ToLower(p.URL)
		if !strings.HasPrefix(l, "http://") && !strings.HasPrefix(l, "https://") {
			t.Fatalf("URL %q from %q", p.URL, text)
		}
		if u := markdownURL(FormatMarkdown, []byte(text)); u != p.URL {
			t.Fatalf("markdownURL %q, Parse %q", u, p.URL)
		}
	})
}

// Ingest with --base-url gives each file its public URL (its path in the
// folder, without extension); a file's front matter url wins; the URL
// reaches the passages (WithURLs) and the answer's citation, never the
// path.
func TestIngestBaseURLAndFrontMatter(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{
		"refunds.md":          "# Refunds\n\nRefunds are paid within five working days.",
		"guides/warranty.txt": "The kettle warranty covers defects for two years.",
		"shipping.md":         "---\nurl: https://shop.example.com/shipping-info\n---\n# Shipping\n\nWe ship to every EU country.",
	})
	ctx := context.Background()
	if _, err := ix.Ingest(ctx, []string{dir}, IngestOptions{BaseURL: "https://help.example.com/"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"docs/refunds.md":          "https://help.example.com/refunds",
		"docs/guides/warranty.txt": "https://help.example.com/guides/warranty",
		"docs/shipping.md":         "https://shop.example.com/shipping-info",
	}
	checkDocURLs(t, st, want)

	ps, err := ix.Search(ctx, "how long do refunds take to be paid", 1)
	if err != nil || len(ps) == 0 {
		t.Fatalf("search = %+v, %v", ps, err)
	}
	ps = ix.WithURLs(ps)
	if ps[0].URL != "https://help.example.com/refunds" || ps[0].Source != "docs/refunds.md#refunds" {
		t.Fatalf("passage %+v", ps[0])
	}
	answer, used := ix.Extract("how long do refunds take to be paid", ps, 3)
	if want := "> Refunds are paid within five working days.\n  (Refunds, https://help.example.com/refunds)"; answer != want {
		t.Fatalf("answer:\n%s\nwant:\n%s", answer, want)
	}
	if strings.Contains(answer, "docs/") || strings.Contains(answer, ".md") || used[0].Source != "docs/refunds.md#refunds" {
		t.Fatalf("answer %q used %+v", answer, used)
	}

	// Again without a base URL: unchanged, the URLs stay. With another
	// base URL: the files whose URL changes are updated, the one with
	// front matter is not.
	sum, err := ix.Ingest(ctx, []string{dir}, IngestOptions{})
	if err != nil || sum.Unchanged != 3 {
		t.Fatalf("re-ingest %+v, %v", sum, err)
	}
	checkDocURLs(t, st, want)
	sum, err = ix.Ingest(ctx, []string{dir}, IngestOptions{BaseURL: "https://kb.example.org/en"})
	if err != nil || sum.Updated != 2 || sum.Unchanged != 1 {
		t.Fatalf("re-ingest with a new base %+v, %v", sum, err)
	}
	want["docs/refunds.md"] = "https://kb.example.org/en/refunds"
	want["docs/guides/warranty.txt"] = "https://kb.example.org/en/guides/warranty"
	checkDocURLs(t, st, want)

	// A file named on its own is joined by its name.
	if _, err := ix.Ingest(ctx, []string{dir + "/refunds.md"}, IngestOptions{BaseURL: "https://a.example/x/"}); err != nil {
		t.Fatal(err)
	}
	delete(want, "docs/refunds.md") // the same document, its source now relative to the file's folder
	want["refunds.md"] = "https://a.example/x/refunds"
	checkDocURLs(t, st, want)

	if _, err := ix.Ingest(ctx, []string{dir}, IngestOptions{BaseURL: "javascript:alert(1)"}); err == nil || !strings.Contains(err.Error(), "base URL") {
		t.Fatalf("bad base URL: %v", err)
	}
}

func checkDocURLs(t *testing.T, st *store.Store, want map[string]string) {
	t.Helper()
	docs, err := st.Documents()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, d := range docs {
		got[d.Source] = d.URL
	}
	for src, u := range want {
		if got[src] != u {
			t.Errorf("document %s URL = %q, want %q (all: %v)", src, got[src], u, got)
		}
	}
}

// A crawled page's URL is its canonical address, stored with it and cited
// without the heading anchor the chunk's source carries.
func TestCrawledPageURL(t *testing.T) {
	site := newWebSite(t)
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days of the return."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, Access{})
	src, err := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml", Every: store.Duration(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sync(ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	checkDocURLs(t, st, map[string]string{site.URL + "/a": site.URL + "/a"})
	ps, err := ix.Search(ctx, "how long do refunds take", 1)
	if err != nil || len(ps) == 0 {
		t.Fatalf("search = %+v, %v", ps, err)
	}
	ps = ix.WithURLs(ps)
	if ps[0].URL != site.URL+"/a" {
		t.Fatalf("passage URL %q, source %q", ps[0].URL, ps[0].Source)
	}
	answer, _ := ix.Extract("how long do refunds take", ps, 3)
	if !strings.HasSuffix(answer, "(Refunds, "+site.URL+"/a)") {
		t.Fatalf("answer %q", answer)
	}
}

// A passage of a document stored before URLs were recorded: a web source
// is its URL (without the anchor), a path is none.
func TestWithURLsOldDocuments(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	ps := ix.WithURLs([]Passage{
		{DocID: "77", Source: "https://help.example.com/a#refunds"},
		{DocID: "x", Source: "docs/a.md#refunds"},
	})
	if ps[0].URL != "https://help.example.com/a" || ps[1].URL != "" {
		t.Fatalf("%+v", ps)
	}
}

// Through the API: base_url is checked (the field named) and passed on;
// search results carry the URL beside the source.
func TestKnowledgeAPIBaseURL(t *testing.T) {
	dir := writeDocs(t, supportDocs)
	srv, _ := newTestServer(t, "", filepath.Dir(dir))
	code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, `{"paths": ["`+dir+`"], "base_url": "javascript:alert(1)"}`)
	if code != http.StatusBadRequest || out["field"] != "base_url" || !strings.Contains(out["error"].(string), "http://") {
		t.Fatalf("bad base_url: %d %v", code, out)
	}
	body, _ := json.Marshal(IngestRequest{Paths: []string{dir}, BaseURL: "https://help.example.com/"})
	if code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, string(body)); code != http.StatusOK {
		t.Fatalf("ingest: %d %v", code, out)
	}
	code, out = apiCall(t, srv, "POST", "/api/knowledge/search", testToken, `{"query": "reset my password", "k": 1}`)
	ps, _ := out["passages"].([]any)
	if code != http.StatusOK || len(ps) != 1 {
		t.Fatalf("search: %d %v", code, out)
	}
	if p := ps[0].(map[string]any); p["source"] != "docs/account.md#reset-your-password" || p["url"] != "https://help.example.com/account" {
		t.Fatalf("passage %v", p)
	}
}

// An uploaded Markdown file's front matter url is its public URL too.
func TestUploadFrontMatterURL(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	doc, err := ix.PutUpload(context.Background(), "refunds.md", []byte("---\nurl: https://help.example.com/refunds\n---\n# Refunds\n\nRefunds take 5 days."))
	if err != nil || doc.URL != "https://help.example.com/refunds" {
		t.Fatalf("upload %+v, %v", doc, err)
	}
	doc, err = ix.PutUpload(context.Background(), "notes.txt", []byte("Plain notes."))
	if err != nil || doc.URL != "" {
		t.Fatalf("upload without a URL %+v, %v", doc, err)
	}
}
