package metrics

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
)

// Routes mounts GET /metrics on r. A scraper passes with the metrics token
// (tokenHash, when set: a token that reads metrics and nothing else) or
// with whatever require (the admin authenticator) accepts.
func (m *Registry) Routes(r *mux.Router, require func(http.Handler) http.Handler, tokenHash string, log *slog.Logger) {
	r.Handle("/metrics", m.guard(require, tokenHash, m.serve(log))).Methods(http.MethodGet)
}

// guard accepts the metrics token (when configured), else whatever
// require accepts.
func (m *Registry) guard(require func(http.Handler) http.Handler, tokenHash string, next http.Handler) http.Handler {
	admin := require(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tokenHash != "" {
			if tok, err := httpapi.BearerToken(r); err == nil && secret.Equal(tok, tokenHash) {
				next.ServeHTTP(w, r)
				return
			}
		}
		admin.ServeHTTP(w, r)
	})
}

func (m *Registry) serve(log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if _, err := m.WriteTo(w); err != nil && log != nil {
			log.DebugContext(r.Context(), "metrics write", "err", err)
		}
	})
}
