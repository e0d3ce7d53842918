package rag

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// webSite is a local website: pages by path, served with ETags, a
// sitemap listing them, and a request counter.
type webSite struct {
	*httptest.Server
	mu         sync.Mutex
	pages      map[string]string
	hits       int
	robotsFail bool
}

func newWebSite(t *testing.T) *webSite {
	w := &webSite{pages: map[string]string{}}
	w.Server = httptest.NewServer(http.HandlerFunc(w.serve))
	t.Cleanup(w.Close)
	return w
}

func (s *webSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hits++
	switch r.URL.Path {
	case "/robots.txt":
		if s.robotsFail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
		return
	case "/sitemap.xml":
		paths := make([]string, 0, len(s.pages))
		for p := range s.pages {
			paths = append(paths, p)
		}
		sort.Strings(paths)
		fmt.Fprint(w, "<urlset>")
		for _, p := range paths {
			fmt.Fprintf(w, "<url><loc>http://%s%s</loc></url>", r.Host, p)
		}
		fmt.Fprint(w, "</urlset>")
		return
	}
	body, ok := s.pages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := fmt.Sprintf(`"%s"`, Hash([]byte(body))[:16])
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprint(w, body)
}

func (s *webSite) set(path, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if body == "" {
		delete(s.pages, path)
	} else {
		s.pages[path] = body
	}
}

func (s *webSite) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.hits
	s.hits = 0
	return n
}

func htmlPage(title string, paras ...string) string {
	var b strings.Builder
	b.WriteString("<html><head><title>" + title + "</title></head><body><nav>Home Products Contact</nav><article><h1>" + title + "</h1>")
	for _, p := range paras {
		b.WriteString("<p>" + p + "</p>")
	}
	b.WriteString("</article></body></html>")
	return b.String()
}

