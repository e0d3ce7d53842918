package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// Every writer that queues a delivery wakes the worker through the store's
// commit hook alone: with a poll interval of an hour, the incoming answer,
// the redelivery from the API, the live-chat transfer notice and the
// agent's reply each reach the receiver at once. (The widget queues no
// delivery: its replies are read by the widget, not sent.)
func TestEveryWriterWakesTheWorker(t *testing.T) {
	const adminToken = "admin-token-0123456789abcdef"
	type hit struct {
		message string
		status  int
	}
	hits := make(chan hit, 16)
	// The first answer's two attempts fail (one retry allowed), so it can be
	// redelivered. Requests come one at a time (one worker, each awaited).
	var fails atomic.Int32
	fails.Store(2)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p struct {
			Message string `json:"message"`
		}
		_ = json.Unmarshal(body, &p) // an unparsable body shows as an empty message
		status := http.StatusOK
		if fails.Add(-1) >= 0 {
			status = http.StatusInternalServerError
		}
		w.WriteHeader(status)
		hits <- hit{p.Message, status}
	}))
	defer recv.Close()
	attempts := make(chan webhook.AttemptReport, 16)

	cfg := Config{AdminToken: adminToken, AllowOutgoing: "127.0.0.0/8", Embedder: "builtin"}
	cfg.Answer.LLM = "none"
	cfg.DeliveryWorkers = 1
	cfg.Delivery = webhook.WorkerOptions{
		PollInterval: time.Hour, // a delivery that arrives was woken, not polled
		OnAttempt:    func(r webhook.AttemptReport) { attempts <- r },
	}
	a, _ := startApp(t, cfg)
	base := "http://" + a.Addr()

	next := func(what string) hit {
		t.Helper()
		select {
		case h := <-hits:
			return h
		case <-time.After(30 * time.Second): // generous: the poll interval is an hour
			t.Fatalf("%s: the worker was not woken", what)
			return hit{}
		}
	}
	attempt := func(what string) webhook.AttemptReport {
		t.Helper()
		select {
		case r := <-attempts:
			return r
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no attempt recorded", what)
			return webhook.AttemptReport{}
		}
	}

	status, created := apiJSON(t, "POST", base+"/api/webhook/config", adminToken,
		`{"name":"Shop","provider":"custom","retry_attempts":1,"outgoing_webhook_url":`+strconv.Quote(recv.URL)+`}`)
	if status != 201 {
		t.Fatalf("create config: %d %v", status, created)
	}
	incoming := created["config"].(map[string]any)["incoming_token"].(string)
	say := func(text string) map[string]any {
		t.Helper()
		status, res := apiJSON(t, "POST", base+"/api/webhook/incoming", incoming,
			fmt.Sprintf(`{"user_id":"u1","conversation_id":"c1","message":%q}`, text))
		if status != 200 {
			t.Fatalf("incoming %q: %d %v", text, status, res)
		}
		return res
	}

	// 1. The incoming answer; its retry is woken by its due time.
	res := say("hello")
	answer := res["response"].(map[string]any)["answer"].(string)
	var failed webhook.AttemptReport
	for i := range 2 {
		if h := next("incoming answer"); h.message != answer || h.status != 500 {
			t.Fatalf("incoming answer attempt %d delivered %+v, want %q", i+1, h, answer)
		}
		failed = attempt("incoming answer")
	}
	if failed.Outcome.Status != store.StatusFailed || failed.Outcome.Attempt != 2 {
		t.Fatalf("one retry allowed: outcome %+v, want failed at attempt 2", failed.Outcome)
	}

	// 2. The redelivery from the management API.
	if status, res := apiJSON(t, "POST", fmt.Sprintf("%s/api/webhook/messages/%d/redeliver", base, failed.MessageID), adminToken, ""); status != 202 {
		t.Fatalf("redeliver: %d %v", status, res)
	}
	if h := next("redelivery"); h.message != answer || h.status != 200 {
		t.Fatalf("redelivery delivered %+v, want %q", h, answer)
	}
	attempt("redelivery")

	// 3. Live chat: the transfer notice, then the agent's greeting and reply.
	res = say("I want to talk to a human")
	transfer := res["response"].(map[string]any)["answer"].(string)
	if h := next("transfer notice"); h.message != transfer {
		t.Fatalf("transfer delivered %+v, want %q", h, transfer)
	}
	attempt("transfer notice")
	status, list := apiJSON(t, "GET", base+"/api/livechat/sessions", adminToken, "")
	sessions, _ := list["sessions"].([]any)
	if status != 200 || len(sessions) != 1 {
		t.Fatalf("live chats: %d %v", status, list)
	}
	id := sessions[0].(map[string]any)["id"].(string)
	if status, res := apiJSON(t, "POST", base+"/api/livechat/sessions/"+id+"/accept", adminToken, `{"agent":"Sarah"}`); status != 200 {
		t.Fatalf("accept: %d %v", status, res)
	}
	if h := next("agent greeting"); h.message != "Agent Sarah is now connected and will help you from here." {
		t.Fatalf("agent greeting delivered %+v", h)
	}
	attempt("agent greeting")
	if status, res := apiJSON(t, "POST", base+"/api/livechat/sessions/"+id+"/messages", adminToken, `{"message":"Hi, checking order 123."}`); status != 201 {
		t.Fatalf("agent message: %d %v", status, res)
	}
	if h := next("agent reply"); h.message != "Hi, checking order 123." || h.status != 200 {
		t.Fatalf("agent reply delivered %+v", h)
	}
}
