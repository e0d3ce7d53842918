package widget

import (
	"testing"
	"unicode/utf8"

	"github.com/chatbot/chatbot/httpapi"
)

// FuzzChatInput: the widget's request body, from anyone on the internet,
// is either refused or yields a bounded, valid request.
func FuzzChatInput(f *testing.F) {
	for _, s := range []string{`{"message":"hi"}`, `{"message":"","handoff":true}`, `{"message":"x","conversation_id":"w_abcdefgh"}`,
		`{"message":"x","conversation_id":"<script>"}`, `{"message":1}`, `[]`, `{"message":"a"}{}`, "{\"message\":\"\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in chatInput
		if err := httpapi.Unmarshal(body, &in); err != nil {
			return
		}
		if err := validateChat(&in); err != nil {
			return
		}
		if in.Message == "" || len(in.Message) > MaxChatMessage || !utf8.ValidString(in.Message) {
			t.Fatalf("accepted message %q", in.Message)
		}
		if !conversationIDPattern.MatchString(in.ConversationID) {
			t.Fatalf("accepted conversation id %q", in.ConversationID)
		}
	})
}
