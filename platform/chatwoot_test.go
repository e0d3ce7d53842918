package platform

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

func TestChatwootSignedEventAnsweredOnceThroughTheMessagesAPI(t *testing.T) {
	hs := newHarness(t, nil)
	res := hs.signed(t, fixture(t, "message_created_incoming.json", nil))
	if res.status != 200 || res.body["success"] != true || res.body["message_id"] == nil {
		t.Fatalf("event: %d %v", res.status, res.body)
	}
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	want := apiCall{Method: "POST", Path: messagesPath("58"), Token: testAPIToken, ContentType: "application/json",
		Body: map[string]any{"content": "Answer: How do I reset my password?", "message_type": "outgoing", "private": false}}
	got.At = time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("call = %+v\nwant %+v", got, want)
	}
	if calls := hs.cw.recorded(); len(calls) != 1 {
		t.Fatalf("%d calls, want 1: %+v", len(calls), calls)
	}
	msgs, _, err := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Status != store.StatusSent || msgs[0].Platform != "chatwoot" || msgs[0].ConversationID != "58" {
		t.Fatalf("stored replies = %+v, %v", msgs, err)
	}
	if asked := hs.answerer.asked(); !reflect.DeepEqual(asked, []string{"How do I reset my password?"}) {
		t.Fatalf("engine asked %q", asked)
	}
}

func TestChatwootBadSignatureIs401AndNoAnswer(t *testing.T) {
	body := fixture(t, "message_created_incoming.json", nil)
	other := fixture(t, "message_created_incoming.json", message(4021, "something else"))
	now := time.Now()
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"wrong secret", sign("not-the-secret", now, body)},
		{"signature of another body", sign(testSecret, now, other)},
		{"stale timestamp", sign(testSecret, now.Add(-6*time.Minute), body)},
		{"timestamp from the future", sign(testSecret, now.Add(6*time.Minute), body)},
		{"missing signature", http.Header{}},
		{"timestamp only", http.Header{"X-Chatwoot-Timestamp": {"1796583731"}}},
		{"not sha256=", func() http.Header {
			h := sign(testSecret, now, body)
			h.Set("X-Chatwoot-Signature", strings.TrimPrefix(h.Get("X-Chatwoot-Signature"), "sha256="))
			return h
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs := newHarness(t, nil)
			res := hs.post(t, body, tc.h)
			if res.status != 401 || res.body["success"] != false {
				t.Fatalf("status = %d %v, want 401", res.status, res.body)
			}
			if msg, _ := res.body["error"].(string); !strings.Contains(msg, "chatwoot signature refused") {
				t.Errorf("error = %q", msg)
			}
			hs.close(t)
			if n := len(hs.cw.recorded()); n != 0 {
				t.Errorf("%d calls to Chatwoot, want none", n)
			}
			if _, total, _ := hs.st.ListMessages(store.MessageFilter{}, 0, 1); total != 0 {
				t.Errorf("%d messages stored, want none", total)
			}
			if n := len(hs.answerer.asked()); n != 0 {
				t.Errorf("engine asked %d times", n)
			}
		})
	}
}

func TestChatwootUnsignedEventsOnlyWhenAccepted(t *testing.T) {
	body := fixture(t, "message_created_incoming.json", nil)
	t.Run("no secret, accept_unsigned", func(t *testing.T) {
		hs := newHarness(t, func(in *webhook.ConfigInput) { in.PlatformSecret, in.AcceptUnsigned = nil, ptr(true) })
		if res := hs.post(t, body, nil); res.status != 200 {
			t.Fatalf("unsigned: %d %v", res.status, res.body)
		}
		hs.cw.waitDelivered(t, 1)
	})
	t.Run("secret and accept_unsigned: a wrong signature is still refused", func(t *testing.T) {
		hs := newHarness(t, func(in *webhook.ConfigInput) { in.AcceptUnsigned = ptr(true) })
		if res := hs.post(t, body, sign("wrong", time.Now(), body)); res.status != 401 {
			t.Fatalf("wrong signature: %d %v", res.status, res.body)
		}
		if res := hs.post(t, body, nil); res.status != 200 {
			t.Fatalf("unsigned: %d %v", res.status, res.body)
		}
		hs.cw.waitDelivered(t, 1)
	})
}

