package server

import "github.com/chatbot/chatbot/metrics"

// collectBreakers adds every integration's delivery circuit breaker to
// /metrics.
func (a *Server) collectBreakers(w *metrics.PromWriter) {
	list, err := a.worker.Breakers()
	if err != nil {
		a.log.Warn("metrics: delivery circuit breakers", "err", err)
		return
	}
	out := make([]metrics.Breaker, 0, len(list))
	for _, b := range list {
		out = append(out, metrics.Breaker{ConfigID: b.ConfigID, State: b.State,
			ConsecutiveFailures: b.ConsecutiveFailures, NextAttemptAt: b.NextAttemptAt})
	}
	metrics.WriteBreakers(w, out)
}
