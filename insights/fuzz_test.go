package insights

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/widget"
)

// FuzzFeedbackBody sends arbitrary bodies to both rating routes: each is
// answered 200, 400, 404 or 413 (never a 5xx, never a panic), and a stored
// rating is always one of the two values with a valid comment.
func FuzzFeedbackBody(f *testing.F) {
	for _, seed := range []string{`{"rating":"helpful"}`, `{"rating":"not_helpful","comment":"no","rater":"x"}`,
		`{"rating":"helpful","conversation_id":"visitor-conv-1","response_id":2}`, `{"rating":1}`, `{"rating":"helpful","rating":"not_helpful"}`,
		`{"comment":"\u0000"}`, `[]`, `{`, ``} {
		f.Add([]byte(seed))
	}
	fx := newFixture(f)
	if err := fx.st.CreateWidget(&store.Widget{Name: "w", Key: "wk-1", AllowedOrigins: []string{"https://shop.example"}, RatePerMinute: 30, IsActive: true}); err != nil {
		f.Fatal(err)
	}
	// One answer in the widget's conversation: the fixture's say is for webhooks.
	answer := fx.widgetAnswer(f)
	r := mux.NewRouter()
	fx.ins.Routes(r, httpapi.NewAdminAuth(secret.Hash(adminToken)).Require)
	// The widget's handler in front, as in the server; its clock moves a
	// minute a request so the rate limit never hides the decoder.
	var minutes atomic.Int64
	start := time.Now()
	widget.New(widget.Options{Store: fx.st, Feedback: fx.ins.WidgetFeedback,
		Now: func() time.Time { return start.Add(time.Duration(minutes.Add(1)) * time.Minute) }}).Routes(r)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/api/messages/" + strconv.FormatUint(answer, 10) + "/feedback", "/api/chat/feedback?key=wk-1"} {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Origin", "https://shop.example")
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			switch w.Code {
			case 200, 400, 404, 413:
			default:
				t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
			}
		}
		fb, err := fx.st.FeedbackOn(answer)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range fb {
			if (x.Rating != store.RatingHelpful && x.Rating != store.RatingNotHelpful) || checkFeedback(&feedbackInput{Rating: x.Rating, Comment: x.Comment, Rater: x.Rater}) != nil {
				t.Fatalf("stored an invalid rating: %+v", x)
			}
		}
	})
}
