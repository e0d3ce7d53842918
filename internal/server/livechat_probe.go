package server

import (
	"context"
	"errors"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/store"
)

// probedLiveChat is the live-chat manager with chat.LiveChatProbe: Route's
// own tests, reading only (an open session, a request for a human). A
// synchronous turn live chat cannot take then stores its message with the
// reply in one commit; one it may take stores the message first, so what
// live chat writes follows it, as before.
type probedLiveChat struct {
	*livechat.Manager
	store    *store.Store
	detector *livechat.Detector
}

func probeLiveChat(m *livechat.Manager, st *store.Store) probedLiveChat {
	cfg := m.Config()
	return probedLiveChat{Manager: m, store: st, detector: livechat.NewDetector(cfg.Phrases, cfg.AloneWords)}
}

// MayRoute implements chat.LiveChatProbe. A false "yes" costs a commit;
// a false "no" would only store the message after live chat's records.
func (p probedLiveChat) MayRoute(_ context.Context, req chat.Request) (bool, error) {
	if req.ConversationID == "" {
		return false, nil // Route holds sessions by conversation
	}
	if req.Handoff {
		return true, nil
	}
	if _, err := p.store.OpenLiveChat(req.Ref()); err == nil {
		return true, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return true, err
	}
	_, asked := p.detector.Detect(req.Text)
	return asked, nil
}
