package livechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/apperr"
)

// sseWriteWait bounds each write to a stream, so a client that stopped
// reading is dropped instead of holding a goroutine. It replaces the
// server's overall WriteTimeout, which would end every stream after 90 s.
const sseWriteWait = 10 * time.Second

// allEvents streams the events of every session.
func (h *Handler) allEvents(w http.ResponseWriter, r *http.Request) {
	h.stream(w, r, "")
}

// sessionEvents streams one session's events; an unknown session is 404.
func (h *Handler) sessionEvents(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	if _, err := h.m.Session(id); err != nil {
		h.fail(w, r, err)
		return
	}
	h.stream(w, r, id)
}

// lastEventID reads the resume point: the Last-Event-ID header a browser's
// EventSource sends on reconnect, or ?last_event_id= for a first
// connection that resumes (EventSource cannot set headers).
func lastEventID(r *http.Request) (uint64, error) {
	name, raw := "Last-Event-ID", strings.TrimSpace(r.Header.Get("Last-Event-ID"))
	if raw == "" {
		name, raw = "last_event_id", strings.TrimSpace(r.URL.Query().Get("last_event_id"))
	}
	if raw == "" {
		return 0, nil
	}
	id, err := strconv.ParseUint(raw, 10, 64)
	if err != nil {
		return 0, apperr.Invalidf(name, "%s must be an event id (a positive integer), not %q", name, raw)
	}
	return id, nil
}

// stream writes Server-Sent Events until the client goes, it falls too far
// behind, or the server shuts down (the hub closes every subscription).
// Each event has an id; a client reconnecting with Last-Event-ID first gets
// the buffered events after it, or a "reset" event when some are gone.
// A comment line every Heartbeat keeps proxies from closing an idle stream.
func (h *Handler) stream(w http.ResponseWriter, r *http.Request, session string) {
	after, err := lastEventID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hub := h.m.Hub()
	sub, replay, head, gap, ok := hub.Subscribe(session, after)
	if !ok {
		h.fail(w, r, apperr.New(apperr.Unavailable, "the server is shutting down"))
		return
	}
	defer hub.Unsubscribe(sub)

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(chunk string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(sseWriteWait)) // unsupported writers: no deadline
		if _, err := fmt.Fprint(w, chunk); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send("retry: 3000\n\n") {
		return
	}
	if gap {
		resetID := head
		if len(replay) > 0 {
			resetID = replay[0].ID - 1
		}
		reset := fmt.Sprintf(`{"type":%q,"reason":"events after %d are no longer buffered; reload the sessions"}`, EventReset, after)
		if !send(fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", resetID, EventReset, reset)) {
			return
		}
	}
	for _, ev := range replay {
		if !send(formatEvent(ev)) {
			return
		}
	}
	beat := time.NewTicker(h.m.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev, open := <-sub.Events():
			if !open || !send(formatEvent(ev)) {
				return
			}
		case <-beat.C:
			if !send(": heartbeat\n\n") {
				return
			}
		}
	}
}

func formatEvent(ev Event) string {
	data, err := json.Marshal(ev)
	if err != nil { // cannot happen for these types; keep the stream valid
		data = []byte(`{"type":"error"}`)
	}
	return fmt.Sprintf("id: %d\nevent: %s\ndata: %s\n\n", ev.ID, ev.Type, data)
}
