package platform

import (
	"reflect"
	"testing"
	"time"
)

func newTypingHarness(t *testing.T) *harness {
	return newHarnessWith(t, nil, func(o *Options, sender Caller) { o.Call = sender })
}

// Chatwoot shows the bot typing before the answer: toggle_typing_status
// with typing_status on, then the reply.
func TestChatwootTypingIndicatorBeforeTheAnswer(t *testing.T) {
	hs := newTypingHarness(t)
	hs.signed(t, fixture(t, "message_created_incoming.json", nil))
	calls := hs.cw.waitDelivered(t, 2)
	hs.close(t)
	for i := range calls {
		calls[i].At = time.Time{}
	}
	want := []apiCall{
		{Method: "POST", Path: "/api/v1/accounts/7/conversations/58/toggle_typing_status", Token: testAPIToken,
			ContentType: "application/json", Body: map[string]any{"typing_status": "on"}},
		{Method: "POST", Path: messagesPath("58"), Token: testAPIToken, ContentType: "application/json",
			Body: map[string]any{"content": "Answer: How do I reset my password?", "message_type": "outgoing", "private": false}},
	}
	if !reflect.DeepEqual(calls, want) {
		t.Fatalf("calls = %+v\nwant %+v", calls, want)
	}
	if n := len(hs.cw.recorded()); n != 2 {
		t.Fatalf("%d calls, want 2", n)
	}
}

// A failed typing indicator is logged; the answer goes out all the same.
func TestChatwootTypingIndicatorFailureDoesNotFailTheAnswer(t *testing.T) {
	hs := newTypingHarness(t)
	hs.cw.fail(reply{status: 500, body: `{"error":"boom"}`})
	hs.signed(t, fixture(t, "message_created_incoming.json", nil))
	got := hs.cw.waitDelivered(t, 1)[0]
	hs.close(t)
	calls := hs.cw.recorded()
	if len(calls) != 2 || calls[0].Path != "/api/v1/accounts/7/conversations/58/toggle_typing_status" {
		t.Fatalf("calls = %+v, want the failed typing indicator then the answer", calls)
	}
	if got.Path != messagesPath("58") || got.Body["content"] != "Answer: How do I reset my password?" {
		t.Fatalf("answer call = %+v", got)
	}
}

// No typing indicator in a conversation a human owns: the bot stays quiet.
func TestChatwootNoTypingIndicatorWhilePaused(t *testing.T) {
	hs := newTypingHarness(t)
	if res := hs.signed(t, fixture(t, "message_created_outgoing_agent.json", nil)); res.body["paused"] != true {
		t.Fatalf("agent reply: %v", res.body)
	}
	hs.signed(t, fixture(t, "message_created_incoming.json", nil))
	if out := hs.waitTurn(t); out.Answer.Type != TypePaused {
		t.Fatalf("turn = %+v, want paused", out.Answer)
	}
	hs.close(t)
	if calls := hs.cw.recorded(); len(calls) != 0 {
		t.Fatalf("calls = %+v, want none", calls)
	}
}
