package livechat

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

func req(text string) chat.Request {
	return chat.Request{ConfigID: 7, Platform: "freshchat", ConversationID: "conv_456", UserID: "external_user_123", Username: "John Doe", Text: text}
}

// ask stores the incoming message like the webhook does, then routes it.
func (f *fixture) ask(t *testing.T, r chat.Request) (chat.Reply, bool) {
	t.Helper()
	f.convs.incoming(r.ConfigID, r.Platform, r.ConversationID, r.UserID, r.Text)
	reply, ok, err := f.m.Route(context.Background(), r)
	if err != nil {
		t.Fatalf("Route(%q): %v", r.Text, err)
	}
	return reply, ok
}

func TestRouteOpensSessionAndRoutesToAgent(t *testing.T) {
	f := newFixture(t, Config{})
	sub, _, _, _, _ := f.m.Hub().Subscribe("", 0)

	if _, ok := f.ask(t, req("how do I reset my password?")); ok {
		t.Fatal("a normal question was handled by live chat")
	}
	if _, ok := f.ask(t, req("I do not want to talk to an agent, just tell me")); ok {
		t.Fatal("the negated phrase opened a session")
	}

	reply, ok := f.ask(t, req("Can I talk to a human please?"))
	if !ok || reply.Type != chat.TypeLiveChatTransfer || !strings.HasPrefix(reply.SessionID, "live_") {
		t.Fatalf("transfer reply = %+v, %v", reply, ok)
	}
	if reply.Answer != "Connecting you with a human agent. Please wait a moment; an agent will be with you shortly." {
		t.Fatalf("answer = %q", reply.Answer)
	}
	l, err := f.st.LiveChat(reply.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if l.State != store.LiveChatWaiting || l.ConfigID != 7 || l.Platform != "freshchat" || l.ConversationID != "conv_456" ||
		l.UserID != "external_user_123" || l.Username != "John Doe" || l.MessageCount != 0 {
		t.Fatalf("session = %+v", l)
	}
	out := f.convs.outgoing()
	if len(out) != 1 {
		t.Fatalf("outgoing = %+v, want the one system notice", out)
	}
	want := store.Message{ID: out[0].ID, Type: store.MessageOutgoing, Status: store.StatusPending, ConfigID: 7, Platform: "freshchat",
		ConversationID: "conv_456", UserID: "external_user_123", Username: "John Doe", Text: reply.Answer,
		ResponseType: "live_chat_transfer", SessionID: reply.SessionID, Sender: "Assistant", SenderType: "system",
		CreatedAt: out[0].CreatedAt, UpdatedAt: out[0].UpdatedAt}
	if !reflect.DeepEqual(out[0], want) {
		t.Fatalf("notice = %+v\nwant     %+v", out[0], want)
	}

	// Two messages, one of them a handoff phrase again: both to the agent, no new session.
	for i, text := range []string{"my order 123 is late", "talk to agent"} {
		reply, ok := f.ask(t, req(text))
		if !ok || reply.Type != chat.TypeLiveChatMessage || reply.Answer != "" || reply.SessionID != l.ID {
			t.Fatalf("message %d: reply = %+v, %v", i, reply, ok)
		}
	}
	if len(f.convs.outgoing()) != 1 {
		t.Fatalf("routing to the agent queued a delivery: %+v", f.convs.outgoing())
	}
	l, _ = f.st.LiveChat(l.ID)
	if l.MessageCount != 2 || l.UserMessages != 2 {
		t.Fatalf("counts = %d/%d, want 2/2", l.MessageCount, l.UserMessages)
	}
	list, _ := f.st.LiveChats("")
	if len(list) != 1 {
		t.Fatalf("%d sessions, want 1", len(list))
	}

	var got []string
	for range 3 {
		ev := <-sub.Events()
		got = append(got, ev.Type+":"+ev.Message.SenderType+":"+ev.Message.Text)
	}
	wantEv := []string{"session_opened:user:Can I talk to a human please?", "user_message:user:my order 123 is late", "user_message:user:talk to agent"}
	if strings.Join(got, "|") != strings.Join(wantEv, "|") {
		t.Fatalf("events = %q\nwant %q", got, wantEv)
	}
}

func TestRouteHandoffFlagAndNoConversation(t *testing.T) {
	f := newFixture(t, Config{})
	r := req("hello")
	r.Handoff = true
	reply, ok := f.ask(t, r)
	if !ok || reply.Type != chat.TypeLiveChatTransfer {
		t.Fatalf("handoff flag: %+v, %v", reply, ok)
	}
	r.ConversationID = ""
	if _, ok, err := f.m.Route(context.Background(), r); ok || err != nil {
		t.Fatalf("no conversation id: handled=%v err=%v", ok, err)
	}
}

func TestRouteNoticeFailureStillTransfers(t *testing.T) {
	f := newFixture(t, Config{TransferAnswer: "One moment."})
	f.convs.fail = errors.New("disk full")
	reply, ok := f.ask(t, req("live chat"))
	if !ok || reply.Type != chat.TypeLiveChatTransfer || reply.Answer != "One moment." {
		t.Fatalf("reply = %+v, %v", reply, ok)
	}
}

// TestRouteConcurrentHandoffs: many handoff requests of one conversation at
// once open exactly one session; the rest go to it.
func TestRouteConcurrentHandoffs(t *testing.T) {
	f := newFixture(t, Config{})
	const n = 12
	replies := make([]chat.Reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var err error
			replies[i], _, err = f.m.Route(context.Background(), req("real person"))
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	transfers := 0
	for _, r := range replies {
		switch r.Type {
		case chat.TypeLiveChatTransfer:
			transfers++
		case chat.TypeLiveChatMessage:
		default:
			t.Fatalf("reply %+v", r)
		}
		if r.SessionID != replies[0].SessionID {
			t.Fatalf("two sessions: %s and %s", r.SessionID, replies[0].SessionID)
		}
	}
	l, _ := f.st.LiveChat(replies[0].SessionID)
	if transfers != 1 || l.UserMessages != n-1 {
		t.Fatalf("transfers = %d, user messages = %d; want 1 and %d", transfers, l.UserMessages, n-1)
	}
}

// TestUserMessageRacesClose defines the outcome of a user message arriving
// in the same moment as the agent's close: bbolt orders them. Either the
// message is routed to the agent (counted, and its event comes before
// session_closed), or the bot answers it (not counted, handled=false).
// Never both, never lost. Run many rounds to hit both orders.
func TestUserMessageRacesClose(t *testing.T) {
	f := newFixture(t, Config{})
	toAgent, toBot := 0, 0
	for round := range 40 {
		r := req("live chat")
		r.ConversationID = "race_" + string(rune('a'+round%26)) + strings.Repeat("x", round/26)
		opened, _, err := f.m.Route(context.Background(), r)
		if err != nil || opened.Type != chat.TypeLiveChatTransfer {
			t.Fatalf("round %d open: %+v %v", round, opened, err)
		}
		sub, _, _, _, _ := f.m.Hub().Subscribe(opened.SessionID, 0)
		var reply chat.Reply
		var handled bool
		var wg sync.WaitGroup
		wg.Go(func() {
			r.Text = "are you still there?"
			var err error
			reply, handled, err = f.m.Route(context.Background(), r)
			if err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := f.m.Close(context.Background(), opened.SessionID); err != nil {
				t.Error(err)
			}
		})
		wg.Wait()
		l, _ := f.st.LiveChat(opened.SessionID)
		var types []string
		for len(types) == 0 || types[len(types)-1] != EventSessionClosed {
			types = append(types, (<-sub.Events()).Type)
		}
		f.m.Hub().Unsubscribe(sub)
		switch {
		case handled:
			toAgent++
			if reply.Type != chat.TypeLiveChatMessage || reply.SessionID != opened.SessionID || l.UserMessages != 1 ||
				strings.Join(types, ",") != "user_message,session_closed" {
				t.Fatalf("round %d routed: reply %+v, user messages %d, events %v", round, reply, l.UserMessages, types)
			}
		default:
			toBot++
			if l.UserMessages != 0 || strings.Join(types, ",") != "session_closed" {
				t.Fatalf("round %d to the bot: user messages %d, events %v", round, l.UserMessages, types)
			}
		}
		if l.State != store.LiveChatClosed {
			t.Fatalf("round %d: state %s", round, l.State)
		}
	}
	t.Logf("routed to the agent %d times, answered by the bot %d times", toAgent, toBot)
}

func TestRouteAfterCloseGoesToBot(t *testing.T) {
	f := newFixture(t, Config{})
	opened, _ := f.ask(t, req("agent please"))
	if _, err := f.m.Close(context.Background(), opened.SessionID); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.ask(t, req("thanks, one more question about billing")); ok {
		t.Fatal("after close the message still went to live chat")
	}
	// Asking again opens a new session.
	again, ok := f.ask(t, req("agent please"))
	if !ok || again.Type != chat.TypeLiveChatTransfer || again.SessionID == opened.SessionID {
		t.Fatalf("second handoff: %+v, %v", again, ok)
	}
}
