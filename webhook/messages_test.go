package webhook

import (
	"fmt"
	"strings"
	"testing"
)

func TestListMessagesAPI(t *testing.T) {
	h := newInHarness(t, "", IncomingOptions{})
	fresh := h.addConfig(t, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	zen := h.addConfig(t, cfgInput("Zendesk", "zendesk", ""))
	for i := range 3 {
		body := strings.Replace(validIncoming, "conv_456", fmt.Sprintf("conv_%d", i), 1)
		if res := h.post(t, fresh, body); res.status != 200 {
			t.Fatal(res.body)
		}
	}
	if res := h.post(t, zen, strings.Replace(validIncoming, "freshchat", "zendesk", 1)); res.status != 200 {
		t.Fatal(res.body)
	}
	ids := func(res inResult) string {
		var out []string
		for _, m := range res.body["messages"].([]any) {
			out = append(out, fmt.Sprint(m.(map[string]any)["id"]))
		}
		return strings.Join(out, ",")
	}
	cases := []struct {
		query         string
		ids           string
		page, perPage float64
		total         float64
	}{
		{"", "8,7,6,5,4,3,2,1", 1, 20, 8},
		{"?per_page=3&page=2", "5,4,3", 2, 3, 8},
		{"?page=9", "", 9, 20, 8},
		{"?platform=zendesk", "8,7", 1, 20, 2},
		{"?message_type=incoming", "7,5,3,1", 1, 20, 4},
		{"?status=pending", "6,4,2", 1, 20, 3},
		{"?status=sent&message_type=outgoing", "8", 1, 20, 1},
		{"?conversation_id=conv_1", "4,3", 1, 20, 2},
		{"?platform=freshchat&status=received&conversation_id=conv_2", "5", 1, 20, 1},
	}
	for _, c := range cases {
		res := h.get(t, "/api/webhook/messages"+c.query, testAdminToken)
		if res.status != 200 || res.body["success"] != true || ids(res) != c.ids || res.body["page"] != c.page ||
			res.body["per_page"] != c.perPage || res.body["total"] != c.total {
			t.Errorf("%s: %d ids %s page %v per_page %v total %v; want ids %s total %v", c.query, res.status, ids(res),
				res.body["page"], res.body["per_page"], res.body["total"], c.ids, c.total)
		}
	}
	first := h.get(t, "/api/webhook/messages?per_page=1", testAdminToken).body["messages"].([]any)[0].(map[string]any)
	for k, v := range map[string]any{"message_type": "outgoing", "status": "sent", "platform": "zendesk", "reply_to": 7.0,
		"conversation_id": "conv_456", "user_id": "external_user_123", "response_type": "rag_knowledge_base", "sender_type": "bot"} {
		if first[k] != v {
			t.Errorf("newest message %s = %v, want %v", k, first[k], v)
		}
	}

	bad := []struct{ query, field, msg string }{
		{"?page=0", "page", "from 1"},
		{"?page=-1", "page", "from 1"},
		{"?page=abc", "page", "whole number"},
		{"?per_page=1000", "per_page", "from 1 to 100"},
		{"?per_page=0", "per_page", "from 1 to 100"},
		{"?status=bogus", "status", "pending, sent, failed, received"},
		{"?message_type=email", "message_type", "incoming, outgoing, agent_outgoing"},
		{"?page=1&page=2", "page", "at most once"},
		{"?conversation_id=" + strings.Repeat("c", 300), "conversation_id", "at most 256"},
	}
	for _, c := range bad {
		res := h.get(t, "/api/webhook/messages"+c.query, testAdminToken)
		if res.status != 400 || res.body["field"] != c.field || !strings.Contains(res.body["error"].(string), c.msg) {
			t.Errorf("%s: %d %v", c.query, res.status, res.body)
		}
	}
	if res := h.get(t, "/api/webhook/messages", ""); res.status != 401 {
		t.Errorf("no admin token: %d", res.status)
	}
	if res := h.get(t, "/api/webhook/messages", fresh); res.status != 401 {
		t.Errorf("incoming token used as admin token: %d", res.status)
	}
}
