package metrics

import (
	"strconv"
	"time"

	"github.com/chatbot/chatbot/llm"
)

// LLMHosts is one backend's servers for /metrics: kind is "chat" or
// "embed", hosts their state (llm.Pool.Stats).
type LLMHosts struct {
	Kind  string
	Hosts []llm.HostStats
}

// WriteLLMHosts writes the per-server series of the language-model
// backends: health, calls in flight and the limit, calls, errors and the
// latency of successful calls (a summary without quantiles: sum and count).
func WriteLLMHosts(w *PromWriter, backends []LLMHosts) {
	type series struct {
		name, typ, help string
		value           func(llm.HostStats) float64
	}
	all := []series{
		{"chatbot_llm_host_up", "gauge", "1 when a language-model server is taken into use, 0 while its breaker is open or it asked us to wait (HTTP 429).",
			func(h llm.HostStats) float64 {
				if h.State == "ok" {
					return 1
				}
				return 0
			}},
		{"chatbot_llm_host_in_flight", "gauge", "Calls in flight on a language-model server.", func(h llm.HostStats) float64 { return float64(h.InFlight) }},
		{"chatbot_llm_host_limit", "gauge", "Generations a language-model server is given at once.", func(h llm.HostStats) float64 { return float64(h.Limit) }},
		{"chatbot_llm_host_calls_total", "counter", "Calls sent to a language-model server.", func(h llm.HostStats) float64 { return float64(h.Calls) }},
		{"chatbot_llm_host_errors_total", "counter", "Calls that failed on a language-model server (counted against its breaker).", func(h llm.HostStats) float64 { return float64(h.Errors) }},
	}
	for _, s := range all {
		w.Family(s.name, s.typ, s.help)
		for _, b := range backends {
			for _, h := range b.Hosts {
				w.Sample(s.name, s.value(h), "kind", b.Kind, "host", h.URL)
			}
		}
	}
	w.Family("chatbot_llm_host_latency_seconds", "summary", "Latency of the successful calls to a language-model server (a whole generation for chat).")
	for _, b := range backends {
		for _, h := range b.Hosts {
			w.Sample("chatbot_llm_host_latency_seconds_sum", h.LatencySeconds, "kind", b.Kind, "host", h.URL)
			w.Sample("chatbot_llm_host_latency_seconds_count", float64(h.LatencyCount), "kind", b.Kind, "host", h.URL)
		}
	}
}

// Breaker is one integration's delivery circuit breaker, as /metrics shows
// it (the webhook worker's BreakerStatus, without importing webhook).
type Breaker struct {
	ConfigID            uint64
	State               string // "closed", "open" or "half-open"
	ConsecutiveFailures int
	NextAttemptAt       time.Time // zero when closed
}

// breakerStateValue encodes a breaker state as a gauge value.
var breakerStateValue = map[string]float64{"closed": 0, "open": 1, "half-open": 2}

// WriteBreakers writes the delivery circuit breakers: one series per
// integration in each family, so their number is bounded by the
// integrations configured.
func WriteBreakers(w *PromWriter, list []Breaker) {
	w.Family("chatbot_delivery_breaker_state", "gauge",
		"Delivery circuit breaker by integration: 0 closed (deliveries flow), 1 open (held until the next attempt), 2 half-open (one probe in flight).")
	for _, b := range list {
		w.Sample("chatbot_delivery_breaker_state", breakerStateValue[b.State], "config", strconv.FormatUint(b.ConfigID, 10))
	}
	w.Family("chatbot_delivery_breaker_consecutive_failures", "gauge", "Delivery attempts that failed in a row, by integration.")
	for _, b := range list {
		w.Sample("chatbot_delivery_breaker_consecutive_failures", float64(b.ConsecutiveFailures), "config", strconv.FormatUint(b.ConfigID, 10))
	}
	w.Family("chatbot_delivery_breaker_next_attempt_timestamp_seconds", "gauge",
		"When a held integration's next delivery may go (Unix time); 0 when its breaker is closed.")
	for _, b := range list {
		v := 0.0
		if !b.NextAttemptAt.IsZero() {
			v = float64(b.NextAttemptAt.Unix())
		}
		w.Sample("chatbot_delivery_breaker_next_attempt_timestamp_seconds", v, "config", strconv.FormatUint(b.ConfigID, 10))
	}
}
