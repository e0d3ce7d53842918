package webhook

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

// benchConfigAPI is the config API's handler stack in process (router,
// admin auth, logging to nowhere) over a real store without fsync.
func benchConfigAPI(b *testing.B) http.Handler {
	b.Helper()
	box, _ := secret.NewBox(bytes.Repeat([]byte{3}, 32))
	st, err := store.Open(b.TempDir(), store.Options{Sealer: box, NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	r := mux.NewRouter()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	NewHandler(NewConfigs(st), log).Routes(r, httpapi.NewAdminAuth(secret.Hash(testAdminToken)).Require)
	return httpapi.Logging(log)(r)
}

func benchRequest(b *testing.B, h http.Handler, method, path, body string, want int) {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != want {
		b.Fatalf("%s %s = %d, want %d: %s", method, path, w.Code, want, w.Body)
	}
}

func BenchmarkConfigAPICreate(b *testing.B) {
	h := benchConfigAPI(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		body := fmt.Sprintf(`{"name":"bench %d","provider":"freshchat","outgoing_webhook_url":"https://example.com/hook","auth_token":"t","retry_attempts":3,"timeout_seconds":30}`, i)
		benchRequest(b, h, http.MethodPost, "/api/webhook/config", body, http.StatusCreated)
	}
}

func BenchmarkConfigAPIGet(b *testing.B) {
	h := benchConfigAPI(b)
	benchRequest(b, h, http.MethodPost, "/api/webhook/config", `{"name":"one","provider":"freshchat","outgoing_webhook_url":"https://example.com/hook"}`, http.StatusCreated)
	b.ReportAllocs()
	for b.Loop() {
		benchRequest(b, h, http.MethodGet, "/api/webhook/config/1", "", http.StatusOK)
	}
}

func BenchmarkConfigAPIList(b *testing.B) {
	h := benchConfigAPI(b)
	for i := range 20 {
		benchRequest(b, h, http.MethodPost, "/api/webhook/config", fmt.Sprintf(`{"name":"c%d","provider":"freshchat","outgoing_webhook_url":"https://example.com/hook"}`, i), http.StatusCreated)
	}
	b.ReportAllocs()
	for b.Loop() {
		benchRequest(b, h, http.MethodGet, "/api/webhook/config", "", http.StatusOK)
	}
}
