package platform

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/webhook"
)

// postSample asks the handler for a sample event.
func (hs *harness) postSample(t *testing.T, body string) (int, SampleResponse, map[string]any) {
	t.Helper()
	resp, err := http.Post(hs.srv.URL+strings.TrimSuffix(hs.cfg.EventsPath, "/events")+"/sample", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw map[string]any
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	var s SampleResponse
	json.Unmarshal(buf.Bytes(), &raw)
	json.Unmarshal(buf.Bytes(), &s)
	return resp.StatusCode, s, raw
}

// The sample is signed as Chatwoot signs: posted to the events endpoint,
// it passes the signature check and is answered once in its conversation.
func TestChatwootSampleEventIsSignedAndAnswered(t *testing.T) {
	hs := newHarness(t, nil)
	status, s, _ := hs.postSample(t, `{"conversation_id":"77","text":"Where is my parcel?"}`)
	if status != 200 || !s.Signed || s.EventsPath != hs.cfg.EventsPath || s.ConversationID != "77" || !strings.HasPrefix(s.MessageID, "chatbot-test-") {
		t.Fatalf("sample = %d %+v", status, s)
	}
	h := http.Header{}
	for k, v := range s.Headers {
		h.Set(k, v)
	}
	if res := hs.post(t, []byte(s.Body), h); res.status != 200 || res.body["message_id"] == nil {
		t.Fatalf("event: %d %v", res.status, res.body)
	}
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	if got.Path != messagesPath("77") || got.Body["content"] != "Answer: Where is my parcel?" {
		t.Fatalf("call = %+v", got)
	}
	// A tampered sample is refused: the signature covers the body.
	if res := hs.post(t, bytes.Replace([]byte(s.Body), []byte("parcel"), []byte("parsel"), 1), h); res.status != 401 {
		t.Fatalf("tampered sample: %d %v", res.status, res.body)
	}
}

// A platform with no sample is refused, naming the provider.
func TestSampleOfAProviderWithoutOneIsRefused(t *testing.T) {
	hs := newHarness(t, func(in *webhook.ConfigInput) {
		in.Name, in.Provider, in.Account, in.APIToken, in.BotID = ptr("Zendesk"), ptr("zendesk"), ptr("app_5f2a"), ptr(scKey), ptr("sw_bot")
	})
	status, _, raw := hs.postSample(t, "")
	if status != 400 || !strings.Contains(raw["error"].(string), "no sample event for provider zendesk") {
		t.Fatalf("sample = %d %v", status, raw)
	}
}
