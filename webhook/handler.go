package webhook

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
)

// Handler serves /api/webhook/*.
type Handler struct {
	configs  *Configs
	incoming *Incoming
	log      *slog.Logger
}

// NewHandler returns the webhook API handler.
func NewHandler(configs *Configs, log *slog.Logger) *Handler {
	return &Handler{configs: configs, log: log}
}

// WithIncoming sets the incoming endpoint Routes mounts.
func (h *Handler) WithIncoming(in *Incoming) *Handler {
	h.incoming = in
	return h
}

// Routes mounts the webhook API on r. admin wraps the routes that need the
// admin token; the incoming endpoint authenticates with its own tokens.
func (h *Handler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	cfg := r.PathPrefix("/api/webhook/config").Subrouter()
	cfg.Use(admin)
	cfg.HandleFunc("", h.listConfigs).Methods(http.MethodGet)
	cfg.HandleFunc("", h.createConfig).Methods(http.MethodPost)
	cfg.HandleFunc("/{id}", h.getConfig).Methods(http.MethodGet)
	cfg.HandleFunc("/{id}", h.updateConfig).Methods(http.MethodPut)
	cfg.HandleFunc("/{id}", h.deleteConfig).Methods(http.MethodDelete)

	r.Handle("/api/webhook/messages", admin(http.HandlerFunc(h.listMessages))).Methods(http.MethodGet)
	if h.incoming != nil {
		r.Handle("/api/webhook/incoming", h.incoming).Methods(http.MethodPost)
	}
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, h.log, err)
}
