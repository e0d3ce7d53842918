package webhook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
)

// The delivered payload carries the answer's sources and the platform's
// own id of the message it answers, so a receiver can show the links and
// thread the reply (issue 14: both were missing).
func TestPayloadCarriesSourcesAndPlatformMessageID(t *testing.T) {
	rc := newReceiver(t, status(http.StatusOK))
	h := newHarness(t, rc.srv.URL+"/hook", harnessOptions{})
	h.start()

	in := &store.Message{Type: store.MessageIncoming, ConfigID: h.cfg.ID, Platform: "freshchat",
		ConversationID: "conv_1", UserID: "u1", Text: "How do I reset my password?", PlatformMessageID: "fc_msg_789"}
	res, err := h.st.InsertIncoming(in, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	in = res.Message
	out := &store.Message{Type: store.MessageOutgoing, ConfigID: h.cfg.ID, Platform: "freshchat",
		ConversationID: "conv_1", UserID: "u1", Text: "Use Settings > Security.", ResponseType: "rag_knowledge_base",
		Sources: []store.MessageSource{{Title: "Account help", Source: "https://example.com/help", Score: 0.75}}}
	if err := h.st.InsertReply(in.ID, out, true); err != nil {
		t.Fatal(err)
	}
	h.worker.Notify()
	if r := h.waitFinal(out.ID); r[len(r)-1].Outcome.Status != store.StatusSent {
		t.Fatalf("attempts = %+v, want sent", r)
	}
	// An agent's reply answers no user message: empty sources, no id.
	var agent store.DeliveryJob
	agent, err = h.st.AddOutgoingForDelivery(&store.Message{Type: store.MessageAgentOutgoing, ConfigID: h.cfg.ID,
		Platform: "freshchat", ConversationID: "conv_1", UserID: "u1", Text: "Hi, Sam here."})
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Notify()
	h.waitFinal(agent.MessageID)

	got := rc.requests()
	if len(got) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(got))
	}
	var first, second map[string]any
	if err := json.Unmarshal(got[0].body, &first); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got[1].body, &second); err != nil {
		t.Fatal(err)
	}
	if g, w := mustJSON(first["sources"]), `[{"score":0.75,"source":"https://example.com/help","title":"Account help"}]`; g != w {
		t.Errorf("sources = %s, want %s", g, w)
	}
	if first["platform_message_id"] != "fc_msg_789" {
		t.Errorf("platform_message_id = %v, want fc_msg_789", first["platform_message_id"])
	}
	if g := mustJSON(second["sources"]); g != `[]` {
		t.Errorf("agent reply sources = %s, want []", g)
	}
	if _, ok := second["platform_message_id"]; ok {
		t.Errorf("agent reply has platform_message_id %v, want none", second["platform_message_id"])
	}
}
