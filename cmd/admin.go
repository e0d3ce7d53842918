package cmd

import (
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
)

// withLogRing makes log also remember recent warnings and errors for the
// admin panel's Logs section.
func withLogRing(log *slog.Logger) (*slog.Logger, *admin.LogRing) {
	ring := admin.NewLogRing(admin.DefaultLogRingSize)
	return slog.New(ring.Handler(log.Handler())), ring
}

// newAdmin builds the admin panel, widget and metrics handler.
func (a *app) newAdmin(auth *httpapi.AdminAuth) (*admin.Handler, error) {
	opts := admin.Options{
		Store: a.store, Auth: auth, Log: a.log, Logs: a.logs,
		Secure:         a.cfg.TLSCert != "",
		TrustedProxies: a.cfg.trustedProxies,
	}
	// The store lists a conversation's messages once the message history
	// is built; until then the widget's live-chat polls answer 503.
	if cr, ok := any(a.store).(admin.ConversationReader); ok {
		opts.Conversations = cr
	}
	if a.cfg.MetricsToken != "" {
		opts.MetricsTokenHash = secret.Hash(a.cfg.MetricsToken)
	}
	return admin.New(opts)
}

// adminMiddleware wraps the router: request metrics outermost, then the
// CSRF guard for cookie-authenticated requests.
func (a *app) adminMiddleware(r *mux.Router) http.Handler {
	return a.admin.Metrics().Middleware(admin.RouteOf(r))(a.admin.Protect(r))
}
