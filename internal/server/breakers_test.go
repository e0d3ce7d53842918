package server

import (
	"fmt"
	"testing"
)

// The running server shows each integration's delivery circuit breaker on
// /metrics and through the admin API the panel reads.
func TestServeShowsDeliveryBreakers(t *testing.T) {
	const admin = "admin-token-breakers-0123456789"
	sa := buildApp(t, Config{AdminToken: admin})
	sa.start()
	base := "http://" + sa.Addr()
	waitHealthy(t, base)
	for i := range 2 {
		body := fmt.Sprintf(`{"name":"Integration %d","provider":"freshchat","outgoing_webhook_url":"https://platform.example/hook"}`, i)
		if status, res := apiJSON(t, "POST", base+"/api/webhook/config", admin, body); status != 201 {
			t.Fatalf("create: %d %v", status, res)
		}
	}
	m := scrape(t, base, admin)
	for _, id := range []string{"1", "2"} {
		for _, name := range []string{"chatbot_delivery_breaker_state", "chatbot_delivery_breaker_consecutive_failures",
			"chatbot_delivery_breaker_next_attempt_timestamp_seconds"} {
			sample := name + `{config="` + id + `"}`
			if v, ok := m[sample]; !ok || v != 0 {
				t.Errorf("%s = %v (present %v), want 0", sample, v, ok)
			}
		}
	}
	status, _ := apiCall(t, "GET", base+"/api/webhook/breakers", admin, "")
	_, res := apiJSON(t, "GET", base+"/api/webhook/breakers", admin, "")
	want := `map[breakers:[map[config_id:1 consecutive_failures:0 cooldown_seconds:0 state:closed] ` +
		`map[config_id:2 consecutive_failures:0 cooldown_seconds:0 state:closed]] success:true]`
	if status != 200 || fmt.Sprint(res) != want {
		t.Fatalf("GET /api/webhook/breakers = %d %v, want 200 %s", status, res, want)
	}
}
