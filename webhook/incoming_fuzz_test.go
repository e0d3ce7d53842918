package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzIncomingBody feeds arbitrary bodies to the incoming handler with a
// valid token and a real store: every answer is a JSON envelope with a
// status below 500, never a panic. The seed corpus is kept in
// testdata/fuzz/FuzzIncomingBody.
func FuzzIncomingBody(f *testing.F) {
	for _, seed := range []string{
		validIncoming, withMessageID("m-1"), `{}`, `[]`, `null`, `{"user_id":1,"message":"x","conversation_id":2}`,
		`{"user_id":{"a":1},"message":"x","conversation_id":"c"}`, `{"user_id":"u","message":"\u0000","conversation_id":"c"}`,
		`{"user_id":"u","message":"x","conversation_id":"c","platform":"zendesk"}`, "{\"user_id\":\"u\xff\"}",
		`{"user_id":"u","message":"x","conversation_id":"c","metadata":[1]}`, `{"user_id":-0,"message":"x","conversation_id":1e3}`,
	} {
		f.Add([]byte(seed))
	}
	h := newInHarness(f, "", IncomingOptions{RatePerMinute: 1 << 30, MaxMessageBytes: 256})
	token := h.addConfig(f, cfgInput("Freshchat", "freshchat", "https://platform.example/hook"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/webhook/incoming", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.in.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q: %s", rec.Code, body, rec.Body)
		}
		var env map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("not JSON (%d): %q", rec.Code, rec.Body)
		}
		if _, ok := env["success"].(bool); !ok {
			t.Fatalf("no success field: %v", env)
		}
	})
}
