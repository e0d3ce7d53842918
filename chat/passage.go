package chat

import "github.com/chatbot/chatbot/rag"

// Passage is a retrieved chunk with its provenance.
type Passage = rag.Passage
