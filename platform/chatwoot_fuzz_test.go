package platform

import (
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/chatbot/chatbot/apperr"
	"github.com/chatbot/chatbot/store"
)

// FuzzParseChatwootEvent: any body parses to an event or to a 400/413
// (never a panic, never a 500), and a message to answer always has what
// the turn needs.
func FuzzParseChatwootEvent(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "chatwoot", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"event":"message_created","id":"1","message_type":0,"content":"hi","conversation":{"id":"2"},"sender":null}`))
	f.Add([]byte(`{"event":"conversation_updated","id":3,"changed_attributes":[{"assignee_id":{"current_value":null}},7]}`))
	f.Add([]byte(`null`))
	cfg := &store.WebhookConfig{Provider: "chatwoot", PlatformSettings: store.PlatformSettings{Adapter: store.AdapterNative, Account: "7", BotID: "agent_bot:3"}}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := Chatwoot{}.parse(cfg, body)
		if err != nil {
			if c := apperr.CodeOf(err); c != apperr.Invalid && c != apperr.TooLarge {
				t.Fatalf("error code %q (%v), want invalid or too_large", c, err)
			}
			return
		}
		switch ev.Kind {
		case Message:
			in := ev.Inbound
			if ev.ConversationID == "" || in.UserID == "" || in.PlatformMessageID == "" || in.Text == "" ||
				len(in.Text) > maxTextBytes || !utf8.ValidString(in.Text) {
				t.Fatalf("message event lacks what the turn needs: %+v", ev)
			}
		case Pause, Resume:
			if ev.ConversationID == "" || ev.Reason == "" {
				t.Fatalf("state event without conversation or cause: %+v", ev)
			}
		case Ignore:
			if ev.Reason == "" {
				t.Fatalf("ignored without a reason: %+v", ev)
			}
		default:
			t.Fatalf("unknown kind %d", ev.Kind)
		}
	})
}
