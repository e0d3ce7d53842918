package widget

import (
	"net/http"
	"testing"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// A rating reaches Options.Feedback only with the widget's key, from an
// allowed origin, within the visitor's budget (the polls' ten times the
// chat rate); a refused one never reaches it.
func TestFeedbackIsCheckedLikeTheChat(t *testing.T) {
	var got []uint64
	e := newEnv(t, func(o *Options) {
		o.Feedback = func(w http.ResponseWriter, r *http.Request, wd *store.Widget) {
			got = append(got, wd.ID)
			httpapi.WriteJSON(w, http.StatusCreated, map[string]any{"success": true})
		}
	})
	wd := createWidget(t, e, []string{"https://shop.example"}, 1)
	ok := map[string]string{"Origin": "https://shop.example"}
	body := map[string]any{"conversation_id": "conv-feedback-1", "rating": "helpful"}
	if r := e.do(nil, "POST", "/api/chat/feedback?key=wk_nope", body, ok); r.status != 401 {
		t.Fatalf("unknown key: %d %s", r.status, r.raw)
	}
	if r := e.do(nil, "POST", "/api/chat/feedback?key="+wd.Key, body, map[string]string{"Origin": "https://evil.example"}); r.status != 403 {
		t.Fatalf("other origin: %d %s", r.status, r.raw)
	}
	for i := range 10 {
		if r := e.do(nil, "POST", "/api/chat/feedback?key="+wd.Key, body, ok); r.status != 201 || r.header.Get("Access-Control-Allow-Origin") != "https://shop.example" {
			t.Fatalf("rating %d: %d %s", i+1, r.status, r.raw)
		}
	}
	if r := e.do(nil, "POST", "/api/chat/feedback?key="+wd.Key, body, ok); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("11th rating in a minute at rate 1: %d %s", r.status, r.raw)
	}
	if len(got) != 10 || got[0] != wd.ID {
		t.Fatalf("feedback reached %d times (%v), want 10 for widget %d", len(got), got, wd.ID)
	}
}
