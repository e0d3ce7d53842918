package platform

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/chatbot/chatbot/store"
	"github.com/chatbot/chatbot/webhook"
)

// recordingCaller keeps the bodies of the requests an adapter sends.
type recordingCaller struct{ bodies []string }

func (c *recordingCaller) Call(_ context.Context, _ *store.WebhookConfig, req *http.Request) (webhook.Result, []byte) {
	b, _ := io.ReadAll(req.Body)
	c.bodies = append(c.bodies, string(b))
	return webhook.Result{StatusCode: 200}, []byte(`{}`)
}

// Answers are Markdown; Chatwoot renders it, the others are sent the same
// answer as plain text (no "> " or "**" in a customer's chat).
func TestRepliesInTheFormEachPlatformRenders(t *testing.T) {
	answer := "> Refunds take **five** days.\n(Refunds, https://help.example.com/refunds)"
	plain := "Refunds take five days.\n(Refunds, https://help.example.com/refunds)"
	cfg := &store.WebhookConfig{PlatformSettings: store.PlatformSettings{APIURL: "https://api.example", Account: "1", BotID: "7"}}
	msg := &store.Message{ID: 5, Type: store.MessageOutgoing, ConversationID: "42", UserID: "u1", Text: answer, SenderType: "bot"}
	for _, c := range []struct {
		name    string
		adapter interface {
			Send(context.Context, Caller, *store.WebhookConfig, *store.Message) (webhook.Result, string)
		}
		want string
	}{
		{"chatwoot", Chatwoot{}, answer},
		{"intercom", Intercom{}, plain},
		{"freshchat", Freshchat{}, plain},
		{"sunshine", Sunshine{}, plain},
	} {
		rc := &recordingCaller{}
		c.adapter.Send(context.Background(), rc, cfg, msg)
		if len(rc.bodies) == 0 {
			t.Fatalf("%s sent nothing", c.name)
		}
		last := rc.bodies[len(rc.bodies)-1]
		want, _ := json.Marshal(c.want)
		if !strings.Contains(last, string(want[1:len(want)-1])) {
			t.Errorf("%s sent %s; want the text %q", c.name, last, c.want)
		}
	}
}
