package insights

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/conversation"
	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/widget"
)

const adminToken = "cba_admin-token-for-the-feedback-tests"

// server serves the insights routes of f over loopback, with two
// integrations (tokens "tok-a" and "tok-b") and a widget (key "wk-1",
// origin https://shop.example).
type server struct {
	*fixture
	srv         *httptest.Server
	cfgA, cfgB  uint64
	widget      uint64
	otherWidget uint64
}

func newServer(t *testing.T) *server {
	t.Helper()
	f := newFixture(t)
	s := &server{fixture: f}
	for i, tok := range []string{"tok-a", "tok-b"} {
		c := &store.WebhookConfig{Name: "integration " + tok, Provider: "chatwoot", IsActive: true, IncomingTokenHash: secret.Hash(tok)}
		if err := f.st.CreateConfig(c); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s.cfgA = c.ID
		} else {
			s.cfgB = c.ID
		}
	}
	for i, key := range []string{"wk-1", "wk-2"} {
		wd := &store.Widget{Name: key, Key: key, AllowedOrigins: []string{"https://shop.example"}, RatePerMinute: 30, IsActive: true}
		if err := f.st.CreateWidget(wd); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s.widget = wd.ID
		} else {
			s.otherWidget = wd.ID
		}
	}
	r := mux.NewRouter()
	f.ins.Routes(r, httpapi.NewAdminAuth(secret.Hash(adminToken)).Require)
	// The widget's handler checks key, origin and rate, as in the server.
	widget.New(widget.Options{Store: f.st, Feedback: f.ins.WidgetFeedback}).Routes(r)
	s.srv = httptest.NewServer(r)
	t.Cleanup(s.srv.Close)
	return s
}

type reply struct {
	status int
	body   string
}

func (s *server) post(path, token string, body any, header ...string) reply {
	s.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(data)}
}

func feedbackPath(id uint64) string {
	return "/api/messages/" + strconv.FormatUint(id, 10) + "/feedback"
}

func TestFeedbackFromAPlatformUserReplacesTheirEarlierRating(t *testing.T) {
	s := newServer(t)
	out := s.sayAs(s.cfgA, "conv-1", "user-7", "how do I reset my password?")
	id := out.ResponseID()
	got := s.post(feedbackPath(id), "tok-a", map[string]string{"rating": "not_helpful", "comment": "  too vague  "})
	want := `{"success":true,"message_id":` + strconv.FormatUint(id, 10) + `,"rating":"not_helpful","comment":"too vague","rater":"user-7","rater_kind":"user","replaced":false}` + "\n"
	if got.status != 200 || got.body != want {
		t.Fatalf("first rating: %d %s, want 200 %s", got.status, got.body, want)
	}
	got = s.post(feedbackPath(id), "tok-a", map[string]string{"rating": "helpful"})
	if got.status != 200 || !bytes.Contains([]byte(got.body), []byte(`"rating":"helpful"`)) || !bytes.Contains([]byte(got.body), []byte(`"replaced":true`)) {
		t.Fatalf("second rating: %d %s, want 200, helpful, replaced", got.status, got.body)
	}
	fb, err := s.st.FeedbackOn(id)
	if err != nil || len(fb) != 1 {
		t.Fatalf("stored ratings: %+v, %v; want one", fb, err)
	}
	f := fb[0]
	if f.Rating != store.RatingHelpful || f.Rater != "user-7" || f.RaterKind != store.RaterUser || f.ResponseType != "extractive" ||
		len(f.Sources) != 1 || f.Sources[0].Source != "guide.md" || f.Question != "how do I reset my password?" ||
		f.QuestionID != out.Message.ID || f.ConfigID != s.cfgA || f.ConversationID != "conv-1" {
		t.Fatalf("stored rating: %+v", f)
	}
}

func TestFeedbackWithAnotherIntegrationsTokenIsNotFound(t *testing.T) {
	s := newServer(t)
	id := s.sayAs(s.cfgA, "conv-1", "user-7", "how do I reset my password?").ResponseID()
	got := s.post(feedbackPath(id), "tok-b", map[string]string{"rating": "not_helpful"})
	want := `{"success":false,"error":"no answer of the bot with id ` + strconv.FormatUint(id, 10) + ` in this integration"}` + "\n"
	if got.status != 404 || got.body != want {
		t.Fatalf("another integration's token: %d %s, want 404 %s", got.status, got.body, want)
	}
	if fb, _ := s.st.FeedbackOn(id); len(fb) != 0 {
		t.Fatalf("a refused rating was stored: %+v", fb)
	}
	// A question (not an answer) is not found either.
	got = s.post(feedbackPath(id-1), "tok-a", map[string]string{"rating": "helpful"})
	if got.status != 404 {
		t.Fatalf("rating the question: %d %s, want 404", got.status, got.body)
	}
}

