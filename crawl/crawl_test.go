package crawl

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/internal/netguard"
)

// site is a local website over loopback that counts requests per path.
type site struct {
	*httptest.Server
	mu       sync.Mutex
	hits     map[string]int
	pages    map[string]string // path -> HTML body
	release  chan struct{}     // unblocks /slow
	handlers map[string]http.HandlerFunc
}

func newSite(t testing.TB) *site {
	t.Helper()
	s := &site{hits: map[string]int{}, pages: map[string]string{}, release: make(chan struct{}), handlers: map[string]http.HandlerFunc{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() { close(s.release); s.Close() })
	return s
}

func (s *site) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.hits[r.URL.Path]++
	h := s.handlers[r.URL.Path]
	body, ok := s.pages[r.URL.Path]
	s.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%x"`, len(body)*31+int(body[len(body)-1]))
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, body)
}

func (s *site) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == "" {
		delete(s.pages, path)
		return
	}
	s.pages[path] = body
}

func (s *site) handle(path string, h http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[path] = h
}

func (s *site) requests() (total int, by map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	by = map[string]int{}
	for k, v := range s.hits {
		by[k] = v
		total += v
	}
	return total, by
}

func (s *site) resetHits() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits = map[string]int{}
}

func page(title, text string) string {
	return "<html><head><title>" + title + "</title></head><body><nav>Menu Home About</nav><article><h1>" + title +
		"</h1><p>" + text + " " + strings.Repeat("This paragraph explains the topic in detail for the reader. ", 5) + "</p></article></body></html>"
}

// loopback allows the test site's address through the guard, as
// --allow-outgoing 127.0.0.1 would.
func loopback(t testing.TB) *netguard.AddrPolicy {
	t.Helper()
	p, err := netguard.ParseAllowList("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func crawlAll(t *testing.T, opts Options) (map[string]Page, Result) {
	t.Helper()
	got := map[string]Page{}
	res, err := Crawl(context.Background(), opts, func(p Page) error {
		if _, dup := got[p.URL]; dup {
			t.Errorf("page %s delivered twice", p.URL)
		}
		got[p.URL] = p
		return nil
	})
	if err != nil {
		t.Fatalf("crawl: %v", err)
	}
	return got, res
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func skipReason(res Result, u string) string {
	for _, s := range res.Skipped {
		if s.URL == u {
			return s.Reason
		}
	}
	return ""
}

func TestCrawlSitemapHonoursRobotsLimitsAndRedirects(t *testing.T) {
	s := newSite(t)
	u := s.URL
	s.set("/robots.txt", "") // served by handler below
	s.handle("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "User-agent: *\nDisallow: /private/\n\nSitemap: %s/sitemap.xml\n", u)
	})
	paths := []string{"/a", "/b", "/private/secret", "/big", "/latin", "/doc.pdf", "/notes.txt",
		"/redir-in", "/redir-out", "/redir-private", "/loop", "/gone"}
	s.handle("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for _, p := range paths {
			fmt.Fprintf(w, "<url><loc>%s%s</loc></url>", u, p)
		}
		fmt.Fprint(w, `<url><loc>http://elsewhere.example/x</loc></url></urlset>`)
	})
	s.set("/a", page("Alpha", "Refunds take five days."))
	s.set("/b", `<html><head><title>Beta</title><link rel="canonical" href="/b-canonical"></head><body><article><h1>Beta</h1><p>Shipping is free over 50 euros. `+strings.Repeat("More words about shipping and delivery. ", 10)+`</p></article></body></html>`)
	s.set("/private/secret", page("Secret", "do not index"))
	s.set("/a2", page("Alpha two", "Moved here."))
	s.handle("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		chunk := strings.Repeat("<p>big</p>", 1000)
		for n := 0; n < 10<<20; n += len(chunk) {
			if _, err := fmt.Fprint(w, chunk); err != nil {
				return
			}
		}
	})
	s.handle("/latin", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.Write([]byte("<html><head><title>Caf\xe9</title></head><body><p>Le caf\xe9 est ouvert \xe0 midi.</p></body></html>"))
	})
	s.handle("/doc.pdf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/pdf")
		w.Write([]byte("%PDF-1.4"))
	})
	s.handle("/notes.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "Plain notes about returns.")
	})
	s.handle("/redir-in", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/a2", http.StatusMovedPermanently) })
	s.handle("/redir-out", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://elsewhere.example/", http.StatusFound)
	})
	// 10.255.255.1 is a listed host, so only the address guard stops it.
	s.handle("/redir-private", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://10.255.255.1/admin", http.StatusFound)
	})
	s.handle("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop2", http.StatusFound) })
	s.handle("/loop2", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })

	opts := Options{Start: u + "/sitemap.xml", Hosts: []string{"10.255.255.1"}, Policy: loopback(t),
		// A timeout that catches a hang: on a loaded machine a loopback page
		// can take longer than a second (TestCrawlGivesUpOnASlowPage has the
		// timeout's own test).
		MaxBytes: 1 << 20, Timeout: time.Minute, Concurrency: 4}
	got, res := crawlAll(t, opts)
	want := []string{u + "/a", u + "/b", u + "/latin", u + "/notes.txt", u + "/redir-in"}
	if !reflect.DeepEqual(keys(got), want) {
		t.Fatalf("pages %v, want %v; skipped %+v", keys(got), want, res.Skipped)
	}
	if p := got[u+"/redir-in"]; p.Canonical != u+"/a2" || p.Title != "Alpha two" {
		t.Errorf("redirected page = canonical %q title %q", p.Canonical, p.Title)
	}
	if p := got[u+"/b"]; p.Canonical != u+"/b-canonical" || p.Title != "Beta" || !strings.Contains(string(p.Content), "Shipping is free") {
		t.Errorf("page b = %+v", p)
	}
	if a := string(got[u+"/a"].Content); strings.Contains(a, "Menu Home About") || !strings.Contains(a, "Refunds take five days") {
		t.Errorf("main content of a = %q", a)
	}
	if l := string(got[u+"/latin"].Content); !strings.Contains(l, "Le café est ouvert à midi") {
		t.Errorf("latin page = %q", l)
	}
	if n := got[u+"/notes.txt"]; n.Format != "text" || string(n.Content) != "Plain notes about returns." {
		t.Errorf("text page = %+v", n)
	}
	for path, reason := range map[string]string{
		"/private/secret": "disallowed by robots.txt",
		"/big":            "larger than the page limit of 1048576 bytes",
		"/doc.pdf":        `content type "application/pdf" is not indexed (HTML, plain text and Markdown are)`,
		"/redir-out":      "redirect leaves the allowed hosts (list the host with --host to follow it)",
		"/loop":           "more than 10 redirects (a redirect loop?)",
	} {
		if r := skipReason(res, u+path); r != reason {
			t.Errorf("%s skipped for %q, want %q", path, r, reason)
		}
	}
	if r := skipReason(res, u+"/redir-private"); !strings.Contains(r, "refusing to connect to 10.255.255.1") || !strings.Contains(r, "private address") {
		t.Errorf("redirect to a private address skipped for %q", r)
	}
	if r := skipReason(res, "http://elsewhere.example/x"); !strings.Contains(r, "on another host") {
		t.Errorf("other host's URL: %q", r)
	}
	if !reflect.DeepEqual(res.Gone, []string{u + "/gone"}) || len(res.Kept) != 0 {
		t.Errorf("gone %v kept %v", res.Gone, res.Kept)
	}
	_, by := s.requests()
	if by["/private/secret"] != 0 || by["/robots.txt"] != 1 {
		t.Errorf("requests %v", by)
	}
}

