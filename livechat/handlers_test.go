package livechat

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/secret"
	"github.com/chatbot/chatbot/store"
)

const adminToken = "cba_test_admin_token"

type apiFixture struct {
	*fixture
	srv *httptest.Server
}

func newAPI(t *testing.T, cfg Config) *apiFixture {
	t.Helper()
	f := newFixture(t, cfg)
	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFound()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowed()
	NewHandler(f.m, nil).Routes(r, httpapi.NewAdminAuth(secret.Hash(adminToken)).Require)
	srv := httptest.NewServer(r)
	t.Cleanup(func() {
		f.m.Hub().Close() // end the streams first, as the server does at shutdown
		srv.Close()
	})
	return &apiFixture{fixture: f, srv: srv}
}

type apiResult struct {
	status int
	body   map[string]any
	raw    string
}

func (a *apiFixture) call(t *testing.T, method, path, body string) apiResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	rq, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	rq.Header.Set("Authorization", "Bearer "+adminToken)
	if body != "" {
		rq.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := apiResult{status: resp.StatusCode, raw: string(raw)}
	if err := json.Unmarshal(raw, &res.body); err != nil {
		t.Fatalf("%s %s: not JSON: %s", method, path, raw)
	}
	return res
}

func (r apiResult) want(t *testing.T, status int, errContains string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d: %s", r.status, status, r.raw)
	}
	if errContains != "" {
		if r.body["success"] != false || !strings.Contains(r.body["error"].(string), errContains) {
			t.Fatalf("error = %s, want it to contain %q", r.raw, errContains)
		}
	}
}

func (a *apiFixture) open(t *testing.T, conv string) string {
	t.Helper()
	a.convs.incoming(7, "freshchat", conv, "external_user_123", "how do I get a refund?")
	a.convs.bot(7, "freshchat", conv, "Refunds take 5 days. [docs/billing.md]")
	r := req("talk to a human")
	r.ConversationID = conv
	a.convs.incoming(7, "freshchat", conv, "external_user_123", r.Text)
	reply, ok, err := a.m.Route(context.Background(), r)
	if err != nil || !ok {
		t.Fatalf("open: %+v %v %v", reply, ok, err)
	}
	return reply.SessionID
}

func TestAPIRequiresAdminToken(t *testing.T) {
	a := newAPI(t, Config{})
	for _, path := range []string{"/api/livechat/sessions", "/api/livechat/events", "/api/livechat/sessions/live_x/close"} {
		method := "GET"
		if strings.HasSuffix(path, "/close") {
			method = "POST"
		}
		rq, _ := http.NewRequest(method, a.srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(rq)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without token: %d, want 401", method, path, resp.StatusCode)
		}
	}
}