func TestChatwootRetriedAndDuplicatedEventsGetNoSecondAnswer(t *testing.T) {
	hs := newHarness(t, nil)
	body := fixture(t, "message_created_incoming.json", nil)
	first := hs.signed(t, body)
	if first.status != 200 || first.body["duplicate"] != nil {
		t.Fatalf("first: %d %v", first.status, first.body)
	}
	// Chatwoot's retry of the same delivery, and the same message emitted
	// again as another event (another timestamp, other unrelated fields).
	again := hs.post(t, body, sign(testSecret, time.Now().Add(-time.Minute), body))
	twice := hs.signed(t, fixture(t, "message_created_incoming.json", func(m map[string]any) { m["created_at"] = "2026-12-06T19:02:12.000Z" }))
	for _, r := range []result{again, twice} {
		if r.status != 200 || r.body["duplicate"] != true || r.body["message_id"] != first.body["message_id"] {
			t.Fatalf("retry: %d %v, want 200 duplicate of %v", r.status, r.body, first.body["message_id"])
		}
	}
	hs.close(t)
	if calls := hs.cw.recorded(); len(calls) != 1 {
		t.Fatalf("%d calls, want 1: %+v", len(calls), calls)
	}
	if n := len(hs.answerer.asked()); n != 1 {
		t.Fatalf("engine asked %d times, want 1", n)
	}
}

func TestChatwootOwnMessageAndPrivateNoteAreIgnored(t *testing.T) {
	hs := newHarness(t, nil)
	for name, reason := range map[string]string{
		"message_created_outgoing_bot.json": "the bot's own message",
		"message_created_private_note.json": "private note",
	} {
		res := hs.signed(t, fixture(t, name, nil))
		if res.status != 200 || res.body["ignored"] != reason {
			t.Fatalf("%s: %d %v, want ignored %q", name, res.status, res.body, reason)
		}
	}
	p, err := hs.st.ConversationPauseState(hs.cfg.ID, "58")
	if err != nil || p.Paused {
		t.Fatalf("state after own message and note = %+v, %v; want not paused", p, err)
	}
	hs.close(t)
	if n := len(hs.cw.recorded()); n != 0 {
		t.Fatalf("%d calls to Chatwoot, want none", n)
	}
	if _, total, _ := hs.st.ListMessages(store.MessageFilter{}, 0, 1); total != 0 {
		t.Fatalf("%d messages stored, want none", total)
	}
}

func TestChatwootHumanTakeoverPausesAndResolveResumes(t *testing.T) {
	for _, tc := range []struct {
		fixture, cause string
	}{
		{"message_created_outgoing_agent.json", store.PauseAgentReply},
		{"message_created_outgoing_null_sender.json", store.PauseAgentReply},
		{"conversation_updated_assigned.json", store.PauseAssigned},
		{"conversation_status_changed_open.json", store.PauseStatusOpen},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			hs := newHarness(t, nil)
			res := hs.signed(t, fixture(t, tc.fixture, nil))
			if res.status != 200 || res.body["paused"] != true || res.body["cause"] != tc.cause {
				t.Fatalf("takeover: %d %v, want paused by %s", res.status, res.body, tc.cause)
			}
			state := hs.get(t, "/api/platforms/1/conversations/58")["conversation"].(map[string]any)
			if state["paused"] != true || state["cause"] != tc.cause {
				t.Fatalf("state API = %v", state)
			}
			// The user's message is stored, not answered.
			if res := hs.signed(t, fixture(t, "message_created_incoming.json", message(5001, "are you there?"))); res.status != 200 {
				t.Fatalf("message while paused: %d %v", res.status, res.body)
			}
			out := hs.waitTurn(t)
			if out.Answer.Type != TypePaused || out.Reply != nil || out.Message.Text != "are you there?" {
				t.Fatalf("turn while paused = %+v", out)
			}
			// Resolved: the bot has the conversation again.
			res = hs.signed(t, fixture(t, "conversation_status_changed_resolved.json", nil))
			if res.status != 200 || res.body["paused"] != false || res.body["cause"] != store.ResumeResolved {
				t.Fatalf("resolve: %d %v", res.status, res.body)
			}
			hs.signed(t, fixture(t, "message_created_incoming.json", message(5002, "one more question")))
			got := hs.cw.waitDelivered(t, 1)[0]
			hs.close(t)
			if got.Body["content"] != "Answer: one more question" {
				t.Fatalf("answer after resume = %v", got.Body)
			}
			if calls := hs.cw.recorded(); len(calls) != 1 {
				t.Fatalf("%d calls, want only the answer after resume: %+v", len(calls), calls)
			}
			if asked := hs.answerer.asked(); !reflect.DeepEqual(asked, []string{"one more question"}) {
				t.Fatalf("engine asked %q, want only the message after resume", asked)
			}
		})
	}
}

