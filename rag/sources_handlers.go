package rag

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// SourcesHandler serves /api/sources: knowledge sources and their syncs.
type SourcesHandler struct {
	s   *Syncer
	log *slog.Logger
}

// NewSourcesHandler returns the sources API over s.
func NewSourcesHandler(s *Syncer, log *slog.Logger) *SourcesHandler {
	return &SourcesHandler{s: s, log: log}
}

// Routes mounts the API on r behind admin.
func (h *SourcesHandler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	sr := r.PathPrefix("/api/sources").Subrouter()
	sr.Use(admin)
	sr.HandleFunc("", h.list).Methods(http.MethodGet)
	sr.HandleFunc("", h.create).Methods(http.MethodPost)
	sr.HandleFunc("/{id}", h.show).Methods(http.MethodGet)
	sr.HandleFunc("/{id}", h.remove).Methods(http.MethodDelete)
	sr.HandleFunc("/{id}/sync", h.sync).Methods(http.MethodPost)
}

// SourceRequest is the body of POST /api/sources.
type SourceRequest struct {
	Kind     string         `json:"kind"` // website | folder | upload
	Name     string         `json:"name"`
	Location string         `json:"location"` // the start or sitemap URL, or the folder
	Every    store.Duration `json:"every"`    // "6h"; empty: only when asked
	Hosts    []string       `json:"hosts"`
	Include  []string       `json:"include"`
	Exclude  []string       `json:"exclude"`
	MaxPages int            `json:"max_pages"`
	MaxDepth int            `json:"max_depth"`
}

// SourceView is a source with its documents, for GET /api/sources/{id}.
type SourceView struct {
	Success   bool             `json:"success"`
	Source    store.Source     `json:"source"`
	Documents []store.Document `json:"documents"`
}

func (h *SourcesHandler) list(w http.ResponseWriter, r *http.Request) {
	srcs, err := h.s.ix.st.Sources()
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if srcs == nil {
		srcs = []store.Source{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "sources": srcs})
}

func (h *SourcesHandler) create(w http.ResponseWriter, r *http.Request) {
	var req SourceRequest
	if err := httpapi.Decode(w, r, maxRequestBytes, &req); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	src, err := h.s.AddSource(store.Source{Kind: req.Kind, Name: req.Name, Location: req.Location, Every: req.Every,
		Hosts: req.Hosts, Include: req.Include, Exclude: req.Exclude, MaxPages: req.MaxPages, MaxDepth: req.MaxDepth})
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "source added", "source", src.ID, "kind", src.Kind, "location", src.Location)
	httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"success": true, "source": src})
}

func (h *SourcesHandler) id(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		httpapi.Error(w, r, h.log, apperr.Invalidf("id", "id must be a positive integer, not %q", raw))
		return 0, false
	}
	return id, true
}

func (h *SourcesHandler) show(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	src, err := h.s.ix.st.Source(id)
	if err != nil {
		httpapi.Error(w, r, h.log, notFound(err, id))
		return
	}
	docs, err := h.s.ix.st.SourceDocuments(id)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if docs == nil {
		docs = []store.Document{}
	}
	httpapi.WriteJSON(w, http.StatusOK, SourceView{Success: true, Source: src, Documents: docs})
}

func (h *SourcesHandler) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	if err := h.s.RemoveSource(r.Context(), id); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "source removed", "source", id)
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *SourcesHandler) sync(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	// A big site takes longer than the server's write timeout, which is
	// sized for answers: this response waits for the sync.
	if err := http.NewResponseController(w).SetWriteDeadline(time.Time{}); err != nil {
		h.log.DebugContext(r.Context(), "cannot lift the write deadline for a sync", "err", err)
	}
	rep, err := h.s.Sync(r.Context(), id)
	if ae := (*apperr.Error)(nil); err != nil && errors.As(err, &ae) {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if err != nil {
		// The error is the site's or the embedder's complaint, already
		// recorded on the source: no secrets.
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Unavailable, err, "sync failed, the source's documents are kept as they were: %s", err.Error()))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "report": rep})
}

func notFound(err error, id uint64) error {
	if errors.Is(err, store.ErrNotFound) {
		return apperr.New(apperr.NotFound, "no source %d; list them with chatbot source list", id)
	}
	return err
}