func newTestSyncer(t *testing.T, ix *Index, access Access) *Syncer {
	t.Helper()
	policy, err := netguard.ParseAllowList("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	return NewSyncer(ix, SyncOptions{Access: access, Policy: policy, Crawl: crawl.Options{Timeout: 10 * time.Second}})
}

func docPaths(t *testing.T, st *store.Store, source uint64) []string {
	t.Helper()
	docs, err := st.SourceDocuments(source)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range docs {
		out = append(out, d.Path)
	}
	return out
}

func TestWebsiteSyncAddsReplacesAndRemovesAfterTwoMisses(t *testing.T) {
	site := newWebSite(t)
	u := site.URL
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days of the return."))
	site.set("/b", htmlPage("Shipping", "Shipping is free for orders over fifty euros."))
	site.set("/c", htmlPage("Warranty", "The warranty covers manufacturing defects for two years."))
	site.set("/private/x", htmlPage("Private", "Never index this."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, Access{})
	src, err := s.AddSource(store.Source{Kind: "website", Location: u + "/sitemap.xml", Every: store.Duration(6 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rep, err := s.Sync(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 3 || rep.Updated != 0 || rep.Removed != 0 || rep.Requests != 5 { // robots, sitemap, 3 pages
		t.Fatalf("first sync %+v", rep)
	}
	if got, want := docPaths(t, st, src.ID), []string{u + "/a", u + "/b", u + "/c"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("documents %v, want %v", got, want)
	}
	if rep.Source.Documents != 3 || rep.Source.LastError != "" || rep.Source.Syncing || !rep.Source.NextSync.After(rep.Source.LastSync) {
		t.Fatalf("source after sync %+v", rep.Source)
	}
	ps, err := ix.Search(ctx, "how long do refunds take", 1)
	if err != nil || len(ps) == 0 || ps[0].Source != u+"/a" || ps[0].Title != "Refunds" {
		t.Fatalf("search = %+v, %v", ps, err)
	}
	site.requests()

	// /b changes, /c disappears: one sync later /c is still there.
	site.set("/b", htmlPage("Shipping", "Shipping now costs three euros whatever the order."))
	site.set("/c", "")
	rep, err = s.Sync(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Added != 0 || rep.Updated != 1 || rep.Unchanged != 1 || rep.Removed != 0 {
		t.Fatalf("second sync %+v", rep)
	}
	if n := site.requests(); n != 4 || rep.Requests != 4 { // robots, sitemap, a (304), b
		t.Fatalf("second sync made %d requests (report %d), want 4", n, rep.Requests)
	}
	if got := docPaths(t, st, src.ID); len(got) != 3 {
		t.Fatalf("after one miss documents %v", got)
	}
	ps, _ = ix.Search(ctx, "shipping cost euros", 1)
	if len(ps) == 0 || !strings.Contains(ps[0].Text, "three euros") {
		t.Fatalf("search after change %+v", ps)
	}
	rep, err = s.Sync(ctx, src.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Removed != 1 || rep.Unchanged != 2 {
		t.Fatalf("third sync %+v", rep)
	}
	if got, want := docPaths(t, st, src.ID), []string{u + "/a", u + "/b"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("documents %v, want %v", got, want)
	}
	if ps, _ := ix.Search(ctx, "warranty manufacturing defects", 5); len(ps) != 0 && ps[0].Source == u+"/c" {
		t.Fatalf("removed page still found: %+v", ps)
	}
	if s := s.Stats(); s.Syncs != 3 || s.Failures != 0 || s.Removed != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestFailingSourceKeepsItsContentAndShowsTheError(t *testing.T) {
	site := newWebSite(t)
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, Access{})
	src, err := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(context.Background(), src.ID); err != nil {
		t.Fatal(err)
	}
	site.mu.Lock()
	site.robotsFail = true
	site.mu.Unlock()
	for i := 0; i < 3; i++ { // more than goneAfter failures remove nothing
		rep, err := s.Sync(context.Background(), src.ID)
		if err == nil || !strings.Contains(err.Error(), "robots.txt answered HTTP 503") {
			t.Fatalf("sync of a failing site: %v", err)
		}
		if rep.Source.LastError != err.Error() || rep.Source.Documents != 1 {
			t.Fatalf("source %+v", rep.Source)
		}
	}
	if got := docPaths(t, st, src.ID); len(got) != 1 {
		t.Fatalf("documents %v", got)
	}
	if s.Stats().Failures != 3 {
		t.Fatalf("stats %+v", s.Stats())
	}
}

// Questions asked while a page is replaced again and again see all of one
// version of it: both its passages carry the same version marker.
func TestQuestionsDuringSyncSeeWholeOldOrNewPage(t *testing.T) {
	site := newWebSite(t)
	version := func(v int) string {
		return htmlPage("Opening hours", fmt.Sprintf("Opening hours marker%d: the shop opens at nine. %s", v, strings.Repeat("Morning staff prepare the shelves. ", 40)),
			fmt.Sprintf("Closing hours marker%d: the shop closes at six. %s", v, strings.Repeat("Evening staff count the till. ", 40)))
	}
	site.set("/hours", version(0))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{MinScore: -1})
	s := newTestSyncer(t, ix, Access{})
	src, err := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Sync(ctx, src.ID); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	errc := make(chan error, 1)
	asked := 0
	go func() {
		defer close(errc)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ps, err := ix.Search(ctx, "shop opening closing hours staff", 10)
			if err != nil {
				errc <- err
				return
			}
			asked++
			markers := map[string]bool{}
			for _, p := range ps {
				for _, f := range strings.Fields(p.Text) {
					if strings.HasPrefix(f, "marker") {
						markers[strings.TrimSuffix(f, ":")] = true
					}
				}
			}
			if len(markers) > 1 {
				errc <- fmt.Errorf("one answer mixes versions %v", markers)
				return
			}
		}
	}()
	for v := 1; v <= 10; v++ {
		site.set("/hours", version(v))
		if _, err := s.Sync(ctx, src.ID); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if asked == 0 {
		t.Fatal("no question was asked during the syncs")
	}
}

func TestRemoveSourceRemovesItsDocumentsFromTheIndex(t *testing.T) {
	site := newWebSite(t)
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	dir := writeDocs(t, map[string]string{"loose.md": "# Loose\n\nA document outside any source about gift cards."})
	if _, err := ix.Ingest(context.Background(), []string{dir}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s := newTestSyncer(t, ix, Access{})
	src, _ := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml"})
	if _, err := s.Sync(context.Background(), src.ID); err != nil {
		t.Fatal(err)
	}
	before := ix.Len()
	if err := s.RemoveSource(context.Background(), src.ID); err != nil {
		t.Fatal(err)
	}
	if ps, _ := ix.Search(context.Background(), "refunds paid back", 5); len(ps) != 0 && ps[0].Title == "Refunds" {
		t.Fatalf("removed source still answers: %+v", ps)
	}
	docs, _ := st.Documents()
	if len(docs) != 1 || docs[0].Title != "Loose" || ix.Len() >= before {
		t.Fatalf("left %+v, %d chunks (before %d)", docs, ix.Len(), before)
	}
	err := s.RemoveSource(context.Background(), src.ID)
	if ae := (*apperr.Error)(nil); !errors.As(err, &ae) || ae.Code != apperr.NotFound {
		t.Fatalf("remove twice: %v", err)
	}
}

func TestFolderSourceMustBeBelowAKnowledgeRoot(t *testing.T) {
	root := t.TempDir()
	docs := filepath.Join(root, "kb")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(docs, "a.md"), []byte("# Returns\n\nReturns are accepted within thirty days."), 0o644)
	data := t.TempDir()
	access, err := ServerAccess([]string{root}, data)
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, data)
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, access)
	if _, err := s.AddSource(store.Source{Kind: "folder", Location: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "below a knowledge root") {
		t.Fatalf("folder outside the roots: %v", err)
	}
	src, err := s.AddSource(store.Source{Kind: "folder", Location: docs})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Sync(context.Background(), src.ID)
	if err != nil || rep.Added != 1 {
		t.Fatalf("folder sync %+v, %v", rep, err)
	}
	os.Remove(filepath.Join(docs, "a.md"))
	rep, err = s.Sync(context.Background(), src.ID)
	if err != nil || rep.Removed != 1 || rep.Source.Documents != 0 {
		t.Fatalf("folder sync after removal %+v, %v", rep, err)
	}
}

func TestSourceValidationNamesTheField(t *testing.T) {
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, Access{})
	for _, tc := range []struct {
		src   store.Source
		field string
	}{
		{store.Source{Kind: "ftp"}, "kind"},
		{store.Source{Kind: "website", Location: "help.example.com"}, "location"},
		{store.Source{Kind: "website", Location: "https://x/", Every: store.Duration(time.Minute)}, "every"},
		{store.Source{Kind: "website", Location: "https://x/", Include: []string{"docs"}}, "include"},
	} {
		_, err := s.AddSource(tc.src)
		if ae := (*apperr.Error)(nil); !errors.As(err, &ae) || ae.Field != tc.field {
			t.Errorf("%+v: %v, want an error on %s", tc.src, err, tc.field)
		}
	}
}

// The scheduler syncs what is due, one source after the other, and redoes
// a sync a crash interrupted (Syncing left set).
func TestSyncDueFollowsTheScheduleAndRedoesInterruptedSyncs(t *testing.T) {
	site := newWebSite(t)
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	policy, _ := netguard.ParseAllowList("127.0.0.1")
	s := NewSyncer(ix, SyncOptions{Policy: policy, Now: func() time.Time { return now }})
	every, _ := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml", Every: store.Duration(6 * time.Hour)})
	once, _ := s.AddSource(store.Source{Kind: "website", Location: site.URL + "/sitemap.xml", Name: "once"})
	ctx := context.Background()
	if n := s.SyncDue(ctx); n != 2 {
		t.Fatalf("first pass synced %d sources, want 2 (both due at once)", n)
	}
	if n := s.SyncDue(ctx); n != 0 {
		t.Fatalf("second pass synced %d, want 0", n)
	}
	src, _ := st.Source(every.ID)
	if want := now.Add(6 * time.Hour); !src.NextSync.Equal(want) {
		t.Fatalf("next sync %v, want %v", src.NextSync, want)
	}
	if src, _ := st.Source(once.ID); !src.NextSync.IsZero() {
		t.Fatalf("a source without --every is scheduled at %v", src.NextSync)
	}
	now = now.Add(6 * time.Hour)
	if n := s.SyncDue(ctx); n != 1 {
		t.Fatalf("after 6h synced %d, want 1", n)
	}
	// A crash mid-sync leaves Syncing set: the next pass redoes it.
	if _, err := st.UpdateSource(once.ID, func(src *store.Source) error { src.Syncing = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if n := s.SyncDue(ctx); n != 1 {
		t.Fatalf("interrupted sync redone %d times, want 1", n)
	}
	if src, _ := st.Source(once.ID); src.Syncing || src.LastError != "" {
		t.Fatalf("after redo %+v", src)
	}
}