// A message that arrives while Chatwoot already says a human owns the
// conversation (status open) is not answered either.
func TestChatwootMessageInAnOpenConversationIsNotAnswered(t *testing.T) {
	hs := newHarness(t, nil)
	hs.signed(t, fixture(t, "message_created_incoming.json", func(m map[string]any) {
		m["conversation"].(map[string]any)["status"] = "open"
	}))
	if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
		t.Fatalf("turn = %+v, want paused", out)
	}
	hs.close(t)
	if n := len(hs.cw.recorded()); n != 0 {
		t.Fatalf("%d calls, want none", n)
	}
}

func TestChatwootHandoffOpensTheConversationNatively(t *testing.T) {
	hs := newHarness(t, func(in *webhook.ConfigInput) { in.HandoffTarget = ptr("12") })
	hs.signed(t, fixture(t, "message_created_incoming.json", message(6001, "I want to talk to a human")))
	calls := hs.cw.waitDelivered(t, 3)
	// The next message waits for the agent.
	hs.signed(t, fixture(t, "message_created_incoming.json", message(6002, "hello?")))
	hs.waitTurn(t)
	if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
		t.Fatalf("turn after hand-off = %+v, want paused", out)
	}
	hs.close(t)
	base := "/api/v1/accounts/7/conversations/58"
	want := []apiCall{
		{Method: "POST", Path: base + "/toggle_status", Token: testAPIToken, ContentType: "application/json", Body: map[string]any{"status": "open"}},
		{Method: "POST", Path: base + "/assignments", Token: testAPIToken, ContentType: "application/json", Body: map[string]any{"team_id": 12.0}},
		{Method: "POST", Path: base + "/messages", Token: testAPIToken, ContentType: "application/json",
			Body: map[string]any{"content": HandoffNotice, "message_type": "outgoing", "private": false}},
	}
	for i := range calls {
		calls[i].At = time.Time{}
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
	if n := len(hs.cw.recorded()); n != 3 {
		t.Fatalf("%d calls, want 3", n)
	}
	if p, _ := hs.st.ConversationPauseState(hs.cfg.ID, "58"); !p.Paused || p.Cause != store.PauseHandoff {
		t.Fatalf("state = %+v, want paused by handoff", p)
	}
	if n := len(hs.answerer.asked()); n != 0 {
		t.Fatalf("engine asked %d times, want none", n)
	}
}

// 429 with Retry-After, a 500 and a dropped connection, then Chatwoot
// recovers: exactly the three answers arrive, in order, and the retry
// after the 429 waited at least its Retry-After.
func TestChatwootDeliveryRetriesInOrderUntilTheAPIRecovers(t *testing.T) {
	hs := newHarness(t, nil)
	hs.cw.fail(reply{status: 429, retryAfter: "1", body: `{"error":"Too many requests"}`},
		reply{status: 500, body: `{"error":"boom"}`}, reply{drop: true})
	texts := []string{"first question", "second question", "third question"}
	for i, text := range texts {
		hs.signed(t, fixture(t, "message_created_incoming.json", message(7001+i, text)))
		hs.waitTurn(t) // answers in arrival order
	}
	delivered := hs.cw.waitDelivered(t, 3)
	hs.close(t)
	for i, c := range delivered {
		if c.Body["content"] != "Answer: "+texts[i] {
			t.Fatalf("delivered %d = %v, want the answer to %q", i, c.Body["content"], texts[i])
		}
	}
	calls := hs.cw.recorded()
	if len(calls) != 6 {
		t.Fatalf("%d calls, want 6 (3 failed attempts + 3 answers): %+v", len(calls), calls)
	}
	for i := 0; i < 4; i++ {
		if calls[i].Body["content"] != "Answer: first question" {
			t.Fatalf("call %d = %v: a later answer overtook the first", i, calls[i].Body["content"])
		}
	}
	if gap := calls[1].At.Sub(calls[0].At); gap < time.Second {
		t.Fatalf("retry after 429 Retry-After: 1 came %v later, want at least 1s", gap)
	}
	msgs, _, err := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("replies = %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Status != store.StatusSent {
			t.Errorf("reply %d status %s (%s)", m.ID, m.Status, m.LastError)
		}
	}
}

