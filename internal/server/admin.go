package server

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/admin"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
	"github.com/chatbot/chatbot/widget"
)

// withLogRing makes log also remember recent warnings and errors for the
// admin panel's Logs section.
func withLogRing(log *slog.Logger) (*slog.Logger, *admin.LogRing) {
	ring := admin.NewLogRing(admin.DefaultLogRingSize)
	return slog.New(ring.Handler(log.Handler())), ring
}

// newWidget builds the website widget's chat API.
func (a *Server) newWidget() *widget.Handler {
	return widget.New(widget.Options{Store: a.store, Turns: a.turns, Log: a.log, Metrics: a.metrics,
		// Visitors read what agents write them from the message history.
		Conversations: storeTranscript{a.store}, TrustedProxies: a.cfg.trustedProxies,
		// Visitors rate answers through the widget's own checks.
		Feedback: a.insights.WidgetFeedback})
}

// newAdmin builds the admin panel.
func (a *Server) newAdmin(auth *httpapi.AdminAuth) (*admin.Handler, error) {
	opts := admin.Options{
		Store: a.store, Auth: auth, Log: a.log, Logs: a.logs, Metrics: a.metrics,
		Secure:         a.cfg.TLSCert != "",
		TrustedProxies: a.cfg.trustedProxies,
		WidgetChanged:  a.widget.Forget,
	}
	opts.Ingest = func(ctx context.Context, name string, data []byte) (any, error) {
		return a.index.PutUpload(ctx, name, data)
	}
	opts.Reingest = func(ctx context.Context, id uint64) (any, error) {
		return a.index.Reingest(ctx, id, a.ingestAccess)
	}
	opts.BackupStatus = a.backups.status
	h, err := admin.New(opts)
	if err != nil {
		return nil, err
	}
	a.metrics.AddCollector(a.collectMetrics)
	a.metrics.AddCollector(a.collectBreakers)
	return h, nil
}

// collectMetrics adds the knowledge base, the LLM, live chat, delivery
// retries and the incoming webhook's refusals to /metrics.
func (a *Server) collectMetrics(w *metrics.PromWriter) {
	a.collectCounters(w)
	w.Gauge("chatbot_knowledge_chunks", "Passages in the knowledge base.", float64(a.index.Len()))
	llm := a.answer.state()
	up := 0.0
	if llm.State == "ok" {
		up = 1
	}
	w.Gauge("chatbot_llm_up", "1 when the LLM answers, 0 when it is down or disabled (answers are then extractive).", up)
	w.Gauge("chatbot_llm_queued", "Answers waiting for a generation slot.", float64(llm.Queued))
	metrics.WriteLLMHosts(w, a.llmHosts())
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

// requestMetrics wraps the whole router in the request metrics.
func (a *Server) requestMetrics(r *mux.Router) http.Handler {
	return a.metrics.Middleware(metrics.RouteOf(r))(r)
}

// metricsTokenHash is the hash of --metrics-token, "" when unset.
func (a *Server) metricsTokenHash() string {
	if a.cfg.MetricsToken == "" {
		return ""
	}
	return secret.Hash(a.cfg.MetricsToken)
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
func (a *Server) collectCounters(w *metrics.PromWriter) {
	in := a.incoming.Stats()
	w.Counter("chatbot_incoming_accepted_total", "Incoming webhook messages accepted for an answer.", float64(in.Accepted))
	w.Counter("chatbot_incoming_duplicates_total", "Incoming webhook messages dropped as platform retries of one already taken.", float64(in.Duplicates))
	w.Family("chatbot_incoming_refused_total", "counter", "Incoming webhook requests refused, by reason and HTTP status.")
	for _, r := range incomingRefusals {
		w.Sample("chatbot_incoming_refused_total", float64(r.count(in)), "reason", r.reason, "code", r.code)
	}
	w.Counter("chatbot_delivery_retries_total", "Failed delivery attempts scheduled to be tried again.", float64(a.worker.Retries()))
	w.Counter("chatbot_store_commits_total", "bbolt write transactions committed, each fsync'd; a group commit shared by several writers counts once.", float64(a.store.Commits()))
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
func (a *Server) llmHosts() []metrics.LLMHosts {
	var out []metrics.LLMHosts
	if a.answer.llm != nil {
		out = append(out, metrics.LLMHosts{Kind: "chat", Hosts: a.answer.llm.Hosts()})
	}
	if a.embedder != nil {
		if h := a.embedder.Hosts(); len(h) > 0 {
			out = append(out, metrics.LLMHosts{Kind: "embed", Hosts: h})
		}
	}
	return out
}
