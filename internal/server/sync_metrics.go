package server

import (
	"strconv"

	"github.com/chatbot/chatbot/metrics"
)

// syncMetrics adds the knowledge sources' syncs to /metrics: progress (the
// source being synced) and results since start, and per source its
// documents, last good sync and whether its last sync failed.
func (a *Server) syncMetrics(w *metrics.PromWriter) {
	st := a.syncer.Stats()
	w.Gauge("chatbot_source_sync_running", "The id of the knowledge source being synced, 0 when none is.", float64(st.Current))
	w.Counter("chatbot_source_syncs_total", "Knowledge-source syncs finished since start.", float64(st.Syncs))
	w.Counter("chatbot_source_sync_failures_total", "Knowledge-source syncs that failed (their documents were kept).", float64(st.Failures))
	w.Counter("chatbot_source_pages_fetched_total", "Pages or files added or replaced by syncs.", float64(st.Fetched))
	w.Counter("chatbot_source_pages_unchanged_total", "Pages or files found unchanged by syncs.", float64(st.Unchanged))
	w.Counter("chatbot_source_pages_removed_total", "Pages or files removed by syncs.", float64(st.Removed))
	w.Counter("chatbot_source_requests_total", "HTTP requests made by website syncs.", float64(st.Requests))
	srcs, err := a.store.Sources()
	if err != nil {
		a.log.Warn("metrics: list sources", "err", err)
		return
	}
	w.Family("chatbot_source_documents", "gauge", "Documents of each knowledge source.")
	for _, s := range srcs {
		w.Sample("chatbot_source_documents", float64(s.Documents), "source", strconv.FormatUint(s.ID, 10), "kind", s.Kind)
	}
	w.Family("chatbot_source_last_sync_failed", "gauge", "1 when the source's last sync failed.")
	for _, s := range srcs {
		failed := 0.0
		if s.LastError != "" {
			failed = 1
		}
		w.Sample("chatbot_source_last_sync_failed", failed, "source", strconv.FormatUint(s.ID, 10))
	}
	w.Family("chatbot_source_last_good_sync_timestamp_seconds", "gauge", "When the source last synced without error (0: never).")
	for _, s := range srcs {
		v := 0.0
		if !s.LastGood.IsZero() {
			v = float64(s.LastGood.Unix())
		}
		w.Sample("chatbot_source_last_good_sync_timestamp_seconds", v, "source", strconv.FormatUint(s.ID, 10))
	}
}
