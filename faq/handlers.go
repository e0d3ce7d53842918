package faq

import (
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// importBodyLimit bounds POST /api/faq/import: a few thousand pairs.
const importBodyLimit = 16 << 20

// Handler serves /api/faq, the curated answers' management API.
type Handler struct {
	s   *Service
	log *slog.Logger
}

// NewHandler returns the API over s.
func NewHandler(s *Service, log *slog.Logger) *Handler { return &Handler{s: s, log: log} }

// Routes mounts the API on r behind admin.
func (h *Handler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	sr := r.PathPrefix("/api/faq").Subrouter()
	sr.Use(admin)
	sr.HandleFunc("", h.list).Methods(http.MethodGet)
	sr.HandleFunc("", h.create).Methods(http.MethodPost)
	sr.HandleFunc("/import", h.importPairs).Methods(http.MethodPost)
	sr.HandleFunc("/match", h.match).Methods(http.MethodPost)
	sr.HandleFunc("/{id}", h.show).Methods(http.MethodGet)
	sr.HandleFunc("/{id}", h.update).Methods(http.MethodPut)
	sr.HandleFunc("/{id}", h.remove).Methods(http.MethodDelete)
}

// View is the answer of the calls about one curated answer.
type View struct {
	Success bool      `json:"success"`
	FAQ     store.FAQ `json:"faq"`
}

// List is the answer of GET /api/faq.
type List struct {
	Success bool        `json:"success"`
	FAQs    []store.FAQ `json:"faqs"`
}

// ImportRequest is the body of POST /api/faq/import.
type ImportRequest struct {
	FAQs []Pair `json:"faqs"`
}

// ImportResult is the answer of POST /api/faq/import.
type ImportResult struct {
	Success bool `json:"success"`
	store.FAQImport
}

// MatchRequest is the body of POST /api/faq/match: which curated answer
// would answer this question?
type MatchRequest struct {
	Question string `json:"question"`
}

// MatchResult is the answer of POST /api/faq/match; FAQ is set when
// Matched.
type MatchResult struct {
	Success bool       `json:"success"`
	Matched bool       `json:"matched"`
	Score   float64    `json:"score"`
	FAQ     *store.FAQ `json:"faq,omitempty"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	fs, err := h.s.List()
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, List{Success: true, FAQs: fs})
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var in Input
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	f, err := h.s.Create(in)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "curated answer added", "faq", f.ID)
	httpapi.WriteJSON(w, http.StatusCreated, View{Success: true, FAQ: f})
}

func (h *Handler) id(w http.ResponseWriter, r *http.Request) (uint64, bool) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		httpapi.Error(w, r, h.log, apperr.Invalidf("id", "id must be a curated answer's number (GET /api/faq lists them), not %q", raw))
		return 0, false
	}
	return id, true
}

func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	f, err := h.s.Get(id)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, View{Success: true, FAQ: f})
}

func (h *Handler) update(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	var in Input
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	f, err := h.s.Update(id, in)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "curated answer changed", "faq", f.ID)
	httpapi.WriteJSON(w, http.StatusOK, View{Success: true, FAQ: f})
}

func (h *Handler) remove(w http.ResponseWriter, r *http.Request) {
	id, ok := h.id(w, r)
	if !ok {
		return
	}
	if err := h.s.Delete(id); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "curated answer removed", "faq", id)
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

func (h *Handler) importPairs(w http.ResponseWriter, r *http.Request) {
	var in ImportRequest
	if err := httpapi.Decode(w, r, importBodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	res, err := h.s.Import(in.FAQs)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	h.log.InfoContext(r.Context(), "curated answers imported", "added", res.Added, "updated", res.Updated, "unchanged", res.Unchanged)
	httpapi.WriteJSON(w, http.StatusOK, ImportResult{Success: true, FAQImport: res})
}

func (h *Handler) match(w http.ResponseWriter, r *http.Request) {
	var in MatchRequest
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if in.Question == "" {
		httpapi.Error(w, r, h.log, apperr.Invalidf("question", "question is required: the customer's question to try"))
		return
	}
	out := MatchResult{Success: true}
	if f, score, ok := h.s.Match(in.Question); ok {
		out.Matched, out.Score, out.FAQ = true, score, &f
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}
