package livechat

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/chatbot/chatbot/httpapi"
	"github.com/chatbot/chatbot/store"
)

// Handler serves the agent API under /api/livechat.
type Handler struct {
	m   *Manager
	log *slog.Logger
}

// NewHandler returns the agent API handler.
func NewHandler(m *Manager, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{m: m, log: log}
}

// Routes mounts the agent API on r behind admin (the admin token).
func (h *Handler) Routes(r *mux.Router, admin func(http.Handler) http.Handler) {
	routes := []struct {
		method, path string
		fn           http.HandlerFunc
	}{
		{http.MethodGet, "/api/livechat/sessions", h.list},
		{http.MethodGet, "/api/livechat/sessions/{id}", h.get},
		{http.MethodPost, "/api/livechat/sessions/{id}/accept", h.accept},
		{http.MethodPost, "/api/livechat/sessions/{id}/messages", h.send},
		{http.MethodPost, "/api/livechat/sessions/{id}/transfer", h.transfer},
		{http.MethodPost, "/api/livechat/sessions/{id}/close", h.close},
		{http.MethodGet, "/api/livechat/sessions/{id}/events", h.sessionEvents},
		{http.MethodGet, "/api/livechat/events", h.allEvents},
	}
	// Mounted on r itself, not a subrouter, so a wrong method answers 405
	// through r's MethodNotAllowedHandler.
	for _, rt := range routes {
		r.Handle(rt.path, admin(rt.fn)).Methods(rt.method)
	}
}

type sessionList struct {
	Success  bool                     `json:"success"`
	Sessions []*store.LiveChatSession `json:"sessions"`
	Total    int                      `json:"total"`
}

type sessionOne struct {
	Success    bool                   `json:"success"`
	Session    *store.LiveChatSession `json:"session"`
	Transcript []TranscriptEntry      `json:"transcript,omitempty"`
	Message    *TranscriptEntry       `json:"message,omitempty"`
}

type agentInput struct {
	Agent string `json:"agent"`
}

type messageInput struct {
	Message string `json:"message"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	list, err := h.m.Sessions(r.URL.Query().Get("state"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionList{Success: true, Sessions: list, Total: len(list)})
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	l, err := h.m.Session(mux.Vars(r)["id"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tr, err := h.m.TranscriptOf(l)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionOne{Success: true, Session: l, Transcript: tr})
}

// accept answers with the session and the conversation's transcript, so the
// agent sees at once what the bot already said.
func (h *Handler) accept(w http.ResponseWriter, r *http.Request) {
	var in agentInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.m.Accept(r.Context(), mux.Vars(r)["id"], in.Agent)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tr, err := h.m.TranscriptOf(l)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionOne{Success: true, Session: l, Transcript: tr})
}

func (h *Handler) send(w http.ResponseWriter, r *http.Request) {
	var in messageInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	l, msg, err := h.m.Send(r.Context(), mux.Vars(r)["id"], in.Message)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	entry := transcriptEntry(*msg)
	httpapi.WriteJSON(w, http.StatusCreated, sessionOne{Success: true, Session: l, Message: &entry})
}

func (h *Handler) transfer(w http.ResponseWriter, r *http.Request) {
	var in agentInput
	if err := httpapi.Decode(w, r, httpapi.DefaultBodyLimit, &in); err != nil {
		h.fail(w, r, err)
		return
	}
	l, err := h.m.Transfer(r.Context(), mux.Vars(r)["id"], in.Agent)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionOne{Success: true, Session: l})
}

// close takes no body (an empty JSON object is fine too).
func (h *Handler) close(w http.ResponseWriter, r *http.Request) {
	l, err := h.m.Close(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, sessionOne{Success: true, Session: l})
}

func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	httpapi.Error(w, r, h.log, err)
}

// TranscriptEntry is one message of a conversation as the agent sees it.
type TranscriptEntry struct {
	ID           uint64    `json:"id"`
	SenderType   string    `json:"sender_type"` // user, bot, agent, system
	Sender       string    `json:"sender"`
	Message      string    `json:"message"`
	MessageType  string    `json:"message_type"`
	ResponseType string    `json:"response_type,omitempty"`
	SessionID    string    `json:"session_id,omitempty"`
	Status       string    `json:"status"`
	CreatedAt    time.Time `json:"created_at"`
}

func transcriptEntry(m store.Message) TranscriptEntry {
	e := TranscriptEntry{ID: m.ID, SenderType: m.SenderType, Sender: m.Sender, Message: m.Text,
		MessageType: string(m.Type), ResponseType: string(m.ResponseType), SessionID: m.SessionID, Status: string(m.Status), CreatedAt: m.CreatedAt}
	switch {
	case m.Type == store.MessageIncoming:
		e.SenderType = "user"
		if e.Sender == "" {
			e.Sender = m.Username
		}
		if e.Sender == "" {
			e.Sender = m.UserID
		}
	case m.Type == store.MessageAgentOutgoing:
		e.SenderType = "agent"
	case e.SenderType == "":
		e.SenderType = "bot"
	}
	return e
}

// TranscriptOf returns the newest TranscriptLimit messages of the session's
// conversation, oldest first: the user's, the bot's, the agents' and the
// system notices, from before and during the session.
func (m *Manager) TranscriptOf(l *store.LiveChatSession) ([]TranscriptEntry, error) {
	out := []TranscriptEntry{}
	msgs, err := m.store.ConversationMessages(l.Ref(), m.cfg.TranscriptLimit)
	if err != nil {
		return nil, fmt.Errorf("transcript: %w", err)
	}
	if n := len(msgs) - m.cfg.TranscriptLimit; n > 0 {
		msgs = msgs[n:]
	}
	for _, msg := range msgs {
		out = append(out, transcriptEntry(msg))
	}
	return out, nil
}
