package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// withLogRing makes log also remember recent warnings and errors for the
// admin panel's Logs section.
func withLogRing(log *slog.Logger) (*slog.Logger, *admin.LogRing) {
	ring := admin.NewLogRing(admin.DefaultLogRingSize)
	return slog.New(ring.Handler(log.Handler())), ring
}

// newAdmin builds the admin panel, widget and metrics handler.
func (a *Server) newAdmin(auth *httpapi.AdminAuth) (*admin.Handler, error) {
	opts := admin.Options{
		Store: a.store, Auth: auth, Log: a.log, Logs: a.logs,
		Secure:         a.cfg.TLSCert != "",
		TrustedProxies: a.cfg.trustedProxies,
	}
	opts.Turns = a.turns
	// Widget visitors read what agents write them from the message history.
	opts.Conversations = storeTranscript{a.store}
	opts.Ingest = func(ctx context.Context, name string, data []byte) (any, error) {
		return a.index.PutUpload(ctx, name, data)
	}
	opts.Reingest = func(ctx context.Context, id uint64) (any, error) {
		return a.index.Reingest(ctx, id, a.ingestAccess)
	}
	opts.BackupStatus = a.backups.status
	if a.cfg.MetricsToken != "" {
		opts.MetricsTokenHash = secret.Hash(a.cfg.MetricsToken)
	}
	h, err := admin.New(opts)
	if err != nil {
		return nil, err
	}
	h.Metrics().AddCollector(a.collectMetrics)
	h.Metrics().AddCollector(a.collectBreakers)
	return h, nil
}

// collectMetrics adds the knowledge base, the LLM, live chat, delivery
// retries and the incoming webhook's refusals to /metrics.
func (a *Server) collectMetrics(w *admin.PromWriter) {
	a.collectCounters(w)
	w.Gauge("chatbot_knowledge_chunks", "Passages in the knowledge base.", float64(a.index.Len()))
	llm := a.answer.state()
	up := 0.0
	if llm.State == "ok" {
		up = 1
	}
	w.Gauge("chatbot_llm_up", "1 when the LLM answers, 0 when it is down or disabled (answers are then extractive).", up)
	w.Gauge("chatbot_llm_queued", "Answers waiting for a generation slot.", float64(llm.Queued))
	admin.WriteLLMHosts(w, a.llmHosts())
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

// requestMetrics wraps the whole router in the request metrics; it is
// the only part of the admin package every route passes through.
func (a *Server) requestMetrics(r *mux.Router) http.Handler {
	return a.admin.Metrics().Middleware(admin.RouteOf(r))(r)
}

// managed guards a management API route: the panel's CSRF check for
// cookie-authenticated writes, then the admin token or session. Platform
// and widget routes are mounted without it.
func (a *Server) managed(auth *httpapi.AdminAuth) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler { return a.admin.Protect(auth.Require(h)) }
}

// incomingRefusals names the refusals of POST /api/webhook/incoming.
var incomingRefusals = []struct {
	reason, code string
	count        func(webhook.IncomingStats) uint64
}{
	{"unauthorized", "401", func(s webhook.IncomingStats) uint64 { return s.AuthFailures }},
	{"forbidden", "403", func(s webhook.IncomingStats) uint64 { return s.Forbidden }},
	{"too_large", "413", func(s webhook.IncomingStats) uint64 { return s.TooLarge }},
	{"rate_limited", "429", func(s webhook.IncomingStats) uint64 { return s.RateLimited }},
	{"overloaded", "503", func(s webhook.IncomingStats) uint64 { return s.Overloaded }},
}

// collectCounters writes the counters kept since start: incoming webhook
// outcomes, delivery retries, LLM calls and failures (zero with --llm none).
func (a *Server) collectCounters(w *admin.PromWriter) {
	in := a.incoming.Stats()
	w.Counter("chatbot_incoming_accepted_total", "Incoming webhook messages accepted for an answer.", float64(in.Accepted))
	w.Counter("chatbot_incoming_duplicates_total", "Incoming webhook messages dropped as platform retries of one already taken.", float64(in.Duplicates))
	w.Family("chatbot_incoming_refused_total", "counter", "Incoming webhook requests refused, by reason and HTTP status.")
	for _, r := range incomingRefusals {
		w.Sample("chatbot_incoming_refused_total", float64(r.count(in)), "reason", r.reason, "code", r.code)
	}
	w.Counter("chatbot_delivery_retries_total", "Failed delivery attempts scheduled to be tried again.", float64(a.worker.Retries()))
	var llm chat.LLMCounts
	if a.answer.llm != nil {
		llm = a.answer.llm.Counts()
	}
	w.Counter("chatbot_llm_calls_total", "Calls to the LLM, failed ones included.", float64(llm.Calls))
	w.Counter("chatbot_llm_retries_total", "LLM calls tried a second time on another server after failing before their first token.", float64(llm.Retries))
	w.Family("chatbot_llm_failures_total", "counter", "Failed LLM calls, by reason (the answer was then extractive).")
	for _, r := range chat.LLMFailureReasons {
		w.Sample("chatbot_llm_failures_total", float64(llm.Failures[r]), "reason", r)
	}
}

// llmHosts is the per-server state of the chat client and of the
// embedder, when they talk to servers.
func (a *Server) llmHosts() []admin.LLMHosts {
	var out []admin.LLMHosts
	if a.answer.llm != nil {
		out = append(out, admin.LLMHosts{Kind: "chat", Hosts: a.answer.llm.Hosts()})
	}
	if a.embedder != nil {
		if h := a.embedder.Hosts(); len(h) > 0 {
			out = append(out, admin.LLMHosts{Kind: "embed", Hosts: h})
		}
	}
	return out
}
