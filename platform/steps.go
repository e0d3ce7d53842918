package platform

import (
	"context"
	"errors"
	"fmt"

	"github.com/chatbot/chatbot/chat"
	"github.com/chatbot/chatbot/livechat"
	"github.com/chatbot/chatbot/store"
)

// Steps is the conversation step of native integrations (a
// conversation.Step): it keeps the bot quiet in a conversation a human
// owns on the platform, and hands a conversation over natively when the
// user asks for a human.
type Steps struct {
	store    *store.Store
	detector *livechat.Detector
}

// NewSteps returns the step over st; detector decides what asks for a
// human (the live-chat one, so both hand-offs hear the same phrases).
func NewSteps(st *store.Store, detector *livechat.Detector) *Steps {
	return &Steps{store: st, detector: detector}
}

// MayHandle implements conversation.Prober: only a native integration's
// messages can be handled here (paused, or handed to the platform's
// agents), so a synchronous turn on any other stores its message with
// the reply in one commit.
func (s *Steps) MayHandle(_ context.Context, msg *store.Message) (bool, error) {
	if msg.ConfigID == 0 || msg.WidgetID != 0 {
		return false, nil
	}
	native, _, err := s.store.NativeHandoff(msg.ConfigID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return native, err
}

// Before implements conversation.Step.
func (s *Steps) Before(_ context.Context, msg *store.Message) (chat.Reply, bool, error) {
	if msg.ConfigID == 0 || msg.WidgetID != 0 {
		return chat.Reply{}, false, nil
	}
	native, handoff, err := s.store.NativeHandoff(msg.ConfigID)
	if errors.Is(err, store.ErrNotFound) {
		return chat.Reply{}, false, nil
	}
	if err != nil {
		return chat.Reply{}, false, fmt.Errorf("read webhook config %d: %w", msg.ConfigID, err)
	}
	if !native {
		return chat.Reply{}, false, nil
	}
	p, err := s.store.ConversationPauseState(msg.ConfigID, msg.ConversationID)
	if err != nil {
		return chat.Reply{}, false, err
	}
	if p.Paused {
		// Stored and shown, not answered: a human has it.
		return chat.Reply{Type: TypePaused}, true, nil
	}
	if handoff == store.HandoffConsole {
		return chat.Reply{}, false, nil
	}
	if !msg.Handoff {
		if _, asks := s.detector.Detect(msg.Text); !asks {
			return chat.Reply{}, false, nil
		}
	}
	// Paused now, not when the platform's status event comes back: the
	// user's next message must not be answered in between.
	if _, err := s.store.SetConversationPause(msg.ConfigID, msg.ConversationID, true, store.PauseHandoff); err != nil {
		return chat.Reply{}, false, err
	}
	return chat.Reply{Answer: HandoffNotice, Type: TypeHandoff}, true, nil
}
