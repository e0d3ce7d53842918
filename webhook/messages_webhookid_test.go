package webhook

import (
	"strings"
	"testing"
)

// Each listed message shows the webhook-id its deliveries carried, the id
// an operator looks up in the receiver's log; a message never queued for
// delivery (incoming, or no outgoing URL) shows none.
func TestListMessagesShowsWebhookID(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	fresh := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	zen := h.addConfig(t, cfgInput("Zendesk", "zendesk", ""))
	if res := h.post(t, fresh, validIncoming); res.status != 200 {
		t.Fatal(res.body)
	}
	if res := h.post(t, zen, strings.Replace(validIncoming, "freshchat", "zendesk", 1)); res.status != 200 {
		t.Fatal(res.body)
	}
	job, err := h.st.DeliveryJobFor(2) // freshchat's answer, queued
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(job.WebhookID, "msg_") {
		t.Fatalf("job webhook id = %q", job.WebhookID)
	}
	want := map[string]any{"1": nil, "2": job.WebhookID, "3": nil, "4": nil}
	res := h.get(t, "/api/webhook/messages", testAdminToken)
	msgs := res.body["messages"].([]any)
	if len(msgs) != 4 {
		t.Fatalf("%d messages, want 4: %v", len(msgs), res.body)
	}
	for _, m := range msgs {
		m := m.(map[string]any)
		id := mustJSON(m["id"])
		if got := m["webhook_id"]; got != want[id] {
			t.Errorf("message %s webhook_id = %v, want %v", id, got, want[id])
		}
		if m["message"] == nil || m["message_type"] == nil {
			t.Errorf("message %s lost its fields: %v", id, m)
		}
	}
}
