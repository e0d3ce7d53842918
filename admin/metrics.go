package admin

import (
	"sort"
	"time"

	"github.com/chatbot/chatbot/metrics"
	"github.com/chatbot/chatbot/store"
)

// storeMetrics, the panel's collector on /metrics, reads gauges from the
// store and the session count at scrape time.
func (h *Handler) storeMetrics(w *metrics.PromWriter) {
	keys, err := h.st.BucketKeys("delivery_jobs", "webhook_configs", "widgets")
	if err == nil {
		w.Gauge("chatbot_delivery_queue_depth", "Outgoing deliveries waiting or retrying.", float64(keys["delivery_jobs"]))
		w.Gauge("chatbot_webhook_integrations", "Configured webhook integrations.", float64(keys["webhook_configs"]))
		w.Gauge("chatbot_widgets", "Configured website widgets.", float64(keys["widgets"]))
	}
	if n, err := h.st.MessageCount(); err == nil {
		w.Gauge("chatbot_messages_stored", "Messages in the history.", float64(n))
	}
	if size, err := h.st.Size(); err == nil {
		w.Gauge("chatbot_database_bytes", "Size of the bbolt database file.", float64(size))
	}
	if st, err := h.st.MessageStats(h.now().Add(-24*time.Hour), time.Hour); err == nil {
		w.Family("chatbot_incoming_messages_24h", "gauge", "Incoming messages of the last 24 hours, by platform.")
		byPlatform := h.platformLabels(st.Incoming)
		for _, p := range sortedKeys(byPlatform) {
			w.Sample("chatbot_incoming_messages_24h", float64(byPlatform[p]), "platform", p)
		}
		w.Family("chatbot_outgoing_messages_24h", "gauge", "Outgoing messages of the last 24 hours, by delivery status.")
		for _, s := range []store.Status{store.StatusPending, store.StatusSent, store.StatusFailed} {
			w.Sample("chatbot_outgoing_messages_24h", float64(st.Outgoing[s]), "status", string(s))
		}
		w.Family("chatbot_answer_latency_24h_seconds", "gauge", "Answer latency over the last 24 hours.")
		w.Sample("chatbot_answer_latency_24h_seconds", float64(st.LatencyP50)/1000, "quantile", "0.5")
		w.Sample("chatbot_answer_latency_24h_seconds", float64(st.LatencyP95)/1000, "quantile", "0.95")
	}
	w.Gauge("chatbot_admin_sessions", "Live admin panel sessions.", float64(h.auth.Sessions()))
}

// knownPlatforms are platform label values whatever is configured: the
// documented platforms and the website widget.
var knownPlatforms = map[string]bool{"freshchat": true, "zendesk": true, "intercom": true, "chatwoot": true, store.WidgetPlatform: true}

// platformLabels sums the counts of platforms that are neither known nor
// the provider of a configured integration (those of deleted integrations)
// under "other", so the label's values stay as few as the integrations.
func (h *Handler) platformLabels(counts map[string]int) map[string]int {
	configured := map[string]bool{}
	if cfgs, err := h.st.Configs(); err == nil {
		for _, c := range cfgs {
			configured[c.Provider] = true
		}
	}
	out := make(map[string]int, len(counts))
	for p, n := range counts {
		if !knownPlatforms[p] && !configured[p] {
			p = "other"
		}
		out[p] += n
	}
	return out
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
