package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
)

// websiteSources adds a local help center in the Knowledge section's
// "Websites and sources" card and waits for its sync to list two
// documents; then a site that is down shows its error as text.
func websiteSources(t *testing.T, ctx context.Context, srv *server, shots *shots) {
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		case "/sitemap.xml":
			fmt.Fprintf(w, "<urlset><url><loc>http://%[1]s/warranty</loc></url><url><loc>http://%[1]s/returns</loc></url></urlset>", r.Host)
		case "/warranty":
			fmt.Fprint(w, "<html><head><title>Warranty</title></head><body><article><h1>Warranty</h1><p>The warranty covers manufacturing defects for two years.</p></article></body></html>")
		case "/returns":
			fmt.Fprint(w, "<html><head><title>Returns</title></head><body><article><h1>Returns</h1><p>Returns are free within thirty days.</p></article></body></html>")
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()

	add := func(u string) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(srv.base+"/admin/#knowledge"),
			chromedp.WaitReady(chromedp.CSS(`#src-location`)),
			chromedp.SetValue(chromedp.CSS(`#src-location`), u),
			press(`#source-form button[type=submit]`),
		)
		if err != nil {
			t.Fatal(err)
		}
	}
	add(site.URL + "/sitemap.xml")
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#sources-table tr')).some(function (tr) {
		var l = tr.querySelector('td.src-location'), d = tr.querySelector('td.src-docs');
		return l && d && l.textContent === `+jsString(site.URL+"/sitemap.xml")+` && d.textContent === '2' })`); err != nil {
		t.Fatalf("the synced source does not list 2 documents: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	shots.take(t, ctx, "knowledge-sources")
	add(down.URL + "/sitemap.xml")
	if err := waitJS(ctx, `Array.from(document.querySelectorAll('#sources-table td.src-error')).some(function (td) { return td.textContent.indexOf('robots.txt answered HTTP 503') >= 0 })`); err != nil {
		t.Fatalf("the failing source's error is not shown: %v (%q)", err, evalString(t, ctx, `document.getElementById('view').textContent`))
	}
	noScriptRan(t, ctx, "sources")
}
