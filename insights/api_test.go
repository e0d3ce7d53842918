package insights

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func (s *server) get(path string) reply {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return reply{res.StatusCode, string(data)}
}

// week plays a week of conversations: on Monday (start) integration A has
// one resolved, one handed off, one unanswered and one rated not helpful,
// integration B one resolved; on Tuesday A has one still open at the
// reading time (Tuesday 12:00).
func (s *server) week() {
	s.sayAs(s.cfgA, "a1", "ua1", "how do I reset my password?")
	s.sayAs(s.cfgA, "a2", "ua2", "talk to a human please")
	s.sayAs(s.cfgA, "a3", "ua3", "can I pay with paypal?")
	bad := s.sayAs(s.cfgA, "a4", "ua4", "how do I change my email?").ResponseID()
	if got := s.post(feedbackPath(bad), "tok-a", map[string]string{"rating": "not_helpful", "comment": "=it did not help"}); got.status != 200 {
		s.t.Fatalf("rating: %d %s", got.status, got.body)
	}
	s.sayAs(s.cfgB, "b1", "ub1", "how do I reset my password?")
	s.clk.Add(25 * time.Hour) // Tuesday 11:00
	s.sayAs(s.cfgA, "a5", "ua5", "where is my invoice?")
	s.clk.Add(time.Hour)
}

func TestInsightsSummaryByDayWeekAndIntegration(t *testing.T) {
	s := newServer(t)
	s.week()
	got := s.get("/api/insights?from=2026-03-02&to=2026-03-08")
	if got.status != 200 {
		t.Fatalf("%d %s", got.status, got.body)
	}
	var sum Summary
	if err := json.Unmarshal([]byte(got.body), &sum); err != nil {
		t.Fatal(err)
	}
	total, _ := json.Marshal(sum.Total)
	want := `{"period":"total","conversations":6,"resolved_by_bot":2,"open":1,"handed_off":1,"unanswered":1,"not_helpful":1,"turns":6,` +
		`"rated_helpful":0,"rated_not_helpful":1,"resolution_rate":0.3333,"handoff_rate":0.1667,"unanswered_rate":0.1667,"feedback_score":0}`
	if string(total) != want {
		t.Fatalf("total:\n%s\nwant\n%s", total, want)
	}
	if len(sum.Days) != 7 || sum.Days[0].Conversations != 5 || sum.Days[0].Resolved != 2 || sum.Days[1].Open != 1 || sum.Days[6].ResolutionRate != nil {
		t.Fatalf("days: %+v", sum.Days)
	}
	if len(sum.Weeks) != 1 || sum.Weeks[0].Period != "2026-03-02" || sum.Weeks[0].Conversations != 6 {
		t.Fatalf("weeks: %+v", sum.Weeks)
	}

	got = s.get(fmt.Sprintf("/api/insights?from=2026-03-02&to=2026-03-02&integration=%d", s.cfgB))
	if !strings.Contains(got.body, `"total":{"period":"total","conversations":1,"resolved_by_bot":1,"open":0,`) {
		t.Fatalf("integration B: %s", got.body)
	}
	for _, c := range []struct{ query, want string }{
		{"from=yesterday", `{"success":false,"error":"query parameter \"from\": must be a date as YYYY-MM-DD","field":"from"}`},
		{"from=2026-03-09&to=2026-03-02", `{"success":false,"error":"query parameter \"from\": must not be after to","field":"from"}`},
		{"integration=0", `{"success":false,"error":"query parameter \"integration\": must be an integration id (a positive integer)","field":"integration"}`},
	} {
		if got := s.get("/api/insights?" + c.query); got.status != 400 || got.body != c.want+"\n" {
			t.Errorf("%s: %d %s, want 400 %s", c.query, got.status, got.body, c.want)
		}
	}
}

