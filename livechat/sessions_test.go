package livechat

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

func TestNoAgentTimeoutNotifyKeepsWaiting(t *testing.T) {
	f := newFixture(t, Config{NoAgentTimeout: 2 * time.Minute})
	opened, _ := f.ask(t, req("live chat"))
	ctx := context.Background()

	f.clock.Add(2*time.Minute - time.Second)
	if n, err := f.m.CheckTimeouts(ctx); n != 0 || err != nil {
		t.Fatalf("before the timeout: %d, %v", n, err)
	}
	f.clock.Add(time.Second)
	if n, err := f.m.CheckTimeouts(ctx); n != 1 || err != nil {
		t.Fatalf("at the timeout: %d, %v", n, err)
	}
	l, _ := f.st.LiveChat(opened.SessionID)
	if l.State != store.LiveChatWaiting || !l.NoAgentNotifiedAt.Equal(f.clock.Now()) {
		t.Fatalf("session = %+v", l)
	}
	out := f.convs.outgoing()
	last := out[len(out)-1]
	if len(out) != 2 || last.SenderType != "system" || last.SessionID != l.ID ||
		last.Text != "All our agents are busy right now. Please stay here: an agent will answer as soon as one is free." {
		t.Fatalf("outgoing = %+v", out)
	}
	// Told once only.
	f.clock.Add(time.Hour)
	if n, _ := f.m.CheckTimeouts(ctx); n != 0 {
		t.Fatalf("notified again: %d", n)
	}
	// Still acceptable after the notice.
	if _, err := f.m.Accept(ctx, l.ID, "Sarah"); err != nil {
		t.Fatal(err)
	}
}

func TestNoAgentTimeoutClose(t *testing.T) {
	f := newFixture(t, Config{NoAgentTimeout: time.Minute, NoAgentAction: NoAgentClose, NoAgentClosedMessage: "Nobody is free; the bot is back."})
	waiting, _ := f.ask(t, req("live chat"))
	r := req("talk to agent")
	r.ConversationID = "conv_accepted"
	accepted, _ := f.ask(t, r)
	if _, err := f.m.Accept(context.Background(), accepted.SessionID, "Sarah"); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Minute)
	if n, err := f.m.CheckTimeouts(context.Background()); n != 1 || err != nil {
		t.Fatalf("CheckTimeouts = %d, %v", n, err)
	}
	l, _ := f.st.LiveChat(waiting.SessionID)
	if l.State != store.LiveChatClosed || l.ClosedBy != "timeout" {
		t.Fatalf("waiting session = %+v", l)
	}
	if a, _ := f.st.LiveChat(accepted.SessionID); a.State != store.LiveChatActive {
		t.Fatalf("accepted session = %+v", a)
	}
	out := f.convs.outgoing()
	if last := out[len(out)-1]; last.Text != "Nobody is free; the bot is back." || last.SessionID != l.ID {
		t.Fatalf("notice = %+v", last)
	}
	if _, ok := f.ask(t, req("what are your hours?")); ok {
		t.Fatal("after the timeout close the bot does not answer")
	}
}

// TestRunChecksTimeouts: the background loop acts on its own and stops
// with its context.
func TestRunChecksTimeouts(t *testing.T) {
	f := newFixture(t, Config{NoAgentTimeout: time.Millisecond})
	sub, _, _, _, _ := f.m.Hub().Subscribe("", 0)
	opened, _ := f.ask(t, req("live chat"))
	<-sub.Events() // session_opened
	f.clock.Add(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.m.Run(ctx) }()
	select {
	case ev := <-sub.Events():
		if ev.Type != EventNoAgent || ev.SessionID != opened.SessionID {
			t.Fatalf("event = %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no no_agent event")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	if _, err := NewManager(nil, Config{NoAgentAction: "wait"}, nil); err == nil || !strings.Contains(err.Error(), `"notify" or "close"`) {
		t.Fatalf("err = %v", err)
	}
	if err := (Config{NoAgentTimeout: -time.Second}).Validate(); err == nil {
		t.Fatal("negative timeout accepted")
	}
	long := strings.Repeat("ü", MaxNoticeChars+1)
	for _, tc := range []struct {
		cfg  Config
		want string // "" = valid
	}{
		{Config{}, ""},
		{Config{TransferAnswer: "One moment.", NoAgentMessage: strings.Repeat("ü", MaxNoticeChars)}, ""},
		{Config{TransferAnswer: " \t "}, "live chat transfer answer must not be empty"},
		{Config{NoAgentMessage: long}, "live chat no-agent message must be at most 1000 characters, not 1001"},
		{Config{NoAgentClosedMessage: "\xff"}, "live chat no-agent closed message must be valid UTF-8 text"},
		{Config{ClosedMessage: long}, "live chat closed message must be at most 1000 characters"},
	} {
		err := tc.cfg.Validate()
		if (tc.want == "" && err != nil) || (tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want))) {
			t.Errorf("Validate(%.40q...) = %v, want %q", tc.cfg.TransferAnswer+tc.cfg.NoAgentMessage, err, tc.want)
		}
	}
}

func TestSessionIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewSessionID()
		if len(id) != len("live_")+16 || !strings.HasPrefix(id, "live_") || strings.ToLower(id) != id || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
}

func TestSessionsBadState(t *testing.T) {
	f := newFixture(t, Config{})
	if _, err := f.m.Sessions("pending"); apperr.CodeOf(err) != apperr.Invalid {
		t.Fatalf("err = %v", err)
	}
}

func TestHubDropsSlowSubscriber(t *testing.T) {
	h := NewHub(16, time.Unix(0, 0))
	slow, _, _, _, _ := h.Subscribe("", 0)
	fast, _, _, _, _ := h.Subscribe("s1", 0)
	for range subscriberBuffer + 1 {
		h.Publish(Event{Type: EventUserMessage, SessionID: "s2"}) // never blocks
	}
	n := 0
	for range slow.Events() { // closed after its buffer filled
		n++
	}
	if n != subscriberBuffer {
		t.Fatalf("slow subscriber got %d events before the cut, want %d", n, subscriberBuffer)
	}
	if h.Subscribers() != 1 {
		t.Fatalf("subscribers = %d, want 1 (the s1 stream saw none of s2's events)", h.Subscribers())
	}
	h.Unsubscribe(slow) // safe after the drop
	h.Unsubscribe(fast)
	h.Unsubscribe(fast)
	h.Close()
	h.Close()
	if _, _, _, _, ok := h.Subscribe("", 0); ok {
		t.Fatal("subscribe after close")
	}
}

func TestHubReplayIsPerSession(t *testing.T) {
	h := NewHub(16, time.Unix(0, 0))
	a := h.Publish(Event{SessionID: "a"})
	h.Publish(Event{SessionID: "b"})
	c := h.Publish(Event{SessionID: "a"})
	_, replay, head, gap, _ := h.Subscribe("a", a.ID)
	if gap || len(replay) != 1 || replay[0].ID != c.ID || head != c.ID {
		t.Fatalf("replay = %+v gap=%v head=%d", replay, gap, head)
	}
	_, replay, _, gap, _ = h.Subscribe("", c.ID)
	if gap || len(replay) != 0 {
		t.Fatalf("caught-up client: replay %+v gap %v", replay, gap)
	}
}
