package widget

import (
	"strings"
	"testing"

	"github.com/chatbot/chatbot/store"
)

// The widget's outcomes reach /metrics through the registry it was given:
// one answered, one refused (foreign origin), one invalid.
func TestOutcomesOnMetrics(t *testing.T) {
	e := newEnv(t, nil)
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	ok := map[string]string{"Origin": "https://a.example"}
	e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, ok)
	e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": "hi"}, map[string]string{"Origin": "https://evil.example"})
	e.do(nil, "POST", "/api/chat?key="+w.Key, map[string]any{"message": 42}, ok)
	var b strings.Builder
	if _, err := e.metrics.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`chatbot_widget_requests_total{outcome="answered"} 1`,
		`chatbot_widget_requests_total{outcome="refused"} 1`,
		`chatbot_widget_requests_total{outcome="invalid"} 1`,
		`chatbot_widget_requests_total{outcome="rate_limited"} 0`,
	} {
		if !strings.Contains(b.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, b.String())
		}
	}
}

// Forget drops a widget's buckets (chat and poll): a visitor at the old
// rate's limit is served again at once, as after a rate change in the
// panel; another widget's buckets stay.
func TestForgetDropsTheWidgetsBuckets(t *testing.T) {
	e := proxiedEnv(t)
	one := createWidget(t, e, []string{"https://site.example"}, 1)
	two := createWidget(t, e, []string{"https://site.example"}, 1)
	for _, w := range []*store.Widget{one, two} {
		if r := e.chatFrom(w, "198.51.100.7", map[string]any{"message": "hi"}); r.status != 200 {
			t.Fatalf("widget %d first message: %d %s", w.ID, r.status, r.raw)
		}
	}
	if r := e.chatFrom(one, "198.51.100.7", map[string]any{"message": "hi"}); r.status != 429 {
		t.Fatalf("over the rate: %d", r.status)
	}
	e.h.Forget(one.ID)
	if r := e.chatFrom(one, "198.51.100.7", map[string]any{"message": "hi"}); r.status != 200 {
		t.Fatalf("after Forget: %d %s", r.status, r.raw)
	}
	if r := e.chatFrom(two, "198.51.100.7", map[string]any{"message": "hi"}); r.status != 429 {
		t.Fatalf("the other widget's bucket was dropped too: %d", r.status)
	}
}
