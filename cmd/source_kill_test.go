package cmd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// TestSyncKilledMidwayIsRedoneAtNextStart: a real `chatbot serve` syncs a
// 30-page site and is SIGKILLed while a page's request hangs. The data
// directory then passes bbolt's check and holds only whole documents (each
// with all its chunks); the next start redoes the interrupted sync on its
// own (the source syncs only when asked, so nothing else would) and ends
// with all 30 pages.
func TestSyncKilledMidwayIsRedoneAtNextStart(t *testing.T) {
	const pages = 30
	reached := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	var hold sync.Mutex
	holding := true
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
			return
		case "/sitemap.xml":
			fmt.Fprint(w, "<urlset>")
			for i := 0; i < pages; i++ {
				fmt.Fprintf(w, "<url><loc>http://%s/p/%d</loc></url>", r.Host, i)
			}
			fmt.Fprint(w, "</urlset>")
			return
		}
		hold.Lock()
		h := holding
		hold.Unlock()
		if r.URL.Path == "/p/10" && h {
			once.Do(func() { close(reached) })
			select { // hangs until the server is killed and the test goes on
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><head><title>Page %[1]s</title></head><body><article><h1>Page %[1]s</h1><p>%[2]s</p></article></body></html>",
			r.URL.Path, strings.Repeat("Orders, refunds and shipping explained in detail for page "+r.URL.Path+". ", 30))
	}))
	defer site.Close()
	defer close(release)

	dir := t.TempDir()
	args := []string{"--embedder", "builtin", "--llm", "none", "--allow-outgoing", "127.0.0.1"}
	first := startServeChild(t, dir, args...)
	status, out := first.call(t, "POST", "/api/sources", killTestAdmin, fmt.Sprintf(`{"kind":"website","location":%q}`, site.URL+"/sitemap.xml"))
	if status != http.StatusCreated {
		t.Fatalf("add source: %d %v", status, out)
	}
	select {
	case <-reached:
	case <-time.After(60 * time.Second):
		t.Fatalf("the sync never reached /p/10:\n%s", first.log())
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	hold.Lock()
	holding = false
	hold.Unlock()

	st, err := store.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(); err != nil {
		t.Fatalf("bbolt check after kill: %v", err)
	}
	src, err := st.Source(1)
	if err != nil || !src.Syncing || !src.NextSync.IsZero() {
		t.Fatalf("source after kill %+v, %v (want Syncing set and no schedule)", src, err)
	}
	docs, _ := st.Documents()
	if len(docs) >= pages {
		t.Fatalf("%d documents before the redo; the kill came too late", len(docs))
	}
	perDoc := map[uint64]int{}
	if err := st.EachChunk(func(c store.Chunk) error { perDoc[c.DocID]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if d.Chunks == 0 || perDoc[d.ID] != d.Chunks {
			t.Fatalf("document %s records %d chunks, has %d", d.Path, d.Chunks, perDoc[d.ID])
		}
	}
	st.Close()

	second := startServeChild(t, dir, args...)
	// Polling another process for its state; no goroutine of this test is
	// being synchronised.
	deadline := time.Now().Add(60 * time.Second)
	var view map[string]any
	for {
		_, view = second.call(t, "GET", "/api/sources/1", killTestAdmin, "")
		s := view["source"].(map[string]any)
		if s["syncing"] == nil && s["last_sync"] != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the interrupted sync was not redone: %v\n%s", view, second.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	s := view["source"].(map[string]any)
	if s["documents"].(float64) != pages || s["last_error"] != nil || len(view["documents"].([]any)) != pages {
		t.Fatalf("after the redo: %v", s)
	}
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := second.wait(t); err != nil {
		t.Fatalf("serve exited with %v:\n%s", err, second.log())
	}
}