func TestInsightsConversationsCSVAndList(t *testing.T) {
	s := newServer(t)
	s.week()
	got := s.get("/api/insights/conversations.csv?from=2026-03-02&to=2026-03-03")
	want := "integration_id,widget_id,platform,conversation_id,episode,day,started_at,last_at,turns,outcome\n" +
		"1,0,chatwoot,a1,1,2026-03-02,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,1,resolved_by_bot\n" +
		"1,0,chatwoot,a2,1,2026-03-02,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,1,handed_off\n" +
		"1,0,chatwoot,a3,1,2026-03-02,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,1,unanswered\n" +
		"1,0,chatwoot,a4,1,2026-03-02,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,1,not_helpful\n" +
		"1,0,chatwoot,a5,1,2026-03-03,2026-03-03T11:00:00Z,2026-03-03T11:00:00Z,1,open\n" +
		"2,0,chatwoot,b1,1,2026-03-02,2026-03-02T10:00:00Z,2026-03-02T10:00:00Z,1,resolved_by_bot\n"
	if got.status != 200 || got.body != want {
		t.Fatalf("conversations.csv: %d\n%s\nwant\n%s", got.status, got.body, want)
	}
	got = s.get("/api/insights/conversations?from=2026-03-02&to=2026-03-03&outcome=handed_off")
	if got.status != 200 || !strings.Contains(got.body, `"conversation_id":"a2"`) || strings.Count(got.body, `"conversation_id"`) != 1 {
		t.Fatalf("handed off conversations: %d %s", got.status, got.body)
	}
}

func TestInsightsGapsAndWorstAnswers(t *testing.T) {
	s := newServer(t)
	s.sayAs(s.cfgA, "a1", "u1", "can I pay with paypal?")
	s.clk.Add(time.Minute)
	s.sayAs(s.cfgA, "a2", "u2", "Do you accept PayPal payments? paypal")
	s.clk.Add(time.Minute)
	s.sayAs(s.cfgA, "a3", "u3", "=cmd|' /C calc'!A0 weak opening hours")
	s.clk.Add(time.Minute)
	bad := s.sayAs(s.cfgA, "a4", "u4", "how do I change my email?").ResponseID()
	s.post(feedbackPath(bad), "tok-a", map[string]string{"rating": "not_helpful", "comment": "wrong page"})
	s.post(feedbackPath(bad), adminToken, map[string]string{"rating": "not_helpful"})

	got := s.get("/api/insights/gaps.csv")
	// A question that starts like a formula is quoted for spreadsheets.
	want := "count,representative,last_seen,no_answer,low_confidence,not_helpful,examples\n" +
		"2,Do you accept PayPal payments? paypal,2026-03-02T10:01:00Z,2,0,0,can I pay with paypal?\n" +
		"1,how do I change my email?,2026-03-02T10:03:00Z,0,0,1,\n" +
		"1,'=cmd|' /C calc'!A0 weak opening hours,2026-03-02T10:02:00Z,0,1,0,\n"
	if got.status != 200 || got.body != want {
		t.Fatalf("gaps.csv: %d\n%s\nwant\n%s", got.status, got.body, want)
	}
	got = s.get("/api/insights/answers?from=2026-03-02&to=2026-03-02")
	want = fmt.Sprintf(`{"answers":[{"message_id":%d,"question":"how do I change my email?","response_type":"extractive","sources":[{"title":"Guide","source":"guide.md","score":0.9}],"config_id":1,"conversation_id":"a4","helpful":0,"not_helpful":2,"comments":["wrong page"],"last_rated_at":"2026-03-02T10:03:00Z"}],"success":true}`, bad)
	if got.status != 200 || got.body != want+"\n" {
		t.Fatalf("answers: %d\n%s\nwant\n%s", got.status, got.body, want)
	}
}

// promLines collects what Collect writes, one line per sample.
type promLines struct{ lines []string }

func (p *promLines) Family(name, typ, help string) {}
func (p *promLines) Sample(name string, v float64, labels ...string) {
	p.lines = append(p.lines, fmt.Sprintf("%s %v %v", name, labels, v))
}

func TestInsightsMetrics(t *testing.T) {
	s := newServer(t)
	s.week()
	var p promLines
	s.ins.Collect(&p)
	want := []string{
		"chatbot_turn_outcomes_total [kind answered] 4",
		"chatbot_turn_outcomes_total [kind no_answer] 1",
		"chatbot_turn_outcomes_total [kind handoff] 1",
		"chatbot_outcome_record_failures_total [] 0",
		"chatbot_feedback_total [rating helpful] 0",
		"chatbot_feedback_total [rating not_helpful] 1",
		"chatbot_conversations_7d [outcome resolved_by_bot] 2",
		"chatbot_conversations_7d [outcome open] 1",
		"chatbot_conversations_7d [outcome handed_off] 1",
		"chatbot_conversations_7d [outcome unanswered] 1",
		"chatbot_conversations_7d [outcome not_helpful] 1",
		"chatbot_ratings_7d [rating helpful] 0",
		"chatbot_ratings_7d [rating not_helpful] 1",
	}
	if strings.Join(p.lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("metrics:\n%s\nwant\n%s", strings.Join(p.lines, "\n"), strings.Join(want, "\n"))
	}
}
