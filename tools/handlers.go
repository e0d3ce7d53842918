package tools

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
)

const bodyLimit = 64 << 10

// Handler serves /api/tools: the declarations (admin token only) and test
// calls.
type Handler struct {
	m   *Manager
	log *slog.Logger
}

// NewHandler returns the API over m.
func NewHandler(m *Manager, log *slog.Logger) *Handler { return &Handler{m: m, log: log} }

// Routes mounts the API behind protect (the admin token): a webhook
// integration's token or a widget key never reaches it.
func (h *Handler) Routes(r *mux.Router, protect func(http.Handler) http.Handler) {
	r.Handle("/api/tools", protect(http.HandlerFunc(h.list))).Methods(http.MethodGet)
	r.Handle("/api/tools", protect(http.HandlerFunc(h.create))).Methods(http.MethodPost)
	r.Handle("/api/tools/calls", protect(http.HandlerFunc(h.calls))).Methods(http.MethodGet)
	r.Handle("/api/tools/{name}", protect(http.HandlerFunc(h.get))).Methods(http.MethodGet)
	r.Handle("/api/tools/{name}", protect(http.HandlerFunc(h.replace))).Methods(http.MethodPut)
	r.Handle("/api/tools/{name}", protect(http.HandlerFunc(h.delete))).Methods(http.MethodDelete)
	r.Handle("/api/tools/{name}/test", protect(http.HandlerFunc(h.test))).Methods(http.MethodPost)
}

type toolBody struct {
	Success bool `json:"success"`
	Tool    Tool `json:"tool"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	ts, err := h.m.List()
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "tools": ts})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	t, err := h.m.Get(mux.Vars(r)["name"])
	h.reply(w, r, http.StatusOK, t, err)
}

func (h *Handler) create(w http.ResponseWriter, r *http.Request) {
	var in Tool
	if err := httpapi.Decode(w, r, bodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	in.ID, in.CreatedAt, in.UpdatedAt = 0, time.Time{}, time.Time{}
	t, err := h.m.Create(in)
	h.reply(w, r, http.StatusCreated, t, err)
}

func (h *Handler) replace(w http.ResponseWriter, r *http.Request) {
	var in Tool
	if err := httpapi.Decode(w, r, bodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	t, err := h.m.Replace(mux.Vars(r)["name"], in)
	h.reply(w, r, http.StatusOK, t, err)
}

func (h *Handler) delete(w http.ResponseWriter, r *http.Request) {
	if err := h.m.Delete(mux.Vars(r)["name"]); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true})
}

func (h *Handler) reply(w http.ResponseWriter, r *http.Request, status int, t Tool, err error) {
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, status, toolBody{Success: true, Tool: t})
}

// TestRequest is the body of POST /api/tools/{name}/test.
type TestRequest struct {
	Params map[string]string `json:"params"`
	AsUser string            `json:"as_user"`
}

func (h *Handler) test(w http.ResponseWriter, r *http.Request) {
	var in TestRequest
	if err := httpapi.Decode(w, r, bodyLimit, &in); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), maxTimeout+5*time.Second)
	defer cancel()
	res, err := h.m.Test(ctx, mux.Vars(r)["name"], in.Params, in.AsUser)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "result": res})
}

func (h *Handler) calls(w http.ResponseWriter, r *http.Request) {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			httpapi.Error(w, r, h.log, httpapi.QueryError("limit", "limit must be a number from 1 to 1000"))
			return
		}
		limit = n
	}
	cs, err := h.m.Calls(limit)
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "calls": cs})
}
