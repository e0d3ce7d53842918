package livechat

import "github.com/chatbot/chatbot/store"

// The store is handed to the manager once, as it is: sessions, the
// outgoing queue and the transcripts all go through it.
var _ Store = (*store.Store)(nil)
