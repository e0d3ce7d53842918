package livechat

import (
	"context"
	"errors"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/store"
)

// Route is what the engine asks first, before any AI answer. handled is
// false when the bot should answer as usual. Otherwise:
//
//   - the conversation has an open session: the message is counted in the
//     session, pushed to the agent streams, and the reply is
//     live_chat_message with an empty answer (nothing to deliver);
//   - the user asks for a human (a phrase, or req.Handoff): a waiting
//     session is opened, a system notice (sender_type system, session_id)
//     is queued for the platform, and the reply is live_chat_transfer with
//     the configured answer.
//
// The message text itself is stored by the caller (the incoming webhook
// stores every incoming message before it calls the engine), so it appears
// once in the transcript.
//
// A user message racing an agent's close is ordered by bbolt's single
// writer: if the close commits first the message finds no open session and
// the bot answers it; if the message commits first it is routed to the
// agent and its event precedes session_closed on the streams. It is never
// both and never lost.
func (m *Manager) Route(ctx context.Context, req chat.Request) (chat.Reply, bool, error) {
	if req.ConversationID == "" {
		return chat.Reply{}, false, nil // nothing to hold a session by
	}
	// Sessions are found by the integration and the conversation id: a
	// conversation id sent through another integration (of the same
	// provider too) is another conversation, so it can neither open a
	// session on this one nor be routed into it.
	if _, err := m.store.OpenLiveChat(req.Ref()); err == nil {
		if reply, ok, err := m.toAgent(ctx, req); ok || err != nil {
			return reply, ok, err
		}
		// Closed in the meantime: the bot answers (or a new session opens).
	} else if !errors.Is(err, store.ErrNotFound) {
		return chat.Reply{}, false, apperr.Wrap(apperr.Internal, err, "could not read the live chat state")
	}
	if !req.Handoff {
		if _, asked := m.detector.Detect(req.Text); !asked {
			return chat.Reply{}, false, nil
		}
	}
	return m.open(ctx, req)
}

// toAgent counts req in the conversation's open session and pushes it to
// the agent. ok is false when the session closed before this message.
func (m *Manager) toAgent(ctx context.Context, req chat.Request) (chat.Reply, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, err := m.store.UpdateOpenLiveChat(req.Ref(), func(l *store.LiveChatSession) error {
		l.UserMessages++
		l.MessageCount++
		l.LastMessageAt = m.store.Now().UTC()
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return chat.Reply{}, false, nil
	case err != nil:
		return chat.Reply{}, false, apperr.Wrap(apperr.Internal, err, "could not route the message to the agent")
	}
	m.publish(ctx, EventUserMessage, l, &store.Message{Sender: senderName(req), SenderType: "user", Text: req.Text})
	return chat.Reply{Type: chat.TypeLiveChatMessage, Answer: "", SessionID: l.ID}, true, nil
}

// open starts a waiting session for req's conversation and tells the
// platform. If another request opened one first, req goes to that one.
func (m *Manager) open(ctx context.Context, req chat.Request) (chat.Reply, bool, error) {
	m.mu.Lock()
	l, err := m.store.CreateLiveChat(&store.LiveChatSession{
		ID: NewSessionID(), ConfigID: req.ConfigID, WidgetID: req.WidgetID, Platform: req.Platform,
		ConversationID: req.ConversationID, UserID: req.UserID, Username: req.Username,
	})
	if errors.Is(err, store.ErrConflict) && l != nil {
		m.mu.Unlock()
		if reply, ok, err := m.toAgent(ctx, req); ok || err != nil {
			return reply, ok, err
		}
		return chat.Reply{}, false, nil // opened and closed again meanwhile; let the bot answer
	}
	if err != nil {
		m.mu.Unlock()
		return chat.Reply{}, false, apperr.Wrap(apperr.Internal, err, "could not open a live chat session")
	}
	msg, nerr := m.notify(l, store.MessageOutgoing, m.cfg.BotName, "system", m.cfg.TransferAnswer, chat.TypeLiveChatTransfer)
	ev := &store.Message{Sender: senderName(req), SenderType: "user", Text: req.Text}
	m.publish(ctx, EventSessionOpened, l, ev)
	m.mu.Unlock()
	if nerr != nil {
		// The session is open and on the agents' streams; only the notice
		// failed. The reply still carries the answer.
		m.log.ErrorContext(ctx, "live chat notice not queued", "session_id", l.ID, "err", nerr)
	} else {
		m.log.InfoContext(ctx, "live chat opened", "session_id", l.ID, "platform", l.Platform, "notice_id", msg.ID)
	}
	return chat.Reply{Type: chat.TypeLiveChatTransfer, Answer: m.cfg.TransferAnswer, SessionID: l.ID}, true, nil
}

func senderName(req chat.Request) string {
	if req.Username != "" {
		return req.Username
	}
	return req.UserID
}
