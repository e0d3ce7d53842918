// Package admin serves the operator's admin panel (/admin, a small
// hand-written JS front end embedded in the binary), the management API it
// needs beyond the other packages' APIs, the website chat widget
// (/widget.js and POST /api/chat) and the Prometheus metrics (/metrics).
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// ConversationReader lists a conversation's stored messages, oldest first;
// the widget reads the agent's replies from it.
type ConversationReader interface {
	ConversationMessages(ref store.ConvRef) ([]store.Message, error)
}

// IngestFunc adds an uploaded document to the knowledge base and returns
// what to show the operator (it is sent back as JSON).
type IngestFunc func(ctx context.Context, filename string, data []byte) (any, error)

// Options configure the Handler. Store, Auth and Log are required.
type Options struct {
	Store *store.Store
	Auth  *httpapi.AdminAuth
	Log   *slog.Logger
	// Turns answers widget chats (the conversation service every channel
	// uses); nil answers 503 until one is wired.
	Turns *conversation.Service
	// Conversations lets widget visitors read what agents write them in a
	// live chat; nil answers 503 to the widget's polls.
	Conversations ConversationReader
	// Ingest takes knowledge-base uploads; nil answers 503.
	Ingest IngestFunc
	// Reingest indexes a stored document again from its source; nil
	// answers 503.
	Reingest func(ctx context.Context, id uint64) (any, error)
	// BackupStatus reports the scheduled backups on the overview; nil
	// leaves them out.
	BackupStatus func() any
	// Logs is the ring of recent warnings and errors shown in the panel.
	Logs *LogRing
	// Metrics collects request metrics; nil creates one.
	Metrics *Metrics
	// MetricsTokenHash, when set, is the hash of a token that may read
	// /metrics besides the admin token.
	MetricsTokenHash string
	// Secure marks the session cookie Secure (set when serving TLS or
	// behind a TLS-terminating proxy).
	Secure bool
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	SessionTTL     time.Duration // default 8h
	MaxUpload      int64         // default 10 MiB
	Now            func() time.Time
}

// Handler serves the admin panel, the widget and the metrics.
type Handler struct {
	opts     Options
	st       *store.Store
	log      *slog.Logger
	sessions *sessions
	logins   *loginLimiter
	cop      *http.CrossOriginProtection
	assets   *assets
	widgets  *widgetLimiter
	metrics  *Metrics
	now      func() time.Time
}

// New returns the admin handler.
func New(opts Options) (*Handler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 8 * time.Hour
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 10 << 20
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics()
	}
	if opts.Logs == nil {
		opts.Logs = NewLogRing(DefaultLogRingSize)
	}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		opts: opts, st: opts.Store, log: opts.Log, now: opts.Now,
		sessions: newSessions(opts.SessionTTL, 1000, opts.Now),
		logins:   newLoginLimiter(opts.Now),
		cop:      http.NewCrossOriginProtection(),
		assets:   a,
		widgets:  newWidgetLimiter(opts.Now),
		metrics:  opts.Metrics,
	}
	h.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.Error(w, r, nil, apperr.New(apperr.Forbidden, "cross-origin request refused"))
	}))
	opts.Auth.SetSessionCheck(h.SessionValid)
	// Wrong admin API tokens are throttled per client like wrong logins,
	// with the client found behind the same trusted proxies.
	opts.Auth.SetThrottle(httpapi.NewFailureThrottle(0, opts.Now), h.clientAddr)
	h.metrics.AddCollector(h.storeMetrics)
	return h, nil
}

// Metrics returns the metrics registry, for other packages to add to.
func (h *Handler) Metrics() *Metrics { return h.metrics }

// Routes mounts the panel, its API, the widget and /metrics on r.
func (h *Handler) Routes(r *mux.Router) {
	r.Handle("/admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/", h.index).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/assets/{name}", h.asset).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/widget.js", h.widgetJS).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/api/chat", h.chatPreflight).Methods(http.MethodOptions)
	r.HandleFunc("/api/chat", h.chat).Methods(http.MethodPost)
	r.HandleFunc("/api/chat/messages", h.chatMessages).Methods(http.MethodGet)
	r.Handle("/metrics", h.requireMetrics(http.HandlerFunc(h.serveMetrics))).Methods(http.MethodGet)

	// The panel's own API is behind the CSRF guard; the widget, /metrics
	// and the assets above never see the session middleware.
	api := r.PathPrefix("/admin/api").Subrouter()
	api.Use(h.Protect)
	api.Handle("/login", h.cop.Handler(http.HandlerFunc(h.login))).Methods(http.MethodPost)
	api.HandleFunc("/session", h.session).Methods(http.MethodGet)
	api.HandleFunc("/logout", h.logout).Methods(http.MethodPost)

	mgmt := api.NewRoute().Subrouter()
	mgmt.Use(h.opts.Auth.Require)
	mgmt.HandleFunc("/overview", h.overview).Methods(http.MethodGet)
	mgmt.HandleFunc("/logs", h.logs).Methods(http.MethodGet)
	mgmt.HandleFunc("/widgets", h.listWidgets).Methods(http.MethodGet)
	mgmt.HandleFunc("/widgets", h.createWidget).Methods(http.MethodPost)
	mgmt.HandleFunc("/widgets/{id}", h.updateWidget).Methods(http.MethodPut)
	mgmt.HandleFunc("/widgets/{id}", h.deleteWidget).Methods(http.MethodDelete)
	mgmt.HandleFunc("/knowledge/upload", h.upload).Methods(http.MethodPost)
	mgmt.HandleFunc("/knowledge/documents/{id}/reingest", h.reingest).Methods(http.MethodPost)
}

// Protect is middleware for the panel's API and the management API (the
// routes that accept the session cookie): a state-changing request that
// rides on the session cookie (no Authorization header) must come from the
// panel's own origin and carry the session's CSRF token, or it is refused
// with 403. Bearer-token clients pass untouched. Platform webhooks, the
// widget's chat API, health and metrics are not wrapped in it at all, so a
// browser's admin cookie never changes how they answer.
func (h *Handler) Protect(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) || r.Header.Get("Authorization") != "" || r.URL.Path == "/admin/api/login" {
			next.ServeHTTP(w, r)
			return
		}
		sess, _, ok := h.sessionOf(r)
		if ok && !h.csrfOK(r, sess) {
			httpapi.Error(w, r, nil, apperr.New(apperr.Forbidden, "missing or wrong CSRF token; reload the admin page"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, h.log, err)
}

// clientIP is the request's peer address, or the nearest untrusted address
// of X-Forwarded-For when the peer is a trusted proxy; an unparsable peer
// is its RemoteAddr text.
func (h *Handler) clientIP(r *http.Request) string {
	if a := h.clientAddr(r); a.IsValid() {
		return a.String()
	}
	return r.RemoteAddr
}

func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	return httpapi.ClientIP(r, h.opts.TrustedProxies)
}
