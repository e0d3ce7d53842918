package rag

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/crawl"
	"github.com/chatbot/chatbot/internal/netguard"
	"github.com/chatbot/chatbot/store"
)

// BenchmarkWebsiteSync1000 measures a first sync of a 1,000-page local
// site (crawl, extract, chunk, embed with the built-in embedder, store)
// and a re-sync where nothing changed (1,000 conditional requests, 304
// each). No politeness delay: this is the crawler's own cost.
//
//	go test -run '^$' -bench WebsiteSync1000 -benchtime 3x ./rag
func BenchmarkWebsiteSync1000(b *testing.B) {
	const pages = 1000
	site := &webSite{pages: map[string]string{}}
	for i := 0; i < pages; i++ {
		site.pages[fmt.Sprintf("/p/%d", i)] = htmlPage(fmt.Sprintf("Article %d", i),
			fmt.Sprintf("Article %d explains topic %d. ", i, i)+strings.Repeat("Support staff answer questions about orders, refunds and shipping. ", 30),
			strings.Repeat("A second paragraph with more detail about the product. ", 20))
	}
	srvSite := newBenchSite(b, site)
	policy, _ := netguard.ParseAllowList("127.0.0.1")
	var first, resync time.Duration
	var resyncRequests int
	for n := 0; n < b.N; n++ {
		st, err := store.Open(b.TempDir(), store.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		ix, err := Open(context.Background(), st, newTestEmbedder(), Options{})
		if err != nil {
			b.Fatal(err)
		}
		s := NewSyncer(ix, SyncOptions{Policy: policy, Crawl: crawl.Options{Concurrency: 4, MaxPages: pages}})
		src, err := s.AddSource(store.Source{Kind: "website", Location: srvSite + "/sitemap.xml"})
		if err != nil {
			b.Fatal(err)
		}
		rep, err := s.Sync(context.Background(), src.ID)
		if err != nil || rep.Added != pages {
			b.Fatalf("first sync %d added, %v", rep.Added, err)
		}
		first += rep.Duration
		rep, err = s.Sync(context.Background(), src.ID)
		if err != nil || rep.Unchanged != pages || rep.Added+rep.Updated+rep.Removed != 0 {
			b.Fatalf("re-sync %+v, %v", rep, err)
		}
		resync += rep.Duration
		resyncRequests = rep.Requests
		st.Close()
	}
	b.ReportMetric(float64(pages*b.N)/first.Seconds(), "pages/s-first-sync")
	b.ReportMetric(float64(pages*b.N)/resync.Seconds(), "pages/s-resync")
	b.ReportMetric(resync.Seconds()*1000/float64(b.N), "ms/no-change-resync")
	b.ReportMetric(float64(resyncRequests), "requests/resync")
}

func newBenchSite(b *testing.B, site *webSite) string {
	site.Server = httptest.NewServer(http.HandlerFunc(site.serve))
	b.Cleanup(site.Close)
	return site.URL
}
