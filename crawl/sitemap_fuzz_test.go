package crawl

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseSitemap(t *testing.T) {
	pages, maps, err := parseSitemap(strings.NewReader(`<?xml version="1.0"?>
<urlset><url><loc> https://a.example/x </loc><lastmod>2026-01-01</lastmod></url><url><loc>https://a.example/y</loc></url></urlset>`))
	if err != nil || !reflect.DeepEqual(pages, []string{"https://a.example/x", "https://a.example/y"}) || maps != nil {
		t.Fatalf("urlset = %v %v %v", pages, maps, err)
	}
	pages, maps, err = parseSitemap(strings.NewReader(`<sitemapindex><sitemap><loc>https://a.example/s1.xml</loc></sitemap></sitemapindex>`))
	if err != nil || pages != nil || !reflect.DeepEqual(maps, []string{"https://a.example/s1.xml"}) {
		t.Fatalf("index = %v %v %v", pages, maps, err)
	}
	if _, _, err := parseSitemap(strings.NewReader(`<urlset><url><loc>x</url>`)); err == nil {
		t.Fatal("truncated sitemap accepted")
	}
}

func FuzzParseSitemap(f *testing.F) {
	f.Add(`<urlset><url><loc>https://a/x</loc></url></urlset>`)
	f.Add(`<sitemapindex><sitemap><loc>https://a/s.xml</loc></sitemap></sitemapindex>`)
	f.Add(`<loc>orphan</loc><url><url><loc>`)
	f.Fuzz(func(t *testing.T, s string) {
		pages, maps, err := parseSitemap(strings.NewReader(s))
		if err != nil && (pages != nil || maps != nil) {
			t.Fatalf("error with results: %v", err)
		}
		for _, p := range append(pages, maps...) {
			if p == "" || strings.TrimSpace(p) != p {
				t.Fatalf("untrimmed or empty loc %q", p)
			}
		}
	})
}
