package admin

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/widget"
)

func (e *env) scrape() string {
	e.t.Helper()
	r := e.do(nil, "GET", "/metrics", nil, map[string]string{"Authorization": "Bearer " + testToken})
	if r.status != 200 {
		e.t.Fatalf("metrics: %d", r.status)
	}
	return r.raw
}

func samples(raw, family string) []string {
	var out []string
	for _, line := range strings.Split(raw, "\n") {
		if strings.HasPrefix(line, family+"{") {
			out = append(out, line)
		}
	}
	sort.Strings(out)
	return out
}

// Made-up methods and paths add no series: 2,000 distinct methods and
// 1,000 distinct unknown paths leave exactly the series below.
func TestMetricLabelsStayBounded(t *testing.T) {
	e := newEnv(t, nil)
	client := e.srv.Client()
	for i := range 2000 {
		path := "/admin/" // a route, with a method it does not take
		if i%2 == 1 {
			path = fmt.Sprintf("/made-up/%d", i)
		}
		req, err := http.NewRequest(fmt.Sprintf("M%04d", i), e.srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for i := range 1000 {
		e.do(nil, "GET", fmt.Sprintf("/made-up/%d", i), nil, nil)
	}
	raw := e.scrape()
	got := samples(raw, "chatbot_http_requests_total")
	want := []string{
		`chatbot_http_requests_total{method="GET",route="other",code="404"} 1000`,
		`chatbot_http_requests_total{method="OTHER",route="other",code="404"} 1000`,
		`chatbot_http_requests_total{method="OTHER",route="other",code="405"} 1000`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("request series:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(samples(raw, "chatbot_http_request_duration_seconds_count")); n != 1 {
		t.Fatalf("%d latency series, want 1 (route other)", n)
	}
}

// Platforms that are neither known nor configured (integrations since
// deleted) are counted together as "other".
func TestPlatformLabelsCollapseUnknown(t *testing.T) {
	e := newEnv(t, nil)
	if err := e.st.CreateConfig(&store.WebhookConfig{Name: "Slack", Provider: "slack", IncomingTokenHash: "h1", IsActive: true}); err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"freshchat", "slack", "slack", widget.Platform, "gone-1", "gone-2", "gone-2"} {
		m := &store.Message{Platform: p, ConversationID: fmt.Sprintf("c%d", i), UserID: "u", Text: "hi"}
		if _, err := e.st.InsertIncoming(m, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	got := samples(e.scrape(), "chatbot_incoming_messages_24h")
	want := []string{
		`chatbot_incoming_messages_24h{platform="freshchat"} 1`,
		`chatbot_incoming_messages_24h{platform="other"} 3`,
		`chatbot_incoming_messages_24h{platform="slack"} 2`,
		`chatbot_incoming_messages_24h{platform="widget"} 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("platform series:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