func TestAPIAcceptSendTransferClose(t *testing.T) {
	a := newAPI(t, Config{})
	id := a.open(t, "conv_456")
	base := "/api/livechat/sessions/" + id

	// A message to a waiting session is refused with a clear error.
	a.call(t, "POST", base+"/messages", `{"message":"hello"}`).want(t, 409, "waiting for an agent; accept it")
	a.call(t, "POST", base+"/transfer", `{"agent":"Bob"}`).want(t, 409, "accept it instead")

	// Accept: the session, with the whole transcript.
	res := a.call(t, "POST", base+"/accept", `{"agent":" Sarah "}`)
	res.want(t, 200, "")
	sess := res.body["session"].(map[string]any)
	if sess["state"] != "active" || sess["agent"] != "Sarah" || sess["accepted_at"] == nil {
		t.Fatalf("session = %v", sess)
	}
	var senders []string
	for _, e := range res.body["transcript"].([]any) {
		m := e.(map[string]any)
		senders = append(senders, m["sender_type"].(string)+":"+m["message"].(string))
	}
	wantTr := []string{"user:how do I get a refund?", "bot:Refunds take 5 days. [docs/billing.md]", "user:talk to a human",
		"system:Connecting you with a human agent. Please wait a moment; an agent will be with you shortly.",
		"agent:Agent Sarah is now connected and will help you from here."}
	if strings.Join(senders, "|") != strings.Join(wantTr, "|") {
		t.Fatalf("transcript = %q\nwant %q", senders, wantTr)
	}
	a.call(t, "POST", base+"/accept", `{"agent":"Bob"}`).want(t, 409, "already accepted by Sarah")

	// Messages: empty, 20 KB, exactly 10 KB, fine.
	a.call(t, "POST", base+"/messages", `{"message":"   "}`).want(t, 400, "message must not be empty")
	a.call(t, "POST", base+"/messages", `{}`).want(t, 400, "message must not be empty")
	a.call(t, "POST", base+"/messages", `{"message":"`+strings.Repeat("x", 20<<10)+`"}`).want(t, 413, "the limit is 10240")
	a.call(t, "POST", base+"/messages", `{"message":"`+strings.Repeat("y", 10<<10)+`"}`).want(t, 201, "")
	res = a.call(t, "POST", base+"/messages", `{"message":"Hi John, I can help with the refund."}`)
	res.want(t, 201, "")
	msg := res.body["message"].(map[string]any)
	if msg["sender"] != "Agent Sarah" || msg["sender_type"] != "agent" || msg["message_type"] != "agent_outgoing" || msg["session_id"] != id {
		t.Fatalf("message = %v", msg)
	}

	out := a.convs.outgoing()
	last := out[len(out)-1]
	if last.Type != store.MessageAgentOutgoing || last.Sender != "Agent Sarah" || last.SenderType != "agent" ||
		last.SessionID != id || last.ConfigID != 7 || last.UserID != "external_user_123" || last.Platform != "freshchat" ||
		last.ConversationID != "conv_456" || last.ResponseType != "live_chat_message" || last.Text != "Hi John, I can help with the refund." {
		t.Fatalf("stored agent message = %+v", last)
	}

	// Transfer to Bob; to Bob again is a conflict.
	res = a.call(t, "POST", base+"/transfer", `{"agent":"Bob"}`)
	res.want(t, 200, "")
	if a := res.body["session"].(map[string]any)["agent"]; a != "Bob" {
		t.Fatalf("agent after transfer = %v", a)
	}
	a.call(t, "POST", base+"/transfer", `{"agent":"Bob"}`).want(t, 409, "already with Bob")
	if got := a.convs.outgoing(); got[len(got)-1].Text != "You are now connected with Agent Bob, who will continue helping you." ||
		got[len(got)-1].Sender != "Agent Bob" {
		t.Fatalf("transfer notice = %+v", got[len(got)-1])
	}
	res = a.call(t, "POST", base+"/messages", `{"message":"Bob here."}`)
	if m := res.body["message"].(map[string]any); m["sender"] != "Agent Bob" {
		t.Fatalf("after transfer sender = %v", m["sender"])
	}

	// Close; twice is a conflict; the platform was told by the system.
	res = a.call(t, "POST", base+"/close", "")
	res.want(t, 200, "")
	sess = res.body["session"].(map[string]any)
	// Three agent messages (the 10 KB one, Sarah's, Bob's), no user messages; notices are not counted.
	if sess["state"] != "closed" || sess["closed_by"] != "agent" || sess["message_count"] != 3.0 ||
		sess["agent_messages"] != 3.0 || sess["user_messages"] != 0.0 || sess["closed_at"] == nil {
		t.Fatalf("closed session = %v", sess)
	}
	a.call(t, "POST", base+"/close", "").want(t, 409, "already closed")
	a.call(t, "POST", base+"/accept", `{"agent":"Sarah"}`).want(t, 409, "is closed")
	a.call(t, "POST", base+"/messages", `{"message":"still there?"}`).want(t, 409, "is closed")
	a.call(t, "POST", base+"/transfer", `{"agent":"Sam"}`).want(t, 409, "is closed")
	got := a.convs.outgoing()
	if l := got[len(got)-1]; l.SenderType != "system" || l.Type != store.MessageOutgoing || l.SessionID != id ||
		l.Text != "The agent has ended the chat. The assistant will answer your next message." {
		t.Fatalf("close notice = %+v", l)
	}
	// The bot answers again.
	if _, ok, _ := a.m.Route(context.Background(), req("and shipping?")); ok {
		t.Fatal("after close the message went to live chat")
	}
}

func TestAPIBadInputs(t *testing.T) {
	a := newAPI(t, Config{})
	id := a.open(t, "conv_bad")
	base := "/api/livechat/sessions/" + id
	tests := []struct {
		name, method, path, body string
		status                   int
		errText                  string
	}{
		{"accept unknown", "POST", "/api/livechat/sessions/live_nope/accept", `{"agent":"Sarah"}`, 404, `no live chat session "live_nope"`},
		{"message unknown", "POST", "/api/livechat/sessions/live_nope/messages", `{"message":"x"}`, 404, "no live chat session"},
		{"close unknown", "POST", "/api/livechat/sessions/live_nope/close", "", 404, "no live chat session"},
		{"transfer unknown", "POST", "/api/livechat/sessions/live_nope/transfer", `{"agent":"Bob"}`, 404, "no live chat session"},
		{"get unknown", "GET", "/api/livechat/sessions/live_nope", "", 404, "no live chat session"},
		{"events unknown", "GET", "/api/livechat/sessions/live_nope/events", "", 404, "no live chat session"},
		{"accept no agent", "POST", base + "/accept", `{}`, 400, "agent is required"},
		{"accept blank agent", "POST", base + "/accept", `{"agent":"  "}`, 400, "agent is required"},
		{"accept long agent", "POST", base + "/accept", `{"agent":"` + strings.Repeat("a", 65) + `"}`, 400, "at most 64"},
		{"accept control char", "POST", base + "/accept", `{"agent":"Sa\u0007rah"}`, 400, "control characters"},
		{"accept unknown field", "POST", base + "/accept", `{"agent":"S","name":"x"}`, 400, `unknown field "name"`},
		{"accept wrong type", "POST", base + "/accept", `{"agent":5}`, 400, `field "agent"`},
		{"accept malformed", "POST", base + "/accept", `{"agent":`, 400, "malformed JSON"},
		{"list bad state", "GET", "/api/livechat/sessions?state=pending", "", 400, "state must be waiting, active, closed or open"},
		{"bad last event id", "GET", "/api/livechat/events?last_event_id=abc", "", 400, "last_event_id must be an event id"},
		{"wrong method", "PUT", base + "/accept", `{"agent":"S"}`, 405, "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a.call(t, tt.method, tt.path, tt.body).want(t, tt.status, tt.errText)
		})
	}
	// The session is still waiting after all that.
	if l, _ := a.st.LiveChat(id); l.State != store.LiveChatWaiting {
		t.Fatalf("state = %s", l.State)
	}
}