func TestChatwootPermanentRefusalFailsAtOnceWithThePlatformsMessage(t *testing.T) {
	for _, status := range []int{401, 403, 404, 422} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			hs := newHarness(t, nil)
			hs.cw.fail(reply{status: status, body: `{"error":"Resource could not be found"}`})
			hs.signed(t, fixture(t, "message_created_incoming.json", nil))
			hs.waitTurn(t)
			hs.close(t)
			msgs, _, err := hs.st.ListMessages(store.MessageFilter{Type: store.MessageOutgoing}, 0, 10)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("replies = %d, %v", len(msgs), err)
			}
			m := msgs[0]
			if m.Status != store.StatusFailed || m.Attempts != 1 || m.LastHTTPStatus != status {
				t.Fatalf("reply status %s after %d attempts (HTTP %d), want failed after 1 with %d", m.Status, m.Attempts, m.LastHTTPStatus, status)
			}
			if !strings.Contains(m.LastError, "Resource could not be found") || strings.Contains(m.LastError, testAPIToken) {
				t.Fatalf("last_error = %q", m.LastError)
			}
			if n := len(hs.cw.recorded()); n != 1 {
				t.Fatalf("%d calls, want 1", n)
			}
		})
	}
}

func TestPlatformEventsEndpointFindsOnlyNativeIntegrations(t *testing.T) {
	hs := newHarness(t, nil)
	// Integration 2 is a generic one: its platform has no events endpoint.
	if _, err := webhook.NewConfigs(hs.st).Create(webhook.ConfigInput{Name: ptr("generic"), Provider: ptr("chatwoot")}); err != nil {
		t.Fatal(err)
	}
	body := fixture(t, "message_created_incoming.json", nil)
	for _, id := range []string{"999", "0", "abc", "2"} {
		hs.cfg.EventsPath = "/api/platforms/" + id + "/events"
		res := hs.signed(t, body)
		want := 404
		if id == "0" || id == "abc" {
			want = 400
		}
		if res.status != want {
			t.Errorf("id %s: %d %v, want %d", id, res.status, res.body, want)
		}
	}
}

func TestPauseAPIListsAndResumes(t *testing.T) {
	hs := newHarness(t, nil)
	hs.signed(t, fixture(t, "message_created_outgoing_agent.json", nil))
	list := hs.get(t, "/api/platforms/1/conversations")["conversations"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["paused"] != true || list[0].(map[string]any)["conversation_id"] != "58" {
		t.Fatalf("list = %v", list)
	}
	resp, err := http.Post(hs.srv.URL+"/api/platforms/1/conversations/58/resume", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("resume: %d", resp.StatusCode)
	}
	if p, _ := hs.st.ConversationPauseState(hs.cfg.ID, "58"); p.Paused || p.Cause != store.ResumeOperator {
		t.Fatalf("after resume = %+v", p)
	}
}

// With an agent's token and no bot_id, the bot's own answer comes back as
// an agent's outgoing message: the id recorded at delivery tells it apart,
// so the bot does not pause itself; a real agent's message still pauses.
func TestChatwootEchoOfThePostedAnswerDoesNotPause(t *testing.T) {
	hs := newHarness(t, func(in *webhook.ConfigInput) { in.BotID = nil })
	hs.signed(t, fixture(t, "message_created_incoming.json", nil))
	hs.cw.waitDelivered(t, 1)
	hs.close(t) // the posted id is recorded when the delivery is
	echo := hs.signed(t, fixture(t, "message_created_outgoing_agent.json", func(m map[string]any) { m["id"] = 9001 }))
	if echo.status != 200 || echo.body["ignored"] != "the bot's own message" {
		t.Fatalf("echo of the answer: %d %v", echo.status, echo.body)
	}
	if p, _ := hs.st.ConversationPauseState(hs.cfg.ID, "58"); p.Paused {
		t.Fatalf("paused by its own echo: %+v", p)
	}
	agent := hs.signed(t, fixture(t, "message_created_outgoing_agent.json", nil))
	if agent.body["paused"] != true {
		t.Fatalf("agent message: %d %v", agent.status, agent.body)
	}
}
