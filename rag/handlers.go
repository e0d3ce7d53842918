package rag

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// Handler serves the knowledge-base API of a running server, so that
// documents can be ingested and managed while `serve` holds the data
// directory. Paths in ingest requests are read by the server, from its
// own file system, and only as access allows: below the knowledge roots
// the operator configured, never in the data directory. Whatever is read
// is quoted to anyone who asks the bot, so an admin token must not be
// enough to read /etc/shadow or the key that encrypts the stored secrets.
type Handler struct {
	ix     *Index
	log    *slog.Logger
	access Access
	// ingesting allows one ingest at a time; another gets 409.
	ingesting sync.Mutex
}

// NewHandler returns the knowledge-base API over ix, reading files for
// ingest as access (ServerAccess) allows.
func NewHandler(ix *Index, log *slog.Logger, access Access) *Handler {
	return &Handler{ix: ix, log: log, access: access}
}

// Routes mounts the API on r; admin wraps every route (they all need the
// admin token).
func (h *Handler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	kb := r.PathPrefix("/api/knowledge").Subrouter()
	kb.Use(admin)
	kb.HandleFunc("/ingest", h.ingest).Methods(http.MethodPost)
	kb.HandleFunc("/documents", h.listDocuments).Methods(http.MethodGet)
	kb.HandleFunc("/documents/{id}", h.deleteDocument).Methods(http.MethodDelete)
	kb.HandleFunc("/search", h.search).Methods(http.MethodPost)
}

const maxRequestBytes = 64 << 10

// noRootsMessage answers an ingest request to a server with no knowledge root.
const noRootsMessage = "this server reads no files for ingest: no knowledge root is set; start chatbot serve with " +
	"--knowledge-root DIR (repeatable; env CHATBOT_KNOWLEDGE_ROOTS) naming the folders it may read, or upload the files in the admin panel"

// IngestRequest is the body of POST /api/knowledge/ingest.
type IngestRequest struct {
	Paths        []string `json:"paths"`
	Prune        bool     `json:"prune"`
	ChunkSize    int      `json:"chunk_size"`
	ChunkOverlap int      `json:"chunk_overlap"`
	MaxFileMB    int      `json:"max_file_mb"`
	BaseURL      string   `json:"base_url,omitempty"` // public URL of the folders' pages (IngestOptions.BaseURL)
}

// IngestResponse is its answer.
type IngestResponse struct {
	Success bool    `json:"success"`
	Summary Summary `json:"summary"`
}

func (h *Handler) ingest(w http.ResponseWriter, r *http.Request) {
	var req IngestRequest
	if err := httpapi.Decode(w, r, maxRequestBytes, &req); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if len(req.Paths) == 0 {
		httpapi.Error(w, r, h.log, apperr.Invalidf("paths", "paths must list at least one file or folder"))
		return
	}
	if req.ChunkSize < 0 || req.ChunkOverlap < 0 || req.MaxFileMB < 0 {
		httpapi.Error(w, r, h.log, apperr.Invalidf("chunk_size", "chunk_size, chunk_overlap and max_file_mb must not be negative"))
		return
	}
	if req.BaseURL != "" {
		if _, err := PublicURL(req.BaseURL); err != nil {
			httpapi.Error(w, r, h.log, apperr.Invalidf("base_url", "base_url: %v", err))
			return
		}
	}
	if len(h.access.Roots()) == 0 {
		httpapi.Error(w, r, h.log, apperr.New(apperr.Forbidden, "%s", noRootsMessage))
		return
	}
	if !h.ingesting.TryLock() {
		httpapi.Error(w, r, h.log, apperr.New(apperr.Conflict, "an ingest is already running; try again when it has finished"))
		return
	}
	defer h.ingesting.Unlock()
	sum, err := h.ix.Ingest(r.Context(), req.Paths, IngestOptions{
		Chunk: ChunkOptions{Size: req.ChunkSize, Overlap: req.ChunkOverlap}, Prune: req.Prune, MaxFileSize: int64(req.MaxFileMB) << 20,
		Access: h.access, BaseURL: req.BaseURL,
	})
	if ae := (*ArgError)(nil); errors.As(err, &ae) {
		// One answer whether the path exists or not, is outside the roots
		// or in the data directory: the answer must not be a way to learn
		// which paths exist on the server. The log keeps the cause.
		h.log.WarnContext(r.Context(), "ingest refused a path", "index", ae.Index, "path", ae.Path, "err", ae.Err)
		httpapi.Error(w, r, h.log, apperr.Invalidf("paths", "paths[%d] is refused: the server reads only files and folders that exist below its knowledge roots (%s), never its data directory",
			ae.Index, strings.Join(h.access.Roots(), ", ")))
		return
	}
	if err != nil {
		h.log.WarnContext(r.Context(), "ingest failed", "err", err)
		// Ingest errors name the file (a path the admin gave) and the
		// embedder's complaint; they hold no secrets.
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Unavailable, err, "ingest stopped: %s", err.Error()))
		return
	}
	h.log.InfoContext(r.Context(), "ingested", "files", sum.Files, "added", sum.Added, "updated", sum.Updated,
		"removed", sum.Removed, "chunks", sum.Chunks, "duration", sum.Duration)
	httpapi.WriteJSON(w, http.StatusOK, IngestResponse{Success: true, Summary: sum})
}

func (h *Handler) listDocuments(w http.ResponseWriter, r *http.Request) {
	docs, err := h.ix.st.Documents()
	if err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if docs == nil {
		docs = []store.Document{}
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "documents": docs, "index": h.ix.Info(), "chunks": h.ix.Len()})
}

func (h *Handler) deleteDocument(w http.ResponseWriter, r *http.Request) {
	raw := mux.Vars(r)["id"]
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil || id == 0 {
		httpapi.Error(w, r, h.log, apperr.Invalidf("id", "id must be a positive integer, not %q", raw))
		return
	}
	if err := h.ix.Remove(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = apperr.New(apperr.NotFound, "no document %d", id)
		}
		httpapi.Error(w, r, h.log, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"success": true})
}

// SearchRequest is the body of POST /api/knowledge/search.
type SearchRequest struct {
	Query string `json:"query"`
	K     int    `json:"k"`
}

func (h *Handler) search(w http.ResponseWriter, r *http.Request) {
	var req SearchRequest
	if err := httpapi.Decode(w, r, maxRequestBytes, &req); err != nil {
		httpapi.Error(w, r, h.log, err)
		return
	}
	if req.K < 0 || req.K > maxK {
		httpapi.Error(w, r, h.log, apperr.Invalidf("k", "k must be between 1 and %d", maxK))
		return
	}
	ps, err := h.ix.Search(r.Context(), req.Query, req.K)
	if errors.Is(err, ErrBadQuery) {
		httpapi.Error(w, r, h.log, apperr.Invalidf("query", "query must not be empty"))
		return
	}
	if err != nil {
		httpapi.Error(w, r, h.log, apperr.Wrap(apperr.Unavailable, err, "search is unavailable: the embedder failed"))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"success": true, "passages": h.ix.WithURLs(ps)})
}
