// Package admin serves the operator's admin panel: /admin (a small
// hand-written JS front end embedded in the binary), its login, sessions
// and logs, and the management API it needs beyond the other packages'
// APIs (overview, widgets, uploads). The widget's public chat API is in
// widget/, /metrics in metrics/, the authenticator in httpapi.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/store"
)

// CookieName is the admin session cookie.
const CookieName = httpapi.SessionCookie

// CSRFHeader carries the per-session token on every state-changing request.
const CSRFHeader = httpapi.CSRFHeader

// IngestFunc adds an uploaded document to the knowledge base and returns
// what to show the operator (it is sent back as JSON).
type IngestFunc func(ctx context.Context, filename string, data []byte) (any, error)

// Options configure the Handler. Store, Auth and Log are required.
type Options struct {
	Store *store.Store
	// Auth is the server's one authenticator; the panel logs browsers in
	// and out through it.
	Auth *httpapi.AdminAuth
	Log  *slog.Logger
	// Ingest takes knowledge-base uploads; nil answers 503.
	Ingest IngestFunc
	// Reingest indexes a stored document again from its source; nil
	// answers 503.
	Reingest func(ctx context.Context, id uint64) (any, error)
	// WidgetChanged is called with a widget's id after its settings
	// changed or it was deleted, so the widget's chat API forgets its rate
	// buckets (widget.Handler.Forget); nil does nothing.
	WidgetChanged func(id uint64)
	// BackupStatus reports the scheduled backups on the overview; nil
	// leaves them out.
	BackupStatus func() any
	// Logs is the ring of recent warnings and errors shown in the panel.
	Logs *LogRing
	// Metrics, when set, gets the panel's gauges (store sizes, messages,
	// sessions).
	Metrics *metrics.Registry
	// Secure marks the session cookie Secure (set when serving TLS or
	// behind a TLS-terminating proxy).
	Secure bool
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed.
	TrustedProxies []netip.Prefix
	MaxUpload      int64 // default 10 MiB
	Now            func() time.Time
}

// Handler serves the admin panel.
type Handler struct {
	opts   Options
	st     *store.Store
	log    *slog.Logger
	auth   *httpapi.AdminAuth
	logins *loginLimiter
	assets *assets
	now    func() time.Time
}

// New returns the admin handler.
func New(opts Options) (*Handler, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxUpload <= 0 {
		opts.MaxUpload = 10 << 20
	}
	if opts.Logs == nil {
		opts.Logs = NewLogRing(DefaultLogRingSize)
	}
	if opts.WidgetChanged == nil {
		opts.WidgetChanged = func(uint64) {}
	}
	a, err := loadAssets()
	if err != nil {
		return nil, err
	}
	h := &Handler{
		opts: opts, st: opts.Store, log: opts.Log, now: opts.Now, auth: opts.Auth,
		logins: newLoginLimiter(opts.Now),
		assets: a,
	}
	if opts.Metrics != nil {
		opts.Metrics.AddCollector(h.storeMetrics)
	}
	return h, nil
}

// SessionLookups is how many times a request's session cookie has been
// looked up since start (tests show which routes never consult it).
func (h *Handler) SessionLookups() uint64 { return h.auth.SessionLookups() }

// Routes mounts the panel and its API on r. Login, session and logout need
// no authentication (logout checks the CSRF token itself); the rest is
// behind the authenticator, like every package's management API.
func (h *Handler) Routes(r *mux.Router) {
	r.Handle("/admin", http.RedirectHandler("/admin/", http.StatusMovedPermanently)).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/", h.index).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/admin/assets/{name}", h.asset).Methods(http.MethodGet, http.MethodHead)

	api := r.PathPrefix("/admin/api").Subrouter()
	api.Handle("/login", h.auth.SameOrigin(http.HandlerFunc(h.login))).Methods(http.MethodPost)
	api.HandleFunc("/session", h.session).Methods(http.MethodGet)
	api.HandleFunc("/logout", h.logout).Methods(http.MethodPost)

	mgmt := api.NewRoute().Subrouter()
	mgmt.Use(h.auth.Require)
	mgmt.HandleFunc("/overview", h.overview).Methods(http.MethodGet)
	mgmt.HandleFunc("/logs", h.logs).Methods(http.MethodGet)
	mgmt.HandleFunc("/widgets", h.listWidgets).Methods(http.MethodGet)
	mgmt.HandleFunc("/widgets", h.createWidget).Methods(http.MethodPost)
	mgmt.HandleFunc("/widgets/{id}", h.updateWidget).Methods(http.MethodPut)
	mgmt.HandleFunc("/widgets/{id}", h.deleteWidget).Methods(http.MethodDelete)
	mgmt.HandleFunc("/knowledge/upload", h.upload).Methods(http.MethodPost)
	mgmt.HandleFunc("/knowledge/documents/{id}/reingest", h.reingest).Methods(http.MethodPost)
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, h.log, err)
}

// clientIP is the request's client as every limiter in the server sees it
// (httpapi.ClientIP).
func (h *Handler) clientIP(r *http.Request) string {
	return httpapi.ClientIP(r, h.opts.TrustedProxies).String()
}
