package rag

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
)

func TestSourcesAPI(t *testing.T) {
	site := newWebSite(t)
	site.set("/a", htmlPage("Refunds", "Refunds are paid back within five working days."))
	st := openStore(t, t.TempDir())
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	s := newTestSyncer(t, ix, Access{})
	r := mux.NewRouter()
	NewSourcesHandler(s, slog.New(slog.NewTextHandler(io.Discard, nil))).Routes(r, httpapi.NewAdminAuth(secret.Hash(testToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)

	if code, _ := apiCall(t, srv, http.MethodGet, "/api/sources", "", ""); code != http.StatusUnauthorized {
		t.Fatalf("without token: %d", code)
	}
	code, out := apiCall(t, srv, http.MethodPost, "/api/sources", testToken, `{"kind":"website","location":"ftp://x"}`)
	if code != http.StatusBadRequest || fmt.Sprint(out["error"]) == "" {
		t.Fatalf("bad location: %d %v", code, out)
	}
	code, out = apiCall(t, srv, http.MethodPost, "/api/sources", testToken,
		fmt.Sprintf(`{"kind":"website","location":%q,"every":"6h","exclude":["/private/*"]}`, site.URL+"/sitemap.xml"))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %v", code, out)
	}
	src := out["source"].(map[string]any)
	if src["id"].(float64) != 1 || src["every"] != "6h0m0s" || src["kind"] != "website" {
		t.Fatalf("created %v", src)
	}
	code, out = apiCall(t, srv, http.MethodPost, "/api/sources/1/sync", testToken, "")
	if code != http.StatusOK {
		t.Fatalf("sync: %d %v", code, out)
	}
	if rep := out["report"].(map[string]any); rep["added"].(float64) != 1 {
		t.Fatalf("report %v", rep)
	}
	code, out = apiCall(t, srv, http.MethodGet, "/api/sources/1", testToken, "")
	if code != http.StatusOK || len(out["documents"].([]any)) != 1 || out["source"].(map[string]any)["documents"].(float64) != 1 {
		t.Fatalf("show: %d %v", code, out)
	}
	code, out = apiCall(t, srv, http.MethodGet, "/api/sources", testToken, "")
	if code != http.StatusOK || len(out["sources"].([]any)) != 1 {
		t.Fatalf("list: %d %v", code, out)
	}
	if code, _ = apiCall(t, srv, http.MethodDelete, "/api/sources/1", testToken, ""); code != http.StatusOK {
		t.Fatalf("delete: %d", code)
	}
	if code, _ = apiCall(t, srv, http.MethodGet, "/api/sources/1", testToken, ""); code != http.StatusNotFound {
		t.Fatalf("show deleted: %d", code)
	}
	if docs, _ := st.Documents(); len(docs) != 0 {
		t.Fatalf("documents left %v", docs)
	}
	if code, _ = apiCall(t, srv, http.MethodPost, "/api/sources/x/sync", testToken, ""); code != http.StatusBadRequest {
		t.Fatalf("bad id: %d", code)
	}
}
