package server

import (
	"fmt"

	"github.com/chatbot/chatbot/store"
)

// storeTranscript reads a conversation of one integration through the
// store's conversation index: the newest transcriptLimit messages, oldest
// first.
type storeTranscript struct{ st *store.Store }

const transcriptLimit = 500

func (t storeTranscript) ConversationMessages(ref store.ConvRef) ([]store.Message, error) {
	out, err := t.st.ConversationMessages(ref, transcriptLimit)
	if err != nil {
		return nil, fmt.Errorf("transcript: %w", err)
	}
	return out, nil
}
