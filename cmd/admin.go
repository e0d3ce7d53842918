package cmd

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
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
	opts.Engine = a.answer.engine
	// Widget visitors read what agents write them from the message history.
	opts.Conversations = storeTranscript{a.store}
	opts.Ingest = func(ctx context.Context, name string, data []byte) (any, error) {
		return a.index.PutUpload(ctx, name, data)
	}
	opts.Reingest = func(ctx context.Context, id uint64) (any, error) {
		return a.index.Reingest(ctx, id)
	}
	if a.cfg.MetricsToken != "" {
		opts.MetricsTokenHash = secret.Hash(a.cfg.MetricsToken)
	}
	h, err := admin.New(opts)
	if err != nil {
		return nil, err
	}
	h.Metrics().AddCollector(a.collectMetrics)
	return h, nil
}

// collectMetrics adds the knowledge base, the LLM and live chat to /metrics.
func (a *app) collectMetrics(w *admin.PromWriter) {
	w.Gauge("chatbot_knowledge_chunks", "Passages in the knowledge base.", float64(a.index.Len()))
	llm := a.answer.state()
	up := 0.0
	if llm.State == "ok" {
		up = 1
	}
	w.Gauge("chatbot_llm_up", "1 when the LLM answers, 0 when it is down or disabled (answers are then extractive).", up)
	w.Gauge("chatbot_llm_queued", "Answers waiting for a generation slot.", float64(llm.Queued))
	w.Family("chatbot_livechat_sessions", "gauge", "Live-chat sessions waiting for or talking to an agent.")
	for _, state := range []string{store.LiveChatWaiting, store.LiveChatActive} {
		sessions, err := a.livechat.Sessions(state)
		if err != nil {
			a.log.Warn("metrics: count live chats", "state", state, "err", err)
			continue
		}
		w.Sample("chatbot_livechat_sessions", float64(len(sessions)), "state", state)
	}
}

// adminMiddleware wraps the router: request metrics outermost, then the
// CSRF guard for cookie-authenticated requests.
func (a *app) adminMiddleware(r *mux.Router) http.Handler {
	return a.admin.Metrics().Middleware(admin.RouteOf(r))(a.admin.Protect(r))
}
