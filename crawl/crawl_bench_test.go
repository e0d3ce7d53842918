package crawl

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// BenchmarkCrawl1000 is the crawler alone (fetch, charset, readability,
// links) over a 1,000-page local site, no politeness delay.
//
//	go test -run '^$' -bench Crawl1000 -benchtime 3x ./crawl
func BenchmarkCrawl1000(b *testing.B) {
	s := newSite(b)
	u := s.URL
	s.handle("/sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<urlset>")
		for i := 0; i < 1000; i++ {
			fmt.Fprintf(w, "<url><loc>%s/p/%d</loc></url>", u, i)
		}
		fmt.Fprint(w, "</urlset>")
	})
	for i := 0; i < 1000; i++ {
		s.set(fmt.Sprintf("/p/%d", i), page(fmt.Sprintf("Article %d", i), strings.Repeat("Support staff answer questions about orders. ", 40)))
	}
	policy := loopback(b)
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		res, err := Crawl(context.Background(), Options{Start: u + "/sitemap.xml", Policy: policy, Concurrency: 4}, func(Page) error { return nil })
		if err != nil || res.Pages != 1000 {
			b.Fatalf("%d pages, %v", res.Pages, err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "pages/s")
}