func TestFeedbackFromAnAgentAndRefusals(t *testing.T) {
	s := newServer(t)
	id := s.sayAs(s.cfgA, "conv-1", "user-7", "how do I reset my password?").ResponseID()
	got := s.post(feedbackPath(id), adminToken, map[string]string{"rating": "not_helpful", "rater": "alice"})
	if got.status != 200 || !bytes.Contains([]byte(got.body), []byte(`"rater":"alice","rater_kind":"agent","replaced":false`)) {
		t.Fatalf("agent rating: %d %s", got.status, got.body)
	}
	cases := []struct {
		name, token string
		body        any
		status      int
		want        string
	}{
		{"no token", "", map[string]string{"rating": "helpful"}, 401, `{"success":false,"error":"missing Authorization header; send Authorization: Bearer \u003ctoken\u003e"}`},
		{"bad rating", "tok-a", map[string]string{"rating": "great"}, 400, `{"success":false,"error":"rating must be \"helpful\" or \"not_helpful\", not \"great\"","field":"rating"}`},
		{"no rating", adminToken, map[string]string{}, 400, `{"success":false,"error":"rating is required: \"helpful\" or \"not_helpful\"","field":"rating"}`},
		{"control characters", "tok-a", map[string]string{"rating": "helpful", "comment": "a\x00b"}, 400, `{"success":false,"error":"comment must be UTF-8 text without control characters other than line breaks and tabs","field":"comment"}`},
	}
	for _, c := range cases {
		got := s.post(feedbackPath(id), c.token, c.body)
		if got.status != c.status || got.body != c.want+"\n" {
			t.Errorf("%s: %d %s, want %d %s", c.name, got.status, got.body, c.status, c.want)
		}
	}
	if fb, _ := s.st.FeedbackOn(id); len(fb) != 1 || fb[0].Rater != "alice" {
		t.Fatalf("stored ratings: %+v, want alice's only", fb)
	}
}

func (s *server) widgetSay(widgetID uint64, conv, text string) conversation.Outcome {
	s.t.Helper()
	out, err := s.turns.Handle(context.Background(), conversation.Inbound{Channel: conversation.Widget, WidgetID: widgetID,
		Platform: store.WidgetPlatform, ConversationID: conv, UserID: "visitor_" + conv, Text: text, Mode: store.ResponseSync})
	if err != nil {
		s.t.Fatal(err)
	}
	return out
}

func TestWidgetFeedbackOnlyForItsOwnConversation(t *testing.T) {
	s := newServer(t)
	first := s.widgetSay(s.widget, "visitor-conv-1", "how do I reset my password?").ResponseID()
	latest := s.widgetSay(s.widget, "visitor-conv-1", "and my email?").ResponseID()
	other := s.widgetSay(s.otherWidget, "visitor-conv-1", "how do I reset my password?").ResponseID()
	origin := []string{"Origin", "https://shop.example"}

	got := s.post("/api/chat/feedback?key=wk-1", "", map[string]any{"conversation_id": "visitor-conv-1", "response_id": first, "rating": "helpful"}, origin...)
	if got.status != 200 || !bytes.Contains([]byte(got.body), []byte(`"message_id":`+strconv.FormatUint(first, 10)+`,"rating":"helpful","rater":"visitor_visitor-conv-1","rater_kind":"visitor"`)) {
		t.Fatalf("own answer: %d %s", got.status, got.body)
	}
	got = s.post("/api/chat/feedback?key=wk-1", "", map[string]any{"conversation_id": "visitor-conv-1", "rating": "not_helpful"}, origin...)
	if got.status != 200 || !bytes.Contains([]byte(got.body), []byte(`"message_id":`+strconv.FormatUint(latest, 10))) {
		t.Fatalf("without response_id, the latest answer: %d %s", got.status, got.body)
	}
	// The same conversation id on another widget is another conversation.
	got = s.post("/api/chat/feedback?key=wk-1", "", map[string]any{"conversation_id": "visitor-conv-1", "response_id": other, "rating": "not_helpful"}, origin...)
	if got.status != 404 {
		t.Fatalf("another widget's answer: %d %s, want 404", got.status, got.body)
	}
	got = s.post("/api/chat/feedback?key=wk-1", "", map[string]any{"conversation_id": "visitor-conv-2", "response_id": first, "rating": "not_helpful"}, origin...)
	if got.status != 404 {
		t.Fatalf("another conversation's answer: %d %s, want 404", got.status, got.body)
	}
	got = s.post("/api/chat/feedback?key=wk-1", "", map[string]any{"conversation_id": "visitor-conv-1", "rating": "helpful"}, "Origin", "https://evil.example")
	if got.status != 403 || got.body != `{"success":false,"error":"origin \"https://evil.example\" is not allowed for this widget"}`+"\n" {
		t.Fatalf("wrong origin: %d %s", got.status, got.body)
	}
	if fb, _ := s.st.FeedbackOn(other); len(fb) != 0 {
		t.Fatalf("the other widget's answer got a rating: %+v", fb)
	}
}
