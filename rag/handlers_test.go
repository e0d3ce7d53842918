package rag

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
)

const testToken = "test-admin-token-0123456789"

// newTestServer serves the knowledge API over a new store in dataDir (a
// new temporary folder when ""), reading files below roots.
func newTestServer(t *testing.T, dataDir string, roots ...string) (*httptest.Server, *Index) {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	st := openStore(t, dataDir)
	ix := openIndex(t, st, newTestEmbedder(), Options{})
	access, err := ServerAccess(roots, dataDir)
	if err != nil {
		t.Fatal(err)
	}
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	NewHandler(ix, log, access).Routes(r, httpapi.NewAdminAuth(secret.Hash(testToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv, ix
}

func apiCall(t *testing.T, srv *httptest.Server, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v", method, path, err)
	}
	return resp.StatusCode, out
}

func TestKnowledgeAPI(t *testing.T) {
	dir := writeDocs(t, supportDocs)
	srv, ix := newTestServer(t, "", filepath.Dir(dir))
	body, _ := json.Marshal(IngestRequest{Paths: []string{dir}})

	if code, _ := apiCall(t, srv, "POST", "/api/knowledge/ingest", "", string(body)); code != http.StatusUnauthorized {
		t.Fatalf("no token: %d", code)
	}
	code, out := apiCall(t, srv, "POST", "/api/knowledge/ingest", testToken, string(body))
	if code != http.StatusOK || out["success"] != true {
		t.Fatalf("ingest: %d %v", code, out)
	}
	if sum := out["summary"].(map[string]any); sum["added"] != 3.0 || sum["chunks"] != 6.0 {
		t.Fatalf("summary = %v", sum)
	}
	if ix.Len() != 6 {
		t.Fatalf("index has %d chunks", ix.Len())
	}

	code, out = apiCall(t, srv, "POST", "/api/knowledge/search", testToken, `{"query": "reset my password", "k": 2}`)
	ps, _ := out["passages"].([]any)
	if code != http.StatusOK || len(ps) == 0 || ps[0].(map[string]any)["source"] != "docs/account.md#reset-your-password" {
		t.Fatalf("search: %d %v", code, out)
	}

	code, out = apiCall(t, srv, "GET", "/api/knowledge/documents", testToken, "")
	docs, _ := out["documents"].([]any)
	if code != http.StatusOK || len(docs) != 3 || out["chunks"] != 6.0 {
		t.Fatalf("list: %d %v", code, out)
	}
	id := docs[0].(map[string]any)["id"].(float64)
	if code, out := apiCall(t, srv, "DELETE", "/api/knowledge/documents/"+strconv.FormatFloat(id, 'f', 0, 64), testToken, ""); code != http.StatusOK {
		t.Fatalf("delete: %d %v", code, out)
	}
	if code, out := apiCall(t, srv, "DELETE", "/api/knowledge/documents/999", testToken, ""); code != http.StatusNotFound || out["success"] != false {
		t.Fatalf("delete missing: %d %v", code, out)
	}
}

func TestKnowledgeAPIBadRequests(t *testing.T) {
	srv, _ := newTestServer(t, "", t.TempDir())
	missing := filepath.Join(t.TempDir(), "nope")
	for _, c := range []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/api/knowledge/ingest", `{}`, 400, "paths"},
		{"POST", "/api/knowledge/ingest", `{"paths": ["` + missing + `"]}`, 400, "paths"},
		{"POST", "/api/knowledge/ingest", `{"paths": ["x"], "chunk_size": -1}`, 400, "chunk_size"},
		{"POST", "/api/knowledge/ingest", `{"paths": "x"}`, 400, "paths"},
		{"POST", "/api/knowledge/ingest", `{"path": ["x"]}`, 400, ""},
		{"POST", "/api/knowledge/search", `{"query": "  "}`, 400, "query"},
		{"POST", "/api/knowledge/search", `{"query": "x", "k": 1000}`, 400, "k"},
		{"DELETE", "/api/knowledge/documents/abc", ``, 400, "id"},
	} {
		code, out := apiCall(t, srv, c.method, c.path, testToken, c.body)
		if code != c.status || out["success"] != false {
			t.Errorf("%s %s %s: %d %v", c.method, c.path, c.body, code, out)
			continue
		}
		if c.field != "" && out["field"] != c.field {
			t.Errorf("%s %s: field %v, want %s (%v)", c.path, c.body, out["field"], c.field, out["error"])
		}
	}
	// The empty index answers a search with no passages, not an error.
	code, out := apiCall(t, srv, "POST", "/api/knowledge/search", testToken, `{"query": "refund"}`)
	if ps, ok := out["passages"].([]any); code != 200 || !ok || len(ps) != 0 {
		t.Fatalf("search on empty index: %d %v", code, out)
	}
	_ = os.Remove(missing)
}