func TestAPIAcceptRequiresJSON(t *testing.T) {
	a := newAPI(t, Config{})
	id := a.open(t, "conv_ct")
	rq, _ := http.NewRequest("POST", a.srv.URL+"/api/livechat/sessions/"+id+"/accept", bytes.NewReader([]byte(`{"agent":"S"}`)))
	rq.Header.Set("Authorization", "Bearer "+adminToken)
	rq.Header.Set("Content-Type", "text/plain")
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Fatalf("status = %d, want 415", resp.StatusCode)
	}
}

// TestAPITwoAgentsAcceptAtOnce: exactly one 200, the rest 409, one notice.
func TestAPITwoAgentsAcceptAtOnce(t *testing.T) {
	a := newAPI(t, Config{})
	id := a.open(t, "conv_race")
	agents := []string{"Sarah", "Bob", "Ana", "Li", "Omar", "Ines", "Kai", "Zoe"}
	statuses := make([]int, len(agents))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, name := range agents {
		wg.Go(func() {
			<-start
			rq, _ := http.NewRequest("POST", a.srv.URL+"/api/livechat/sessions/"+id+"/accept", strings.NewReader(`{"agent":"`+name+`"}`))
			rq.Header.Set("Authorization", "Bearer "+adminToken)
			rq.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(rq)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	winner := ""
	for i, s := range statuses {
		switch s {
		case 200:
			if winner != "" {
				t.Fatalf("%s and %s both accepted", winner, agents[i])
			}
			winner = agents[i]
		case 409:
		default:
			t.Fatalf("%s got %d", agents[i], s)
		}
	}
	l, _ := a.st.LiveChat(id)
	if winner == "" || l.Agent != winner {
		t.Fatalf("winner %q, stored agent %q", winner, l.Agent)
	}
	notices := 0
	for _, m := range a.convs.outgoing() {
		if m.SenderType == "agent" {
			notices++
			if m.Text != "Agent "+winner+" is now connected and will help you from here." {
				t.Fatalf("notice = %q", m.Text)
			}
		}
	}
	if notices != 1 {
		t.Fatalf("%d connected notices, want 1", notices)
	}
}

func TestAPIListAndGet(t *testing.T) {
	a := newAPI(t, Config{})
	first := a.open(t, "conv_1")
	a.clock.Add(1)
	second := a.open(t, "conv_2")
	a.call(t, "POST", "/api/livechat/sessions/"+second+"/accept", `{"agent":"Sarah"}`).want(t, 200, "")
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{second, first}},
		{"?state=waiting", []string{first}},
		{"?state=active", []string{second}},
		{"?state=open", []string{second, first}},
		{"?state=closed", []string{}},
	}
	for _, tt := range tests {
		res := a.call(t, "GET", "/api/livechat/sessions"+tt.query, "")
		res.want(t, 200, "")
		got := []string{}
		for _, s := range res.body["sessions"].([]any) {
			got = append(got, s.(map[string]any)["id"].(string))
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") || res.body["total"] != float64(len(tt.want)) {
			t.Errorf("list %q = %v (total %v), want %v", tt.query, got, res.body["total"], tt.want)
		}
	}
	res := a.call(t, "GET", "/api/livechat/sessions/"+first, "")
	res.want(t, 200, "")
	if n := len(res.body["transcript"].([]any)); n != 4 {
		t.Fatalf("transcript has %d entries, want 4: %s", n, res.raw)
	}
}

// TestAPIOutboxFailure: a notice that cannot be queued does not undo or
// fail the agent's accept; an agent message that cannot be queued is a 500
// that shows no internal detail.
func TestAPIOutboxFailure(t *testing.T) {
	a := newAPI(t, Config{})
	id := a.open(t, "conv_fail")
	a.convs.mu.Lock()
	a.convs.fail = errors.New("disk full at /secret/path")
	a.convs.mu.Unlock()
	a.call(t, "POST", "/api/livechat/sessions/"+id+"/accept", `{"agent":"Sarah"}`).want(t, 200, "")
	res := a.call(t, "POST", "/api/livechat/sessions/"+id+"/messages", `{"message":"hello"}`)
	res.want(t, 500, "internal error")
	if strings.Contains(res.raw, "disk full") || strings.Contains(res.raw, "/secret/path") {
		t.Fatalf("internal cause leaked: %s", res.raw)
	}
}