// Unchanged pages cost one conditional request each; changed ones are
// fetched again; links are followed from a start page.
func TestSecondCrawlFetchesOnlyWhatChanged(t *testing.T) {
	s := newSite(t)
	u := s.URL
	s.set("/", `<html><body><h1>Home</h1><p>Welcome to the help center. `+strings.Repeat("Text. ", 20)+`</p><a href="/one">one</a> <a href="/two#x">two</a> <a href="/three" rel="nofollow">three</a> <a href="mailto:x@y">mail</a></body></html>`)
	s.set("/one", page("One", "First article."))
	s.set("/two", page("Two", "Second article.")+`<a href="/deep">deep</a>`)
	s.set("/deep", page("Deep", "Deep article."))
	s.set("/three", page("Three", "Not linked for crawlers."))
	opts := Options{Start: u + "/", Policy: loopback(t), MaxDepth: 1}
	got, res := crawlAll(t, opts)
	if want := []string{u + "/", u + "/one", u + "/two"}; !reflect.DeepEqual(keys(got), want) {
		t.Fatalf("first crawl pages %v, want %v (depth 1)", keys(got), want)
	}
	if res.Requests != 4 { // robots.txt + 3 pages
		t.Errorf("first crawl made %d requests, want 4", res.Requests)
	}
	known := map[string]Prior{}
	for k, p := range got {
		known[k] = Prior{Validators: p.Validators, Links: p.Links}
	}
	s.set("/one", page("One", "First article, revised."))
	s.resetHits()
	opts.Known = known
	got, res = crawlAll(t, opts)
	if res.Requests != 4 || res.NotModified != 2 || res.Pages != 3 {
		t.Errorf("second crawl: %d requests, %d not modified, %d pages; want 4, 2, 3", res.Requests, res.NotModified, res.Pages)
	}
	if !got[u+"/two"].NotModified || got[u+"/one"].NotModified || !strings.Contains(string(got[u+"/one"].Content), "revised") {
		t.Errorf("second crawl pages %+v", got)
	}
	if total, _ := s.requests(); total != 4 {
		t.Errorf("site saw %d requests, want 4", total)
	}
}

