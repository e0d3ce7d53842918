package cmd

import (
	"fmt"

	"github.com/chatbot/chatbot/store"
)

// storeTranscript reads a conversation through the message listing's
// conversation index: the newest transcriptLimit messages, oldest first.
type storeTranscript struct{ st *store.Store }

const transcriptLimit = 500

func (t storeTranscript) ConversationMessages(platform, conversationID string) ([]store.Message, error) {
	list, _, err := t.st.ListMessages(store.MessageFilter{Platform: platform, ConversationID: conversationID}, 0, transcriptLimit)
	if err != nil {
		return nil, fmt.Errorf("transcript of conversation %q: %w", conversationID, err)
	}
	out := make([]store.Message, len(list))
	for i, m := range list {
		out[len(list)-1-i] = *m
	}
	return out, nil
}
