package cmd

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// helpSite is a two-page help center with a sitemap, over loopback.
func helpSite(t *testing.T) *httptest.Server {
	t.Helper()
	pages := map[string]string{
		"/reset":   "<html><head><title>Reset the router</title></head><body><article><h1>Reset the router</h1><p>To reset the router, hold the reset button for ten seconds until the light blinks.</p></article></body></html>",
		"/billing": "<html><head><title>Billing</title></head><body><article><h1>Billing</h1><p>Invoices are sent on the first day of every month by email.</p></article></body></html>",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/robots.txt":
			fmt.Fprint(w, "User-agent: *\nAllow: /\n")
		case "/sitemap.xml":
			fmt.Fprintf(w, "<urlset><url><loc>http://%[1]s/reset</loc></url><url><loc>http://%[1]s/billing</loc></url></urlset>", r.Host)
		default:
			body, ok := pages[r.URL.Path]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, body)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSourceCommandsLocally(t *testing.T) {
	site := helpSite(t)
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": t.TempDir()})
	out, _, err := run(t, e, "source", "add", site.URL+"/sitemap.xml", "--every", "6h", "--allow-outgoing", "127.0.0.1", "--embedder", "builtin")
	if err != nil || !strings.Contains(out, "source 1 added: website "+site.URL+"/sitemap.xml") || !strings.Contains(out, "2 added, 0 updated, 0 unchanged, 0 removed; 4 requests") {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "ask", "how do I reset the router?")
	if err != nil || !strings.Contains(out, site.URL+"/reset") {
		t.Fatalf("ask cites the page: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "source", "list")
	if err != nil || !strings.Contains(out, "6h0m0s") || !strings.Contains(out, site.URL+"/sitemap.xml") {
		t.Fatalf("source list: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "source", "show", "1")
	if err != nil || !strings.Contains(out, "documents: 2") || !strings.Contains(out, site.URL+"/billing  Billing") {
		t.Fatalf("source show: %v\n%s", err, out)
	}
	// Without --allow-outgoing the guard refuses the loopback site.
	out, _, err = run(t, e, "source", "sync", "1", "--embedder", "builtin")
	if err == nil || !strings.Contains(err.Error(), "loopback address; allow it with --allow-outgoing") {
		t.Fatalf("sync without allow list: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "source", "remove", "1")
	if err != nil || !strings.Contains(out, "source 1 and its documents removed") {
		t.Fatalf("source remove: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "docs", "list")
	if err != nil || !strings.Contains(out, "No documents yet") {
		t.Fatalf("docs after remove: %v\n%s", err, out)
	}
	if _, _, err := run(t, e, "source", "show", "x"); err == nil || !strings.Contains(err.Error(), "ID must be a source's number") {
		t.Fatalf("bad id: %v", err)
	}
}

func TestSourceCommandsThroughRunningServer(t *testing.T) {
	const token = "admin-token-0123456789abcdef"
	site := helpSite(t)
	a, _ := startApp(t, config{AdminToken: token, Embedder: "builtin", AllowOutgoing: "127.0.0.1"})
	e := mapEnv(map[string]string{"CHATBOT_DATA_DIR": a.cfg.DataDir, "CHATBOT_ADMIN_TOKEN": token})
	out, _, err := run(t, e, "source", "add", site.URL+"/sitemap.xml", "--every", "6h")
	if err != nil || !strings.Contains(out, "source 1 added") || !strings.Contains(out, "the server is syncing it now") {
		t.Fatalf("source add through server: %v\n%s", err, out)
	}
	// source sync waits for the one the scheduler started.
	out, _, err = run(t, e, "source", "sync", "1")
	if err != nil || !strings.Contains(out, "synced source 1") {
		t.Fatalf("source sync through server: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "source", "show", "1")
	if err != nil || !strings.Contains(out, "documents: 2") {
		t.Fatalf("source show through server: %v\n%s", err, out)
	}
	status, body := apiCall(t, "GET", "http://"+a.Addr()+"/metrics", token, "")
	if status != 200 || !strings.Contains(string(body), `chatbot_source_documents{source="1",kind="website"} 2`) ||
		!strings.Contains(string(body), `chatbot_source_last_sync_failed{source="1"} 0`) {
		t.Fatalf("metrics: %d\n%s", status, body)
	}
	if _, _, err := run(t, e, "source", "remove", "1"); err != nil || a.index.Len() != 0 {
		t.Fatalf("remove through server: %v, %d chunks left", err, a.index.Len())
	}
}

func TestIngestURLCrawlsOnce(t *testing.T) {
	site := helpSite(t)
	e := noOllama(t, map[string]string{"CHATBOT_DATA_DIR": t.TempDir()})
	out, _, err := run(t, e, "ingest", site.URL+"/sitemap.xml", "--allow-outgoing", "127.0.0.1", "--embedder", "builtin")
	if err != nil || !strings.Contains(out, "[1/1] "+site.URL+"/reset: added") || !strings.Contains(out, "2 pages: 2 added, 0 updated, 0 unchanged, 0 skipped; 4 requests") {
		t.Fatalf("ingest URL: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "ingest", site.URL+"/sitemap.xml", "--allow-outgoing", "127.0.0.1")
	if err != nil || !strings.Contains(out, "2 pages: 0 added, 0 updated, 2 unchanged") {
		t.Fatalf("ingest URL again: %v\n%s", err, out)
	}
	out, _, err = run(t, e, "ask", "when are invoices sent?")
	if err != nil || !strings.Contains(out, site.URL+"/billing") {
		t.Fatalf("ask: %v\n%s", err, out)
	}
	if _, _, err := run(t, e, "ingest", site.URL+"/", "./docs"); err == nil || !strings.Contains(err.Error(), "give one URL") {
		t.Fatalf("URL and folder: %v", err)
	}
}
