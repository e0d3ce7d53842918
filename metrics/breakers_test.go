package metrics

import (
	"testing"
	"time"
)

func TestWriteBreakers(t *testing.T) {
	var w PromWriter
	WriteBreakers(&w, []Breaker{
		{ConfigID: 1, State: "open", ConsecutiveFailures: 20, NextAttemptAt: time.Unix(1737288002, 0)},
		{ConfigID: 2, State: "half-open", ConsecutiveFailures: 6, NextAttemptAt: time.Unix(1737288060, 0)},
		{ConfigID: 3, State: "closed"},
	})
	want := `# HELP chatbot_delivery_breaker_state Delivery circuit breaker by integration: 0 closed (deliveries flow), 1 open (held until the next attempt), 2 half-open (one probe in flight).
# TYPE chatbot_delivery_breaker_state gauge
chatbot_delivery_breaker_state{config="1"} 1
chatbot_delivery_breaker_state{config="2"} 2
chatbot_delivery_breaker_state{config="3"} 0
# HELP chatbot_delivery_breaker_consecutive_failures Delivery attempts that failed in a row, by integration.
# TYPE chatbot_delivery_breaker_consecutive_failures gauge
chatbot_delivery_breaker_consecutive_failures{config="1"} 20
chatbot_delivery_breaker_consecutive_failures{config="2"} 6
chatbot_delivery_breaker_consecutive_failures{config="3"} 0
# HELP chatbot_delivery_breaker_next_attempt_timestamp_seconds When a held integration's next delivery may go (Unix time); 0 when its breaker is closed.
# TYPE chatbot_delivery_breaker_next_attempt_timestamp_seconds gauge
chatbot_delivery_breaker_next_attempt_timestamp_seconds{config="1"} 1.737288002e+09
chatbot_delivery_breaker_next_attempt_timestamp_seconds{config="2"} 1.73728806e+09
chatbot_delivery_breaker_next_attempt_timestamp_seconds{config="3"} 0
`
	if got := w.b.String(); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