func TestSitemapIndexOf50000URLsStopsAtThePageLimit(t *testing.T) {
	s := newSite(t)
	u := s.URL
	const perMap, maps = 1000, 50
	s.handle("/sitemap_index.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for i := 0; i < maps; i++ {
			fmt.Fprintf(w, "<sitemap><loc>%s/sitemaps/%d.xml</loc></sitemap>", u, i)
		}
		fmt.Fprint(w, `</sitemapindex>`)
	})
	for i := 0; i < maps; i++ {
		i := i
		s.handle(fmt.Sprintf("/sitemaps/%d.xml", i), func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
			for j := 0; j < perMap; j++ {
				fmt.Fprintf(w, "<url><loc>%s/p/%d</loc></url>", u, i*perMap+j)
			}
			fmt.Fprint(w, `</urlset>`)
		})
	}
	for i := 0; i < 150; i++ {
		s.set(fmt.Sprintf("/p/%d", i), page(fmt.Sprintf("Page %d", i), "Body."))
	}
	got, res := crawlAll(t, Options{Start: u + "/sitemap_index.xml", Policy: loopback(t), MaxPages: 100, Concurrency: 4})
	var want []string
	for i := 0; i < 100; i++ {
		want = append(want, fmt.Sprintf("%s/p/%d", u, i))
	}
	sort.Strings(want)
	if !reflect.DeepEqual(keys(got), want) {
		t.Fatalf("%d pages, want exactly /p/0../p/99", len(got))
	}
	// robots.txt, the index, one child sitemap, 100 pages.
	if res.Requests != 103 {
		_, by := s.requests()
		t.Errorf("%d requests, want 103: %v", res.Requests, by)
	}
}

func TestCrawlRefusesPrivateStartWithoutAllowList(t *testing.T) {
	s := newSite(t)
	_, err := Crawl(context.Background(), Options{Start: s.URL + "/"}, func(Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "loopback address; allow it with --allow-outgoing") {
		t.Fatalf("crawl of a loopback site without allow list: %v", err)
	}
	if total, _ := s.requests(); total != 0 {
		t.Fatalf("the site saw %d requests", total)
	}
}

func TestBadOptionsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Start: "ftp://x/"}, `"ftp://x/" is not an http(s) URL`},
		{Options{Start: "https://x/", Include: []string{"docs/*"}}, `include pattern "docs/*": a URL path starts with /`},
	} {
		_, err := Crawl(context.Background(), tc.opts, func(Page) error { return nil })
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opts, err, tc.want)
		}
	}
}

func TestIncludeExcludePatterns(t *testing.T) {
	s := newSite(t)
	u := s.URL
	s.set("/", `<html><body><p>Home page text for the index. `+strings.Repeat("Words. ", 20)+`</p><a href="/docs/a">a</a><a href="/docs/old/b">b</a><a href="/blog/c">c</a></body></html>`)
	s.set("/docs/a", page("A", "a"))
	s.set("/docs/old/b", page("B", "b"))
	s.set("/blog/c", page("C", "c"))
	got, _ := crawlAll(t, Options{Start: u + "/", Policy: loopback(t), Include: []string{"/", "/docs/*"}, Exclude: []string{"/docs/old/*"}})
	if want := []string{u + "/", u + "/docs/a"}; !reflect.DeepEqual(keys(got), want) {
		t.Fatalf("pages %v, want %v", keys(got), want)
	}
}

// A page that never finishes is skipped once the per-page timeout passes,
// and the crawl goes on. The page blocks on a channel, so the timeout is
// what ends it, however busy the machine.
func TestCrawlGivesUpOnASlowPage(t *testing.T) {
	s := newSite(t)
	u := s.URL
	s.handle("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/slow</loc></url></urlset>`, u)
	})
	s.handle("/slow", func(w http.ResponseWriter, r *http.Request) {
		select { // blocks until the crawler gives up (or the test ends)
		case <-r.Context().Done():
		case <-s.release:
		}
	})
	got, res := crawlAll(t, Options{Start: u + "/sitemap.xml", Policy: loopback(t), MaxBytes: 1 << 20, Timeout: time.Second, Concurrency: 4})
	if len(got) != 0 {
		t.Fatalf("pages %v, want none", keys(got))
	}
	if r := skipReason(res, u+"/slow"); r != "no complete answer within 1s; the indexed version is kept" {
		t.Fatalf("/slow skipped for %q; skipped %+v", r, res.Skipped)
	}
	if !reflect.DeepEqual(res.Kept, []string{u + "/slow"}) || len(res.Gone) != 0 {
		t.Fatalf("kept %v gone %v: a page that timed out keeps its indexed version", res.Kept, res.Gone)
	}
}
