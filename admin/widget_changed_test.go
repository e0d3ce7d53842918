package admin

import (
	"slices"
	"testing"
)

// The widget chat API keeps rate buckets per widget; the panel tells it
// (WidgetChanged) after every change or deletion, with the widget's id, so
// a new rate applies from the next request. Creating one needs no call.
func TestWidgetChangesAreReported(t *testing.T) {
	e := newEnv(t, nil)
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	w := createWidget(t, e, []string{"https://a.example"}, 10)
	if r := e.do(nil, "PUT", "/admin/api/widgets/"+itoa(w.ID), map[string]any{"rate_per_minute": 20}, auth); r.status != 200 {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "PUT", "/admin/api/widgets/"+itoa(w.ID), map[string]any{"rate_per_minute": 0}, auth); r.status != 400 {
		t.Fatalf("invalid update: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "DELETE", "/admin/api/widgets/"+itoa(w.ID), nil, auth); r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	e.changeMu.Lock()
	defer e.changeMu.Unlock()
	if want := []uint64{w.ID, w.ID}; !slices.Equal(e.changed, want) {
		t.Fatalf("WidgetChanged calls %v, want %v (update, delete)", e.changed, want)
	}
}
