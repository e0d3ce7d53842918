package livechat

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// sseEvent is one parsed Server-Sent Event (or a comment).
type sseEvent struct {
	id, event, data string
	comment         string
}

type sseClient struct {
	resp *http.Response
	rd   *bufio.Reader
	stop *time.Timer
}

// dial opens a stream. lastID, when non-empty, is sent as Last-Event-ID.
func (a *apiFixture) dial(t *testing.T, path, lastID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rq, _ := http.NewRequestWithContext(ctx, "GET", a.srv.URL+path, nil)
	rq.Header.Set("Authorization", "Bearer "+adminToken)
	if lastID != "" {
		rq.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// A broken test must not hang: the stream is cut after 10 s.
	c := &sseClient{resp: resp, rd: bufio.NewReader(resp.Body), stop: time.AfterFunc(10*time.Second, cancel)}
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() {
	c.stop.Stop()
	c.resp.Body.Close()
}

// next reads the next event or comment; the "retry:" preamble is skipped.
func (c *sseClient) next(t *testing.T) sseEvent {
	t.Helper()
	var ev sseEvent
	for {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v", err)
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev != (sseEvent{}) {
				return ev
			}
		case strings.HasPrefix(line, ":"):
			ev.comment = strings.TrimSpace(line[1:])
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.event = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case strings.HasPrefix(line, "retry: "):
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
}

// nextEvent skips heartbeats.
func (c *sseClient) nextEvent(t *testing.T) (sseEvent, Event) {
	t.Helper()
	for {
		raw := c.next(t)
		if raw.comment != "" {
			continue
		}
		var ev Event
		if err := json.Unmarshal([]byte(raw.data), &ev); err != nil {
			t.Fatalf("data %q: %v", raw.data, err)
		}
		if strconv.FormatUint(ev.ID, 10) != raw.id && raw.event != EventReset {
			t.Fatalf("id line %q but data id %d", raw.id, ev.ID)
		}
		return raw, ev
	}
}

func TestSSEStreamsAndResumes(t *testing.T) {
	a := newAPI(t, Config{})
	all := a.dial(t, "/api/livechat/events", "")

	id := a.open(t, "conv_sse")
	_, opened := all.nextEvent(t)
	if opened.Type != EventSessionOpened || opened.SessionID != id || opened.Session.State != "waiting" ||
		opened.Message.Text != "talk to a human" || opened.Message.SenderType != "user" || opened.Message.Sender != "John Doe" {
		t.Fatalf("opened = %+v", opened)
	}
	one := a.dial(t, "/api/livechat/sessions/"+id+"/events", "")
	other := a.open(t, "conv_other") // not on the per-session stream
	if _, ev := all.nextEvent(t); ev.SessionID != other {
		t.Fatalf("all-sessions stream missed %s: %+v", other, ev)
	}

	r := req("my order is late")
	r.ConversationID = "conv_sse"
	if _, _, err := a.m.Route(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	raw, ev := one.nextEvent(t)
	if raw.event != EventUserMessage || ev.Message.Text != "my order is late" || ev.Session.UserMessages != 1 {
		t.Fatalf("user message event = %q %+v", raw.event, ev)
	}
	lastSeen := raw.id
	if _, ev := all.nextEvent(t); ev.ID != mustID(t, lastSeen) {
		t.Fatalf("streams disagree on the id: %d vs %s", ev.ID, lastSeen)
	}

	// The agent's console drops; meanwhile the session is accepted and answered.
	one.close()
	a.call(t, "POST", "/api/livechat/sessions/"+id+"/accept", `{"agent":"Sarah"}`).want(t, 200, "")
	a.call(t, "POST", "/api/livechat/sessions/"+id+"/messages", `{"message":"Hi, Sarah here."}`).want(t, 201, "")

	// Reconnecting with Last-Event-ID replays exactly what was missed, in order, then goes live.
	again := a.dial(t, "/api/livechat/sessions/"+id+"/events", lastSeen)
	_, ev1 := again.nextEvent(t)
	_, ev2 := again.nextEvent(t)
	if ev1.Type != EventSessionAccepted || ev1.Session.Agent != "Sarah" || ev1.Message.Text != "Agent Sarah is now connected and will help you from here." ||
		ev1.Message.SenderType != "agent" || ev2.Type != EventAgentMessage || ev2.Message.Text != "Hi, Sarah here." ||
		ev2.Message.Sender != "Agent Sarah" || ev1.ID <= mustID(t, lastSeen) || ev2.ID <= ev1.ID {
		t.Fatalf("replay = %+v, %+v", ev1, ev2)
	}
	a.call(t, "POST", "/api/livechat/sessions/"+id+"/close", "").want(t, 200, "")
	if _, ev := again.nextEvent(t); ev.Type != EventSessionClosed || ev.Session.State != "closed" || ev.Message.SenderType != "system" {
		t.Fatalf("live after replay = %+v", ev)
	}
	// ?last_event_id= works like the header (EventSource cannot set headers on the first connection).
	q := a.dial(t, "/api/livechat/sessions/"+id+"/events?last_event_id="+strconv.FormatUint(ev2.ID, 10), "")
	if _, ev := q.nextEvent(t); ev.Type != EventSessionClosed {
		t.Fatalf("query resume = %+v", ev)
	}
}

func mustID(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSSEResetWhenBehindTheRing: a Last-Event-ID older than the ring, or
// from another process, gets a reset event, then what is still buffered.
func TestSSEResetWhenBehindTheRing(t *testing.T) {
	a := newAPI(t, Config{EventBuffer: 16})
	first := a.m.Hub().LastID()
	for i := range 20 {
		a.open(t, "conv_"+strconv.Itoa(i))
	}
	c := a.dial(t, "/api/livechat/events", strconv.FormatUint(first+1, 10))
	raw, _ := c.nextEvent(t)
	if raw.event != EventReset || !strings.Contains(raw.data, "no longer buffered") {
		t.Fatalf("first = %+v, want reset", raw)
	}
	_, ev := c.nextEvent(t)
	if ev.ID != first+5 { // 20 events, 16 kept: the oldest kept is the 5th
		t.Fatalf("first replayed id = %d, want %d", ev.ID, first+5)
	}
	// An id from the future (a previous process with a later clock) also resets.
	f := a.dial(t, "/api/livechat/events", strconv.FormatUint(first+1000, 10))
	if raw, _ := f.nextEvent(t); raw.event != EventReset || raw.id != strconv.FormatUint(first+20, 10) {
		t.Fatalf("future id: %+v", raw)
	}
}

func TestSSEHeartbeat(t *testing.T) {
	a := newAPI(t, Config{Heartbeat: 20 * time.Millisecond})
	c := a.dial(t, "/api/livechat/events", "")
	if ev := c.next(t); ev.comment != "heartbeat" {
		t.Fatalf("got %+v, want a heartbeat comment", ev)
	}
}

// TestSSENoGoroutineLeak: closed clients and a closed hub end their
// handlers; the hub holds no subscriptions afterwards.
func TestSSENoGoroutineLeak(t *testing.T) {
	a := newAPI(t, Config{})
	var clients []*sseClient
	for range 5 {
		clients = append(clients, a.dial(t, "/api/livechat/events", ""))
	}
	waitFor(t, func() bool { return a.m.Hub().Subscribers() == 5 })
	for _, c := range clients[:3] {
		c.close()
	}
	waitFor(t, func() bool { return a.m.Hub().Subscribers() == 2 })

	// Shutdown: Close ends the remaining streams (their bodies reach EOF).
	a.m.Hub().Close()
	for _, c := range clients[3:] {
		if _, err := c.rd.ReadString(0); err == nil {
			t.Fatal("stream still open after hub close")
		}
	}
	if n := a.m.Hub().Subscribers(); n != 0 {
		t.Fatalf("%d subscribers after close", n)
	}
	rq, _ := http.NewRequest("GET", a.srv.URL+"/api/livechat/events", nil)
	rq.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(rq)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("new stream after close: %d, want 503", resp.StatusCode)
	}
}

// waitFor polls cond (the handler's exit is observable only through the
// hub's state) for up to 5 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(time.Millisecond)
	}
}
