package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// shopWithWidget serves a shop's page that embeds the widget and creates
// the widget for that page's origin; it returns the page's URL.
func shopWithWidget(t *testing.T, srv *server) string {
	t.Helper()
	var mu sync.Mutex
	key := ""
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		k := key
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Shop</title></head><body><h1>Example shop</h1>
<script src="%s/widget.js" data-key="%s"></script></body></html>`, srv.base, k)
	}))
	t.Cleanup(site.Close)
	var created struct {
		Widget struct {
			Key string `json:"key"`
		} `json:"widget"`
	}
	if code := srv.api(t, "POST", "/admin/api/widgets", map[string]any{"name": "Shop", "allowed_origins": []string{site.URL}}, &created); code != http.StatusCreated {
		t.Fatalf("create widget: %d", code)
	}
	mu.Lock()
	key = created.Widget.Key // before the page is first served
	mu.Unlock()
	return site.URL
}
